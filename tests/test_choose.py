"""The no-flag settings search (choose.py): from the training file only, deterministic, with
explicit flags overriding it, and `--preset lesson` leaving today's behaviour as it was."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rnntrace.cli.main import main
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.experiment.pipeline import run_experiment
from rnntrace.records import CandidateScore
from rnntrace.train.search import auto_batch_size, auto_window, best_candidate, choose


def _bumps(n: int, steps: int, seed: int, where: str = "anywhere") -> SequenceSet:
    """Three classes by the sign of a bump; `where="start"` puts it in the first 5 steps only."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    values = rng.normal(0, 0.3, (n, steps, 2)).astype(np.float32)
    for i, label in enumerate(labels):
        at = int(rng.integers(0, 5)) if where == "start" else int(rng.integers(0, steps - 4))
        values[i, at:at + 4, 0] += (-2.0, 0.0, 2.0)[label]
        values[i, at:at + 4, 1] += 1.0 if label == 1 else 0.0
    return SequenceSet(values, np.full(n, steps), labels, ["low", "flat", "high"],
                       ["a", "b"], [str(i) for i in range(n)], "bumps")


def _without_seconds(choice: dict[str, Any]) -> dict[str, Any]:
    choice = dict(choice, seconds=0)
    choice["candidates"] = [dict(c, seconds=0) for c in choice["candidates"]]
    return choice


def test_window_and_batch_size_follow_the_data() -> None:
    assert [auto_window(t) for t in (10, 128, 129, 427, 1460)] == [1, 1, 2, 4, 12]
    assert [auto_batch_size(n) for n in (32, 80, 160, 1000)] == [8, 20, 32, 32]


def test_held_out_accuracy_decides_and_a_tie_goes_to_the_earlier_candidate() -> None:
    def score(accuracy: float, loss: float) -> CandidateScore:
        return CandidateScore(name="c", settings={}, val_accuracy=accuracy, val_loss=loss,
                              best_epoch=1, epochs_run=1, seconds=0.0)

    # Perfect held-out accuracy with losses apart in the fourth decimal: sharper logits, not a
    # better model, so the loss does not break the tie.
    assert best_candidate([score(1.0, 0.0007), score(1.0, 0.0001), score(0.9, 0.0)]) == 0
    assert best_candidate([score(0.5, 0.1), score(0.6, 2.0), score(0.6, 1.0)]) == 1


def test_the_choice_is_deterministic_for_a_seed() -> None:
    data = _bumps(36, 20, seed=0)
    runs = [choose(data, {"epochs": 3}, seed=1, threads=1) for _ in range(2)]
    (m1, t1, c1), (m2, t2, c2) = runs
    assert m1 == m2 and t1 == t2
    assert c1.chosen == c2.chosen
    assert [(s.val_accuracy, s.val_loss, s.best_epoch) for s in c1.candidates] == \
        [(s.val_accuracy, s.val_loss, s.best_epoch) for s in c2.candidates]
    assert len(c1.candidates) == 4 and c1.held_out == 6  # 20 % of each class's 12, rounded down
    assert c1.chosen in c1.reason


def test_unequal_lengths_are_resampled_to_the_longest_and_a_flag_overrides_it() -> None:
    data = _bumps(30, 16, seed=0)
    uneven = SequenceSet(data.values, np.array([16, 9, 12] * 10), data.labels,
                         data.class_names, data.feature_names, data.ids, "uneven")
    for source, resample in ((data, 0), (uneven, 16)):
        model, _, choice = choose(source, {"epochs": 1}, seed=0, threads=1)
        assert model.resample == resample
        assert all(c.settings["resample"] == resample for c in choice.candidates)
        assert choice.chosen.startswith("resample+") == bool(resample)
    model, _, choice = choose(uneven, {"epochs": 1, "resample": 0}, seed=0, threads=1)
    assert model.resample == 0 and not choice.chosen.startswith("resample")


def test_explicit_settings_override_every_candidate() -> None:
    data = _bumps(30, 12, seed=0)
    fixed = {"summary": "mean", "cell": "lstm", "front_end": "conv", "epochs": 2}
    model, train, choice = choose(data, fixed, seed=0, threads=1)
    assert (model.summary, model.cell, train.epochs) == ("mean", "lstm", 2)
    assert len(choice.candidates) == 1  # the others differed only in summary and front end
    assert choice.chosen == "conv+lstm+mean"  # named as trained, not as listed
    assert "your flags fixed every setting" in choice.reason
    assert choice.user_settings == fixed


def _write(path: Path, data: SequenceSet) -> Path:
    np.savez(path, X=data.values, y=data.labels, class_names=np.array(data.class_names))
    return path


def test_the_search_never_reads_the_test_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chdir(tmp_path)
    _write(tmp_path / "train.npz", _bumps(30, 12, seed=0))
    _write(tmp_path / "a.npz", _bumps(12, 12, seed=5))
    other = _bumps(12, 12, seed=6)
    other.labels = other.labels[::-1].copy()  # different values and different labels
    _write(tmp_path / "b.npz", other)
    choices, tests = [], []
    for name in ("a", "b"):
        assert main(["train", "train.npz", "--test", f"{name}.npz", "--epochs", "2",
                     "--out", f"run-{name}", "--json"]) == 0
        trace = json.loads((tmp_path / f"run-{name}" / "trace.json").read_text())
        choices.append(_without_seconds(trace["choice"]))
        tests.append(trace["test"]["accuracy"])
    capsys.readouterr()
    assert choices[0] == choices[1]  # the same choice, whatever the test file holds
    assert choices[0]["held_out"] == 6 and len(choices[0]["candidates"]) == 4


def test_preset_lesson_is_todays_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(tmp_path)
    _write(tmp_path / "train.npz", _bumps(30, 12, seed=0))
    assert main(["train", "train.npz", "--preset", "lesson", "--epochs", "1", "--out", "run",
                 "--json"]) == 0
    trace = json.loads(capsys.readouterr().out)
    assert "choice" not in trace
    model = trace["config"]["model"]
    assert (model["cell"], model["hidden_size"]) == ("rnn", 8) and "summary" not in model
    assert main(["train", "train.npz", "--preset", "nosuch", "--out", "bad"]) == 2
    assert "unknown preset 'nosuch'" in capsys.readouterr().err


def test_the_choice_is_printed_and_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chdir(tmp_path)
    _write(tmp_path / "train.npz", _bumps(30, 12, seed=0))
    assert main(["train", "train.npz", "--epochs", "2", "--summary", "max", "--out", "run"]) == 0
    out = capsys.readouterr().out
    assert "Settings chosen on held-out training data" in out and "← chosen" in out
    assert "Fixed by your flags: summary=max, epochs=2" in out
    assert "Max taken at" in out  # the prediction says where each unit's max came from
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    summary = trace["prediction"]["summary"]
    assert summary["kind"] == "max" and len(summary["argmax_steps"]) == 64
    assert any(s["name"] == "Summary: max" for s in trace["stages"])
    assert "Settings chosen on held-out training data" in (tmp_path / "run" /
                                                            "report.html").read_text()


def test_a_lesson_model_on_long_series_is_told_it_forgets_the_start(tmp_path: Path) -> None:
    data = _bumps(150, 200, seed=0, where="start")
    run = run_experiment(data, ModelConfig(n_features=2, n_classes=3),
                         TrainConfig(epochs=2, seed=0), out=tmp_path / "run")
    last = run.trace.training[-1].observation
    assert "the last state forgets the start of these 200-step sequences" in last
    assert "--summary max" in last and "is at chance (33%)" in last


def _rising(lengths: list[int], seed: int) -> SequenceSet:
    """Noisy lines whose slope is the target, of the given lengths (zero-padded)."""
    from rnntrace.data.targets import strata

    rng = np.random.default_rng(seed)
    slope = rng.normal(size=len(lengths))
    values = np.zeros((len(lengths), max(lengths), 1), np.float32)
    for i, length in enumerate(lengths):
        values[i, :length, 0] = slope[i] * np.linspace(0, 1, length) + rng.normal(0, 0.1, length)
    y = slope.astype(np.float32)[:, None]
    return SequenceSet(values, np.array(lengths), strata(y), [], targets=y)


def test_regression_candidates_read_long_series_in_windows() -> None:
    """The plain last state reads every step of short series, and windows of steps once a
    series is longer than TARGET_STEPS, as every other candidate does: no candidate reads more
    than about 128 recurrent steps (one of 5,000 steps among 40 short ones kept a single
    candidate training for minutes)."""
    from rnntrace.model.classifier import SequenceClassifier
    from rnntrace.train.search import _candidates

    short = _rising([12, 16, 20] * 4, seed=0)
    listed = _candidates(short, {}, auto_window(short.max_length))
    assert [name for name, _ in listed][:2] == ["gru+last", "resample+gru+last"]
    assert listed[0][1]["front_end"] == "none"
    long = _rising([12, 16, 20] * 4 + [1000], seed=0)
    listed = _candidates(long, {}, auto_window(long.max_length))
    assert [name for name, _ in listed][:2] == ["window+gru+last", "resample+window+gru+last"]
    for name, settings in listed:
        config = ModelConfig(n_features=1, n_classes=0, **settings)
        model = SequenceClassifier.from_config(config, seed=0)
        x = torch.from_numpy(long.values[-1:])
        read, _ = model.front_input(model.inputs(x), torch.tensor([1000]))
        assert read.shape[1] <= 128, (name, read.shape)  # the steps the recurrent layer reads
    # A front end the user fixed is kept as given.
    fixed = _candidates(long, {"front_end": "none"}, auto_window(long.max_length))
    assert fixed[0][0] == "gru+last" and fixed[0][1]["window"] == 1


def test_a_set_past_the_budget_is_searched_on_a_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past SEARCH_WORK the candidates are scored on a seeded stratified share of the training
    and held-out parts; the final model's epochs are the best epoch's optimiser updates over
    all the data, and the reason says both."""
    from rnntrace.train import search

    data = _bumps(160, 12, seed=4)
    _, _, whole = choose(data, {"epochs": 2}, seed=0, threads=1)
    assert "share" not in whole.reason
    trained = 160 - whole.held_out
    # Four candidates on the training part, 12 steps a sequence, up to 100 + 20 epochs each:
    # a quarter of that.
    monkeypatch.setattr(search, "SEARCH_WORK", trained * 12 * 120 * 4 // 4)
    _, train, shared = choose(data, {}, seed=0, threads=1)
    searched = int(re.search(rf"([0-9]+) of the {trained} training sequences",
                             shared.reason).group(1))  # type: ignore[union-attr]
    assert abs(searched - trained / 4) <= 3  # a quarter of each class
    assert abs(shared.held_out - whole.held_out / 4) <= 3
    best = next(c for c in shared.candidates if c.name == shared.chosen).best_epoch
    updates = math.ceil(searched / train.batch_size) / math.ceil(160 / train.batch_size)
    assert train.epochs == max(search.MIN_SCALED_EPOCHS, round(best * updates))
    assert f"its best epoch, {best}, on the share" in shared.reason
    _, again, repeated = choose(data, {}, seed=0, threads=1)  # deterministic
    assert (again.epochs, repeated.chosen) == (train.epochs, shared.chosen)


def test_regression_progress_names_the_fold_of_each_candidate() -> None:
    """On a few sequences every candidate trains once per fold: each report names its fold,
    so no candidate is reported twice as if it were new, and the terminal heads each fold."""
    from rich.console import Console

    from rnntrace.render.choice_text import search_progress

    data = _rising([12, 16, 20] * 5, seed=1)  # 15 sequences: 3 held out per fold, 5 folds
    heard: list[Any] = []
    console = Console(record=True, width=120)
    show = search_progress(console)

    def hear(progress: Any) -> None:
        heard.append(progress)
        show(progress)

    _, _, choice = choose(data, {"epochs": 2, "hidden_size": 4}, seed=0, threads=1,
                          on_progress=hear)
    scored = [(p.fold, p.index) for p in heard if p.score is not None]
    folds = {p.folds for p in heard}
    assert len(folds) == 1 and folds.pop() > 1
    assert len(scored) == len(set(scored)) == heard[0].folds * len(choice.candidates)
    printed = console.export_text()
    for fold in range(1, heard[0].folds + 1):
        assert printed.count(f"held-out fold {fold} of {heard[0].folds}:") == 1


def test_a_taken_out_is_refused_before_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out naming a folder that holds files is one error line before any work: it came only
    after the search and the training had run (BasicMotions per step: 87 s)."""
    os.chdir(tmp_path)
    _write(tmp_path / "train.npz", _bumps(30, 12, seed=0))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["train", "train.npz", "--epochs", "2", "--out", "taken"]) == 2
    out, err = capsys.readouterr()
    assert "Choosing settings" not in out and "candidate" not in out
    assert err.strip().splitlines() == [
        "rnntrace: error: taken already exists and is not empty: choose another --out"]
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]
