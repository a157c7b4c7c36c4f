"""The per-step head on data as users bring it: long tables with their own time values, dates,
many labels, NaN-padded NumPy labels, a front end that reads ahead. Each figure is checked
against the file as pandas or numpy reads it, or against PyTorch's own forward."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import rnntrace as rt
from rnntrace.cli.main import main

pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def _streams(n: int, seed: int, labels: tuple[str, ...] = ("walk", "run", "sit"),
             lengths: tuple[int, int] = (8, 30), start: int = 0, every: int = 1
             ) -> pd.DataFrame:
    """Streams of segments (label k: feature a near k), times start, start + every, …;
    rows shuffled, as a user's export may come."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        length, t = int(rng.integers(lengths[0], lengths[1] + 1)), 0
        while t < length:
            k = int(rng.integers(len(labels)))
            for _ in range(min(int(rng.integers(2, 9)), length - t)):
                rows.append({"series": f"s{s}", "t": start + every * t,
                             "a": k + rng.normal(0, 0.3), "b": rng.normal(),
                             "label": labels[k]})
                t += 1
    return pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)


def _test_scores(run: str) -> dict[str, float]:
    trace = json.loads(Path(run, "trace.json").read_text())
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    return next(line for line in test["lines"] if line["name"] == "model")["scores"]


def test_predict_writes_the_files_own_times_and_joins_back():
    """Times 100, 110, … in shuffled rows: predict's rows carry the file's own time values
    under its time column's name (they held positions 0, 1, … after sorting), so a join on
    (id, time) meets every row once; the joined labels score as the trace says (scikit-learn)."""
    from sklearn.metrics import accuracy_score, f1_score

    _streams(24, 0, start=100, every=10).to_csv("train.csv", index=False)
    test = _streams(8, 1, start=100, every=10)
    test.to_csv("test.csv", index=False)
    rt.train_from_files("train.csv", test="test.csv", id="series", time="t", task="steps",
                        preset="lesson", epochs=2, out="run")
    predicted = pd.read_csv(io.StringIO(rt.predict("run", "test.csv").to_csv()))
    assert list(predicted.columns) == ["id", "t", "predicted", "probability"]
    joined = test.merge(predicted, left_on=["series", "t"], right_on=["id", "t"],
                        validate="one_to_one")
    assert len(joined) == len(test) == len(predicted)
    scores = _test_scores("run")
    assert scores["frame_accuracy"] == pytest.approx(
        accuracy_score(joined["label"], joined["predicted"]), abs=1e-9)
    assert scores["macro_f1"] == pytest.approx(
        f1_score(joined["label"], joined["predicted"], average="macro"), abs=1e-9)
    lines = [json.loads(line) for line in rt.predict("run", "test.csv").to_jsonl().splitlines()]
    assert sorted(row["t"] for row in lines) == sorted(test["t"].tolist())


def test_predict_on_parquet_timestamps_joins_back_on_the_dates():
    """A Parquet timestamp column: each row's time is its date (ISO text) that pandas reads
    back equal to the file's."""
    frame = _streams(20, 2)
    frame["t"] = pd.Timestamp("2024-03-01 08:00") + pd.to_timedelta(frame["t"] * 15, unit="min")
    frame.to_parquet("train.parquet")
    rt.train_from_files("train.parquet", id="series", time="t", task="steps", preset="lesson",
                        epochs=1, out="run")
    predicted = pd.read_csv(io.StringIO(rt.predict("run", "train.parquet").to_csv()))
    predicted["t"] = pd.to_datetime(predicted["t"])
    joined = frame.merge(predicted, left_on=["series", "t"], right_on=["id", "t"],
                         validate="one_to_one")
    assert len(joined) == len(frame)


def _key(shown: str) -> dict[str, str]:
    """The strips' key, 'A = walk  B = run', as {character: label}; a repeated character fails."""
    start = shown.index("one character per step\n") + len("one character per step\n")
    block = shown[start: shown.index("\nsequence ", start)]  # the key, wrapped over lines
    pairs = re.findall(r"(\S) = (\S+)", block)
    characters = [c for c, _ in pairs]
    assert len(set(characters)) == len(characters), f"a character names two labels: {block}"
    return dict(pairs)


def test_seventy_labels_keep_a_colour_and_a_character_each(capsys):
    """Nearly 70 labels: the page is written (it raised past 27 colours, leaving a run without its
    report) with 70 different colours, and the terminal's key never gives one character to
    two labels (62 characters were reused); each truth strip reads back as the file's labels."""
    labels = tuple(f"c{i:02d}" for i in range(70))
    _streams(40, 3, labels, (20, 40)).to_csv("train.csv", index=False)
    test = _streams(6, 4, labels, (20, 40))
    test.to_csv("test.csv", index=False)
    assert main(["train", "train.csv", "--test", "test.csv", "--id", "series", "--time", "t",
                 "--task", "steps", "--preset", "lesson", "--epochs", "1", "--out", "run"]) == 0
    shown = capsys.readouterr().out
    page = Path("run/report.html").read_text()
    caption = page[page.index("Label strips of the test set"):]
    caption = caption[: caption.index("</figcaption>")]
    swatches = [c.lower() for c in re.findall(r"--swatch: (#[0-9a-fA-F]{6})", caption)]
    present = pd.read_csv("train.csv")["label"].nunique()  # labels drawn at random: 68 of 70
    assert present > 62 and len(swatches) == len(set(swatches)) == present
    key = _key(shown)
    assert "Label strips of the test set" in shown
    truth = test.sort_values("t").groupby("series", sort=False)["label"].agg(list)
    strips = re.findall(r"sequence (\S+), (\d+) steps\n\s+truth\s+(\S+)", shown)
    assert len(strips) == 6
    for sequence, length, row in strips:
        assert int(length) == len(row) == len(truth[sequence])
        assert [key[c] for c in row] == truth[sequence]


def test_short_sequences_are_counted_in_words_and_scored_as_sklearn_does(capsys):
    """Streams of 1–3 steps train and score; a one-step strip reads '1 step', and the test
    figures are scikit-learn's over the joined predictions."""
    from sklearn.metrics import accuracy_score, f1_score

    _streams(40, 5, lengths=(1, 3)).to_csv("train.csv", index=False)
    test = _streams(12, 6, lengths=(1, 3))
    test.to_csv("test.csv", index=False)
    assert main(["train", "train.csv", "--test", "test.csv", "--id", "series", "--time", "t",
                 "--task", "steps", "--preset", "lesson", "--epochs", "2", "--out", "run"]) == 0
    shown = capsys.readouterr().out
    sizes = test.groupby("series", sort=False).size()
    for sequence, n in sizes.iloc[:6].items():
        assert f"sequence {sequence}, {n} step{'s' if n > 1 else ''}\n" in shown
    predicted = pd.read_csv(io.StringIO(rt.predict("run", "test.csv").to_csv()))
    joined = test.merge(predicted, left_on=["series", "t"], right_on=["id", "t"])
    scores = _test_scores("run")
    assert scores["frame_accuracy"] == pytest.approx(
        accuracy_score(joined["label"], joined["predicted"]), abs=1e-9)
    assert scores["macro_f1"] == pytest.approx(
        f1_score(joined["label"], joined["predicted"], average="macro"), abs=1e-9)


def _reach(model: torch.nn.Module, steps: int, features: int) -> int:
    """The farthest input step after an output step that changes its logits, by PyTorch's own
    forward: each input step nudged in turn on a random sequence."""
    torch.manual_seed(0)
    x = torch.randn(1, steps, features)
    lengths = torch.tensor([steps])
    model.eval()
    with torch.no_grad():
        base = model(x, lengths)[0]  # (T, C)
        farthest = 0
        for t in range(steps):
            nudged = x.clone()
            nudged[0, t] += 5.0
            moved = (model(nudged, lengths)[0] - base).abs().amax(dim=1) > 1e-6  # (T,)
            changed = torch.nonzero(moved).flatten().tolist()
            farthest = max([farthest] + [t - s for s in changed if s < t])
    return farthest


@pytest.mark.parametrize("window", [1, 2])
def test_the_online_sentence_matches_what_the_model_reads_ahead(window):
    """A one-direction layer behind the conv front end: the trace said each label reads only
    the past ('online'), but the centred convolutions read steps ahead. The sentence and the
    key insight now give the reach that PyTorch's forward shows."""
    _streams(24, 7, lengths=(40, 60)).to_csv("train.csv", index=False)
    rt.train_from_files("train.csv", id="series", time="t", task="steps", front_end="conv",
                        window=window, bidirectional=False, hidden=8, epochs=1,
                        val_fraction=0, out="run")
    saved = rt.load_run("run")
    reach = _reach(saved.model, 60, 2)
    trace = json.loads(Path("run/trace.json").read_text())
    said = re.search(r"up to (\d+) after it", trace["head"]["direction"])
    assert said is not None and int(said.group(1)) == reach > 0
    assert f"only {reach} steps late" in " ".join(trace["insight"].split())
    assert "(online)" not in trace["head"]["direction"]


def test_a_plain_one_direction_model_reads_nothing_ahead():
    """Without the front end the sentence says 'online', and PyTorch agrees: reach 0. The run
    is named as text, as users write it (rt.load_run and rt.read_trace raised AttributeError)."""
    _streams(20, 8).to_csv("train.csv", index=False)
    rt.train_from_files("train.csv", id="series", time="t", task="steps", preset="lesson",
                        epochs=1, out="run")
    trace = json.loads(Path("run/trace.json").read_text())
    assert "(online)" in trace["head"]["direction"]
    assert rt.read_trace("run").head.direction == trace["head"]["direction"]
    assert _reach(rt.load_run("run").model, 30, 2) == 0


def _nan_padded(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 12, n)
    x = np.full((n, 12, 2), np.nan, dtype=np.float32)
    y = np.full((n, 12), np.nan)
    for i, length in enumerate(lengths):
        y[i, :length] = rng.integers(0, 3, length)
        x[i, :length] = rng.normal(size=(length, 2)) + y[i, :length, None]
    return x, y, lengths


def test_numpy_labels_padded_with_nan_end_each_sequence():
    """A float y (N, T) padded with NaN, as pandas pads: each sequence ends at its last
    labelled step and 'nan' is never a label (it was a class, and the labels read '0.0');
    a NaN inside a sequence is one error line."""
    x, y, lengths = _nan_padded(30, 9)
    np.savez("steps.npz", X=x, y=y)
    data = rt.read("steps.npz", task="steps")
    assert data.lengths.tolist() == lengths.tolist()
    assert data.class_names == ["0", "1", "2"]
    for i, length in enumerate(lengths):
        names = [data.class_names[c] for c in data.step_labels[i, :length]]
        assert names == [str(int(v)) for v in y[i, :length]]
        np.testing.assert_array_equal(data.sequence(i), x[i, :length])
    y[3, 0] = np.nan
    np.savez("hole.npz", X=x, y=y, lengths=lengths)
    with pytest.raises(rt.errors.DataError, match=r"y\[3, 0\] is nan inside sequence 3"):
        rt.read("hole.npz", task="steps")


def test_a_search_with_nothing_held_out_says_it_scored_the_training_data(capsys):
    """One long stream, --val-fraction 0 (the fix the too-few-sequences error names): the
    no-flag search scores its candidates on the stream they trained on. The terminal and the
    page said 'held-out frame accuracy … on 1 training sequence held out'; now they name the
    training data, and count no sequence as held out."""
    stream = _streams(1, 10, lengths=(300, 300))
    stream.to_csv("stream.csv", index=False)
    assert main(["train", "stream.csv", "--id", "series", "--time", "t", "--task", "steps",
                 "--val-fraction", "0", "--epochs", "2", "--out", "run"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    choice = json.loads(Path("run/trace.json").read_text())["choice"]
    reason = " ".join(choice["reason"].split())
    assert len(choice["candidates"]) > 1 and choice["held_out"] == 0
    assert "summary" not in choice["settings"]  # a label per step reads no summary
    assert "held-out" not in reason and "held out)" not in reason
    n = stream["series"].nunique()
    winner = next(c for c in choice["candidates"] if c["name"] == choice["chosen"])
    assert f"training frame accuracy {winner['val_accuracy']:.3f}" in reason
    assert f"on the {n} training sequence it trained on (--val-fraction 0" in reason
    searched = said[: said.index("Why:")]
    assert "Choosing settings on the training data (--val-fraction 0" in searched
    assert "held-out" not in searched
    assert searched.count(": training frame accuracy") == len(choice["candidates"])
    page = Path("run/report.html").read_text()
    section = page[page.index('<section id="choice"'):]
    section = section[: section.index("</section>")]
    assert "held-out" not in section.lower()
    assert "Settings chosen on the training data (nothing held out)" in section


def _led_streams(n: int, seed: int) -> pd.DataFrame:
    """Stream i is mostly label 'tag{i}' with a few steps of two shared labels: each stream
    is the only one its most frequent label leads."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        labels = [f"tag{s}"] * 14 + ["pause"] * 3 + ["move"] * 3
        for t, label in enumerate(labels):
            rows.append({"series": s, "t": t, "a": rng.normal() + (label == "move"),
                         "label": label})
    return pd.DataFrame(rows)


def test_streams_each_led_by_its_own_label_still_hold_some_out():
    """12 streams, each the only one led by its label: the split held none out and said
    'too few sequences (12)'. Those streams now share one stratum: round(12 × 0.2) = 2 are
    held out, and trained and scored on."""
    frame = _led_streams(12, 11)
    frame.to_csv("led.csv", index=False)
    leaders = frame.groupby("series")["label"].agg(lambda s: s.value_counts().idxmax())
    assert leaders.nunique() == 12
    rt.train_from_files("led.csv", id="series", time="t", task="steps", preset="lesson",
                        epochs=1, out="run")
    (held,) = json.loads(Path("run/trace.json").read_text())["head"]["sets"]
    assert held["name"] == "held-out" and held["n_sequences"] == round(12 * 0.2)


def test_classes_of_one_sequence_each_are_named_as_why_none_is_held_out(capsys):
    """A classifier whose every class has one sequence: the error says so, not 'too few'."""
    frame = _led_streams(6, 12)
    frame["label"] = "c" + frame["series"].astype(str)  # one label per sequence
    frame.to_csv("one_each.csv", index=False)
    assert main(["train", "one_each.csv", "--id", "series", "--time", "t", "--preset",
                 "lesson", "--out", "run"]) == 2
    err = capsys.readouterr().err
    assert "each of the 6 sequences is the only one of its class" in err
    assert "too few" not in err and not Path("run").exists()


def test_step_labels_that_are_quantities_are_said_to_become_classes():
    """--task steps on labels with fractions: every value is a class (there is no per-step
    regression), which the note now says; labels that are words need no note."""
    frame = _streams(6, 13)
    frame["label"] = np.round(np.random.default_rng(0).normal(size=len(frame)), 3)
    frame.to_csv("numbers.csv", index=False)
    data = rt.read("numbers.csv", id="series", time="t", task="steps")
    distinct = frame["label"].nunique()
    assert data.n_classes == distinct
    assert f"the step labels are {distinct} distinct numbers" in data.task_note
    _streams(6, 13).to_csv("words.csv", index=False)
    assert rt.read("words.csv", id="series", time="t", task="steps").task_note == ""


def test_the_attribution_names_the_files_own_time_of_each_step(capsys):
    """Steps count from 1 in the text; with times 100, 110, … in the file, each output step and
    the step it reads most from also give their time there (pandas: the sequence's sorted
    times), so 'step 4' is found in the file as t 130."""
    _streams(20, 14, start=100, every=10).to_csv("train.csv", index=False)
    frame = pd.read_csv("train.csv")
    assert main(["train", "train.csv", "--id", "series", "--time", "t", "--task", "steps",
                 "--preset", "lesson", "--epochs", "1", "--out", "run"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    example = json.loads(Path("run/trace.json").read_text())["head"]["example"]
    times = sorted(frame.loc[frame["series"] == example["sequence_id"], "t"])
    found = re.findall(r"output step (\d+) \(\w+; t (\d+) in the file\): reads most from "
                       r"step (\d+) \(t (\d+) in the file\)", said)
    assert len(found) >= 5
    for output, output_time, source, source_time in found:
        assert times[int(output) - 1] == int(output_time)
        assert times[int(source) - 1] == int(source_time)
