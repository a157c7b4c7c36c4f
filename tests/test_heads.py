"""Regression and per-step heads: reading, padding never read, training, trace and predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnntrace as rt
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.config.task import PADDING_LABEL, task_spec
from rnntrace.data.batching import TensorSet
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError, DataError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.objectives import loss_sum, score_sums
from rnntrace.records.heads import HeadReport, ScoredSet, ScoreLine


def _long_csv(path: Path, labels: list[list[str]]) -> None:
    rows = ["series,step,x,label"]
    for i, seq in enumerate(labels):
        rows += [f"{i},{t},{0.5 * t + i},{lab}" for t, lab in enumerate(seq)]
    path.write_text("\n".join(rows) + "\n")


def test_task_names_and_unknown():
    assert task_spec("regression").name == "regress"
    assert task_spec("segmentation").name == "steps"
    with pytest.raises(ConfigError, match="unknown task"):
        task_spec("forecast")


def test_numeric_label_column_is_not_silently_classes(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["id,time,x,label"]
    for i in range(30):
        target = round(float(rng.normal()), 3)
        rows += [f"s{i},{t},{rng.normal():.3f},{target}" for t in range(4)]
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(rows) + "\n")
    data = rt.read(path)
    assert data.task == "regress" and data.targets is not None
    assert "numbers with fractions" in data.task_note and "--task classify" in data.task_note
    expected = [float(line.split(",")[-1]) for line in rows[1::4]]
    assert data.targets[:, 0] == pytest.approx(expected)
    classes = rt.read(path, task="classify")
    assert classes.task == "classify" and classes.n_classes == len(set(expected))


def test_whole_numbers_stay_classes_and_many_are_said(tmp_path):
    rows = ["id,time,x,label"] + [f"s{i},{t},{t + i},{i % 3}" for i in range(9) for t in range(3)]
    path = tmp_path / "codes.csv"
    path.write_text("\n".join(rows) + "\n")
    data = rt.read(path)
    assert data.task == "classify" and data.class_names == ["0", "1", "2"]
    assert data.task_note == ""  # a few codes are classes, as every UCR file has them
    rows = ["id,time,x,label"] + [f"s{i},{t},{t + i},{i % 15}" for i in range(30)
                                  for t in range(3)]
    path.write_text("\n".join(rows) + "\n")
    data = rt.read(path)
    assert data.task == "classify" and data.n_classes == 15
    assert "15 whole numbers" in data.task_note and "--task regress" in data.task_note
    rows = ["id,time,x,label"] + [f"s{i},{t},{t + i},{i}" for i in range(30) for t in range(3)]
    path.write_text("\n".join(rows) + "\n")
    data = rt.read(path)
    assert data.task == "regress" and "30 distinct whole numbers" in data.task_note


def test_ts_target_label_file(tmp_path):
    path = tmp_path / "r.ts"
    path.write_text("% a tsml-style comment\n@problemName R\n@univariate true\n"
                    "@equalLength false\n@targetLabel true\n@data\n"
                    "1,2,3:0.5\n4,5:-1.25\n7,8,9:3e2\n")
    data = rt.read(path)
    assert data.task == "regress"
    assert data.targets[:, 0] == pytest.approx([0.5, -1.25, 300.0])
    assert data.lengths.tolist() == [3, 2, 3]
    assert data.sequence(1)[:, 0] == pytest.approx([4, 5])
    bad = tmp_path / "bad.ts"
    bad.write_text("@targetLabel true\n@data\n1,2:walk\n")
    with pytest.raises(DataError, match="not a number"):
        rt.read(bad)


def test_changing_label_names_the_per_step_task(tmp_path):
    path = tmp_path / "steps.csv"
    _long_csv(path, [["a", "a", "b"], ["b", "b", "b", "a"]])
    with pytest.raises(DataError, match="--task steps"):
        rt.read(path, id="series", time="step")
    data = rt.read(path, id="series", time="step", task="steps")
    assert data.class_names == ["a", "b"]
    assert data.step_labels.tolist() == [[0, 0, 1, PADDING_LABEL], [1, 1, 1, 0]]
    assert data.class_counts().tolist() == [3, 4]


def test_numpy_step_labels(tmp_path):
    x = np.arange(2 * 4 * 1, dtype=np.float32).reshape(2, 4, 1)
    y = np.array([["up", "up", "down", "down"], ["down", "up", "up", "zz"]])
    np.savez(tmp_path / "d.npz", X=x, y=y, lengths=np.array([4, 3]))
    with pytest.raises(DataError, match="--task steps"):
        rt.read(tmp_path / "d.npz")
    data = rt.read(tmp_path / "d.npz", task="steps")
    assert data.class_names == ["down", "up"]  # "zz" sits in padding: never a label
    assert data.step_labels.tolist() == [[1, 1, 0, 0], [0, 1, 1, PADDING_LABEL]]


@pytest.mark.parametrize("bidirectional", [False, True])
@torch.no_grad()
def test_per_step_loss_never_reads_padding(bidirectional):
    """Padding values of 1e6 and padding labels change neither the loss nor the score: they
    equal the sums over each sequence run alone."""
    torch.manual_seed(0)
    model = SequenceClassifier(2, 3, 5, "gru", task="steps", bidirectional=bidirectional)
    rng = np.random.default_rng(0)
    lengths = np.array([6, 3, 1])
    values = rng.normal(size=(3, 6, 2)).astype(np.float32)
    labels = rng.integers(0, 3, size=(3, 6))
    real = np.arange(6)[None, :] < lengths[:, None]
    values[~real] = 1e6
    labels[~real] = 2  # a real class, set where padding is: must be ignored anyway
    data = SequenceSet(values, lengths, labels[:, 0], ["a", "b", "c"], step_labels=labels)
    batch = TensorSet.from_sequences(data).take(torch.arange(3))
    total, terms = loss_sum(model, model(batch.x, batch.lengths), batch.y)
    hits, count = score_sums(model, model(batch.x, batch.lengths), batch.y)
    alone_loss, alone_hits = 0.0, 0
    for i, n in enumerate(lengths):
        x = torch.from_numpy(values[i : i + 1, :n])
        logits = model(x)[0]  # (n, C)
        truth = torch.from_numpy(labels[i, :n])
        alone_loss += float(torch.nn.functional.cross_entropy(logits, truth, reduction="sum"))
        alone_hits += int((logits.argmax(-1) == truth).sum())
    assert int(terms) == int(count) == lengths.sum()
    assert float(total) == pytest.approx(alone_loss, rel=1e-5)
    assert int(hits) == alone_hits


@torch.no_grad()
def test_regression_loss_is_mse_on_the_standardised_target():
    torch.manual_seed(0)
    model = SequenceClassifier(1, 0, 4, "gru", task="regress")
    assert model.config.n_classes == 0 and model.head.out_features == 1
    model.target_scale.set_statistics(torch.tensor([10.0]), torch.tensor([2.0]))
    x, y = torch.randn(5, 3, 1), torch.tensor([[8.0], [10.0], [12.0], [9.0], [11.0]])
    out = model(x)
    total, terms = loss_sum(model, out, y)
    z = (y - 10.0) / 2.0
    assert float(total) == pytest.approx(float(((out - z) ** 2).sum()), rel=1e-6)
    assert int(terms) == 5
    assert model.predict_values(x) == pytest.approx(out.detach() * 2 + 10)


def _slopes(n: int, seed: int) -> SequenceSet:
    rng = np.random.default_rng(seed)
    slope = rng.normal(size=n)
    x = (slope[:, None] * np.linspace(0, 1, 12)[None, :] * 3
         + rng.normal(0, 0.3, size=(n, 12))).astype(np.float32)[..., None]
    from rnntrace.data.targets import strata

    y = (slope * 10 + 50).astype(np.float32)[:, None]
    return SequenceSet(x, np.full(n, 12), strata(y), [], targets=y)


def test_regression_run_trace_and_predict(tmp_path):
    from rnntrace.experiment.inference_heads import predict_head
    from rnntrace.experiment.pipeline import run_experiment
    from rnntrace.run.directory import load_run
    from rnntrace.train.head_scores import regression_scores

    train, test = _slopes(120, 0), _slopes(40, 1)
    run = run_experiment(train, ModelConfig(n_features=1, hidden_size=16, cell="gru",
                                            task="regress"),
                         TrainConfig(epochs=6, seed=0), test=test, out=tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert saved["config"]["model"]["task"] == "regress"
    scored = {s["name"]: s for s in saved["head"]["sets"]}
    lines = {line["name"]: line["scores"] for line in scored["test"]["lines"]}
    assert lines["model"]["rmse"] < 0.5 * lines["training mean"]["rmse"]  # learnable: slope
    loaded = load_run(tmp_path / "run", with_trace=False)
    predicted = predict_head(loaded, test)
    values = np.array([[row[1]] for row in predicted.rows], dtype=np.float64)
    # The same figures from predict's own numbers, computed directly.
    assert regression_scores(values, test.targets)["rmse"] == pytest.approx(
        lines["model"]["rmse"], rel=1e-4)
    assert np.sqrt(np.mean((values - test.targets) ** 2)) == pytest.approx(
        lines["model"]["rmse"], rel=1e-4)
    mean = run.trace.head.target_mean[0]
    assert lines["training mean"]["rmse"] == pytest.approx(
        float(np.sqrt(np.mean((test.targets - mean) ** 2))), rel=1e-4)
    assert predicted.columns == ["id", "predicted_target"]
    from rnntrace.render.html import render_report

    page = render_report(run.trace)
    # the score table names the sets it holds; the attribution grid's row, the feature
    assert ("<caption>Scores on the held-out part of the training file and the test "
            "file</caption>") in page
    assert f">{train.feature_names[0]}</text>" in page
    from rnntrace.render.html import config_line

    assert config_line(run.trace).endswith("× 1 features, 1 target")  # no "0 classes"


def test_per_step_run_shows_strips(tmp_path):
    from rich.console import Console

    from rnntrace.experiment.pipeline import run_experiment
    from rnntrace.render.notebook import print_trace

    rng = np.random.default_rng(0)
    n, t = 80, 16
    walk = np.cumsum(rng.normal(size=(n, t)), axis=1).astype(np.float32)
    labels = (np.diff(walk, axis=1, prepend=0) > 0).astype(np.int64)
    lengths = rng.integers(6, t + 1, n)
    data = SequenceSet(walk[..., None], lengths, labels[:, 0], ["falling", "rising"],
                       step_labels=labels)
    run = run_experiment(data, ModelConfig(n_features=1, n_classes=2, hidden_size=16,
                                           cell="gru", task="steps", bidirectional=True,
                                           smoothing=0.15),
                         TrainConfig(epochs=4, seed=0), out=tmp_path / "run")
    head = run.trace.head
    assert head is not None and head.strips and "offline" in head.direction
    out = Console(record=True, width=100)
    print_trace(run.trace, out)
    text = out.export_text()
    assert "Label strips" in text and "majority label" in text and "Edit" in text
    from rnntrace.render.html import render_report

    page = render_report(run.trace)
    assert "<caption>Scores on the held-out part of the training file</caption>" in page
    assert "(held out from training)" in text  # the example's set, named
    from rnntrace.render.html import config_line

    line = config_line(run.trace)
    assert "every step's output read" in line and line.endswith("2 labels per step")


def test_step_attribution_never_reads_the_future_in_one_direction():
    from rnntrace.attribution.heads import explain_head

    torch.manual_seed(0)
    model = SequenceClassifier(2, 3, 6, "gru", task="steps")
    rng = np.random.default_rng(0)
    values = rng.normal(size=(1, 9, 2)).astype(np.float32)
    data = SequenceSet(values, np.array([9]), np.array([0]), ["a", "b", "c"],
                       step_labels=np.zeros((1, 9), dtype=np.int64))
    why = explain_head(model, data, 0)
    assert why.rows[0] == 0 and why.rows[-1] == 8
    for step, row in zip(why.rows, why.values, strict=True):
        assert all(v == 0.0 for v in row[step + 1:]), (step, row)  # the future: exactly 0
        assert any(v != 0.0 for v in row[: step + 1])
    both = SequenceClassifier(2, 3, 6, "gru", task="steps", bidirectional=True)
    row = explain_head(both, data, 0).values[0]  # output step 0 of a bidirectional model
    assert any(v != 0.0 for v in row[1:])  # reads what comes after


def test_regression_attribution_sums_to_the_prediction_in_units():
    from rnntrace.attribution.heads import explain_head

    torch.manual_seed(0)
    model = SequenceClassifier(1, 0, 6, "gru", task="regress")
    model.standardize.set_statistics(torch.tensor([0.5]), torch.tensor([2.0]))
    model.target_scale.set_statistics(torch.tensor([100.0]), torch.tensor([15.0]))
    data = _slopes(3, 2)
    why = explain_head(model, data, 1)
    x = torch.from_numpy(data.sequence(1))[None]
    baseline = torch.full_like(x, 0.5)  # the training mean of the feature
    change = float(model.predict_values(x) - model.predict_values(baseline))
    assert why.holds
    assert sum(sum(row) for row in why.values) == pytest.approx(change, rel=0.02, abs=1e-3)


@pytest.mark.parametrize(("task", "n_classes", "shape"), [
    ("steps", 2, (8, 30, 1)), ("steps", 4, (3, 4, 2)), ("regress", 0, (16, 12, 3))])
def test_head_quiz_keys_are_proved(task, n_classes, shape):
    from rnntrace.quiz.heads import HEAD_TEMPLATES, head_quiz

    config = ModelConfig(n_features=shape[2], n_classes=n_classes, hidden_size=6, cell="gru",
                         task=task, bidirectional=task == "steps")
    questions = head_quiz(config, n=8, seed=1, input_shape=shape)  # QuizBug if a key is wrong
    own = [t.name for t in HEAD_TEMPLATES[task]]
    assert [q.template for q in questions[: len(own)]] == own
    assert not {"classifier_input", "concept_memory"} & {q.template for q in questions}
    for q in questions:
        assert len(set(q.options)) == 4 and 0 <= q.answer < 4
    if task == "steps":
        layout = questions[1]
        assert layout.answer_text == "loss(logits.transpose(1, 2), target)"


def test_parquet_numeric_target_read_back_exactly(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(3)
    targets = rng.normal(size=25) * 100
    frame = pd.DataFrame({"id": np.repeat(np.arange(25), 3), "time": np.tile(np.arange(3), 25),
                          "x": rng.normal(size=75), "label": np.repeat(targets, 3)})
    frame.to_parquet(tmp_path / "d.parquet")
    data = rt.read(tmp_path / "d.parquet")
    assert data.task == "regress" and "fractions" in data.task_note
    assert data.targets[:, 0] == pytest.approx(targets.astype(np.float32))


def test_several_numbers_per_sequence(tmp_path):
    from rnntrace.experiment.pipeline import run_experiment

    one = _slopes(100, 4)
    both = np.concatenate([one.targets, -2 * one.targets + 7], axis=1)  # (N, 2)
    data = SequenceSet(one.values, one.lengths, one.labels, [], targets=both,
                       target_names=["slope", "other"])
    run = run_experiment(data, ModelConfig(n_features=1, hidden_size=8, cell="gru",
                                           task="regress", n_targets=2),
                         TrainConfig(epochs=2, seed=0), out=tmp_path / "run")
    assert run.model.head.out_features == 2
    assert run.trace.head.target_names == ["slope", "other"]
    assert len(run.trace.head.example.predicted) == 2
    from rnntrace.train.split import split

    trained_on = split(data, None, TrainConfig(epochs=2, seed=0)).train  # the training part
    assert run.trace.head.target_mean == pytest.approx(trained_on.targets.mean(axis=0))
    assert run.trace.head.target_std == pytest.approx(trained_on.targets.std(axis=0), rel=1e-5)


def test_same_seed_same_trace(tmp_path):
    from rnntrace.experiment.pipeline import run_experiment

    data = _slopes(60, 5)
    traces = []
    for name in ("a", "b"):
        run = run_experiment(data, ModelConfig(n_features=1, hidden_size=6, cell="gru",
                                               task="regress"),
                             TrainConfig(epochs=2, seed=3), out=tmp_path / name)
        raw = run.trace.to_dict()
        raw.pop("meta")
        traces.append(json.dumps(raw, sort_keys=True))
    assert traces[0] == traces[1]


@pytest.mark.parametrize("task", ["steps", "regress"])
def test_no_flag_choice_for_the_heads(task):
    from rnntrace.data.head_lessons import slope_lesson, updown_lesson
    from rnntrace.train.search import choose

    data = (updown_lesson(40, min_steps=10, max_steps=16, seed=1) if task == "steps"
            else slope_lesson(24, steps=10, seed=1))
    model, train, choice = choose(data, {"epochs": 2, "hidden_size": 8}, seed=0)
    assert model.task == task and train.epochs == 2
    if task == "steps":  # every step read, both directions, a few streams per batch
        assert model.window == 1 and not model.resample and model.bidirectional
        assert [c.name for c in choice.candidates] == ["conv+bigru"]
        assert "frame accuracy" in choice.reason
        # one candidate because the streams are short, not because flags fixed the rest
        assert "the one candidate for streams of at most 128 steps" in choice.reason
        assert "your flags" not in choice.reason
    else:  # few held out: the held-out R² is a mean over folds, each sequence held out once
        assert choice.candidates[0].name == "gru+last"
        # 24 sequences: folds of round(24 × 0.2) = 5, four of them to hold out 20 (MIN_HELD_OUT)
        assert "R²" in choice.reason and " over 4 folds" in choice.reason
        assert choice.held_out == 20


def test_smoothing_loss_by_hand_and_never_on_padding():
    from rnntrace.model.objectives import smoothing_sum

    logits = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 9.0], [5.0, 5.0]]])  # (1, T=4, C=2)
    y = torch.tensor([[0, 0, 1, PADDING_LABEL]])  # the last step is padding
    logp = torch.log_softmax(logits, dim=-1)[0]
    by_hand = 0.0
    for t in (1, 2):  # pairs (0, 1) and (1, 2); (2, 3) reaches into padding
        by_hand += float(((logp[t] - logp[t - 1]) ** 2).clamp(max=16.0).mean())
    assert float(smoothing_sum(logits, y)) == pytest.approx(by_hand)
    model = SequenceClassifier(1, 2, 4, "gru", task="steps", smoothing=0.5)
    plain = SequenceClassifier(1, 2, 4, "gru", task="steps")
    total, terms = loss_sum(model, logits, y)
    base, _ = loss_sum(plain, logits, y)
    assert float(total) == pytest.approx(float(base) + 0.5 * by_hand) and int(terms) == 3
    with pytest.raises(ConfigError, match="--task steps"):
        ModelConfig(n_features=1, n_classes=2, smoothing=0.1)


def _line(name: str, predicted: np.ndarray, truth: np.ndarray) -> ScoreLine:
    """A predictor's figures by numpy, as sklearn.metrics defines them."""
    error = predicted - truth
    return ScoreLine(name, {
        "mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error ** 2).mean())),
        "r2": float(1 - (error ** 2).sum() / ((truth - truth.mean()) ** 2).sum())})


def test_the_insight_says_which_side_of_the_mean_line_the_model_is() -> None:
    """Worse than always predicting the training mean is said as worse (not "no better"), with
    the training R² that shows the learning did not carry over, and the set's own shift when
    the mean line's R² there is well below 0; a good model is told it found the target."""
    from rnntrace.experiment.heads import head_insight

    truth = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    mean = np.full(6, 2.0)  # the training mean, below these targets: R² < 0 here
    wild = truth + np.array([3.0, -3.0, 3.0, -3.0, 3.0, -3.0])
    lines = [_line("model", wild, truth), _line("training mean", mean, truth)]
    assert lines[0].scores["rmse"] > 1.02 * lines[1].scores["rmse"]
    report = HeadReport("regress", [ScoredSet("test", 6, lines)], None)
    said = head_insight(report, False, train_score=0.5)
    assert "worse than always predicting the training mean" in said
    assert "R² 0.50 on its training data" in said
    assert f"R² {lines[1].scores['r2']:.2f} there" in said and lines[1].scores["r2"] < -0.1
    centred = [_line("model", wild, truth), _line("training mean", np.full(6, 3.5), truth)]
    said = head_insight(HeadReport("regress", [ScoredSet("test", 6, centred)], None), False)
    assert "worse than" in said and "lie away" not in said and "training data" not in said
    close = [_line("model", truth + 0.1, truth), _line("training mean", mean, truth)]
    said = head_insight(HeadReport("regress", [ScoredSet("test", 6, close)], None), False,
                        train_score=0.9)
    assert "well below always predicting the training mean" in said and "worse" not in said
