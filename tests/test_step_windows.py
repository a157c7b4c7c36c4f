"""A label per step read in windows of k steps: each window's logits repeated to its steps.

The truth is PyTorch's own forward on windows built here with numpy (standardised by hand,
zeros after each sequence's last step, reshaped), each window's logits repeated with
np.repeat and cropped to the sequence's length; padding never read.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.config.task import PADDING_LABEL
from rnntrace.data.batching import TensorSet
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.objectives import loss_sum, score_sums

K = 3


def _batch(n_features: int, lengths: list[int], n_labels: int = 3, seed: int = 0
           ) -> SequenceSet:
    """Sequences padded with 1e6 values and real labels past their ends: neither may count."""
    rng = np.random.default_rng(seed)
    t = max(lengths)
    values = rng.normal(2.0, 3.0, size=(len(lengths), t, n_features)).astype(np.float32)
    labels = rng.integers(0, n_labels, size=(len(lengths), t))
    real = np.arange(t)[None, :] < np.array(lengths)[:, None]
    values[~real] = 1e6
    labels[~real] = 1  # a real label where padding is
    return SequenceSet(values, np.array(lengths), labels[:, 0],
                       [f"l{c}" for c in range(n_labels)], step_labels=labels)


def _model(front_end: str, bidirectional: bool, batch_first: bool, cell: str = "gru"
           ) -> SequenceClassifier:
    torch.manual_seed(0)
    model = SequenceClassifier(2, 3, 5, cell, task="steps", front_end=front_end, window=K,
                               bidirectional=bidirectional, batch_first=batch_first)
    model.standardize.set_statistics(torch.tensor([2.0, -1.0]), torch.tensor([3.0, 0.5]))
    return model.eval()


@torch.no_grad()
def _by_hand(model: SequenceClassifier, sequence: np.ndarray) -> np.ndarray:
    """(T, C) logits of one sequence: numpy windows through PyTorch's own layers, repeated."""
    n, f = sequence.shape
    z = (sequence - np.array([2.0, -1.0])) / np.array([3.0, 0.5])  # standardised
    windows = -(-n // K)
    padded = np.zeros((windows * K, f), dtype=np.float32)
    padded[:n] = z
    x = torch.from_numpy(padded.reshape(windows, K * f))  # window j: steps jK .. jK+K-1
    if model.front is not None and model.front.blocks:  # conv: PyTorch's Conv1d, BatchNorm
        c = x.T.unsqueeze(0)  # (1, K·F, T')
        for block in model.front.blocks:
            c = block(c)
        x = c[0].T  # (T', 64)
    out, _ = model.rnn(x.unsqueeze(0) if model.config.batch_first else x.unsqueeze(1))
    logits = model.head(out[0] if model.config.batch_first else out[:, 0]).numpy()  # (T', C)
    return np.repeat(logits, K, axis=0)[:n]  # each window's logits to its K steps


@pytest.mark.parametrize(("front_end", "bidirectional", "batch_first", "cell"), [
    ("window", False, True, "gru"), ("window", True, True, "gru"),
    ("window", True, False, "lstm"), ("conv", True, True, "gru")])
@torch.no_grad()
def test_windowed_logits_are_pytorch_on_the_windows_repeated(front_end, bidirectional,
                                                             batch_first, cell):
    model = _model(front_end, bidirectional, batch_first, cell)
    data = _batch(2, [7, 4, 1, 6, 9])
    batch = TensorSet.from_sequences(data).take(torch.arange(5), batch_first)
    out = model(batch.x, batch.lengths)
    out = out if batch_first else out.transpose(0, 1)  # (B, T, C)
    assert out.shape == (5, 9, 3)
    for i, n in enumerate(data.lengths):
        expected = _by_hand(model, data.values[i, :n])
        np.testing.assert_allclose(out[i, :n].numpy(), expected, rtol=1e-5, atol=1e-5)
        alone = model(torch.from_numpy(data.values[i : i + 1, :n]).transpose(
            0, 0 if batch_first else 1))  # read alone: no padding at all
        alone = alone[0] if batch_first else alone[:, 0]
        np.testing.assert_allclose(alone.numpy(), expected, rtol=1e-5, atol=1e-5)
        # The model's labels change only at a window's edge.
        for s in range(0, n, K):
            assert (out[i, s : min(n, s + K)] == out[i, s]).all()


@pytest.mark.parametrize("bidirectional", [False, True])
@torch.no_grad()
def test_windowed_loss_and_score_count_real_steps_only(bidirectional):
    model = _model("window", bidirectional, True)
    data = _batch(2, [8, 5, 2])
    batch = TensorSet.from_sequences(data).take(torch.arange(3))
    assert int((batch.y == PADDING_LABEL).sum()) == 3 * 8 - 15
    out = model(batch.x, batch.lengths)
    total, terms = loss_sum(model, out, batch.y)
    hits, count = score_sums(model, out, batch.y)
    by_hand_loss, by_hand_hits = 0.0, 0
    for i, n in enumerate(data.lengths):
        logits = _by_hand(model, data.values[i, :n])  # (n, C)
        truth = data.step_labels[i, :n]
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        by_hand_loss -= float(log_p[np.arange(n), truth].sum())
        by_hand_hits += int((logits.argmax(1) == truth).sum())
    assert int(terms) == int(count) == 15
    assert float(total) == pytest.approx(by_hand_loss, rel=1e-5)
    assert int(hits) == by_hand_hits


def test_windows_allowed_for_steps_resample_refused():
    config = ModelConfig(n_features=1, n_classes=2, task="steps", window=4)
    assert config.front_end_in_use == "window" and config.window == 4
    with pytest.raises(ConfigError, match="resample"):
        ModelConfig(n_features=1, n_classes=2, task="steps", resample=50)


def _walks(n: int, length: int, seed: int, run: tuple[int, int] = (20, 40)) -> SequenceSet:
    """Walks rising or falling in runs of `run` steps, labelled by direction at every step."""
    rng = np.random.default_rng(seed)
    values = np.zeros((n, length, 1), dtype=np.float32)
    labels = np.full((n, length), PADDING_LABEL, dtype=np.int64)
    lengths = rng.integers(length // 2, length + 1, n)
    for i, size in enumerate(lengths):
        direction, t = int(rng.integers(0, 2)), 0
        while t < size:
            step = int(rng.integers(run[0], run[1] + 1))
            labels[i, t : min(size, t + step)] = direction
            t, direction = t + step, 1 - direction
        moves = np.where(labels[i, :size] == 1, 1.0, -1.0) * rng.uniform(0.3, 1.0, size)
        values[i, :size, 0] = np.cumsum(moves) + rng.normal(0, 0.3, size)
    return SequenceSet(values, lengths, labels[:, 0], ["falling", "rising"],
                       step_labels=labels, ids=[f"w{i}" for i in range(n)])


@pytest.fixture(scope="module")
def windowed_run(tmp_path_factory):
    from rnntrace.experiment.pipeline import run_experiment

    out = tmp_path_factory.mktemp("run") / "run"
    data = _walks(24, 40, seed=0)
    return run_experiment(
        data, ModelConfig(n_features=1, n_classes=2, hidden_size=6, cell="gru", task="steps",
                          window=4),
        TrainConfig(epochs=2, seed=0), test=_walks(6, 40, seed=1), out=out), data, out


def test_windowed_run_traces_its_windows(windowed_run):
    run, _, _ = windowed_run
    trace = run.trace
    names = [s.name for s in trace.stages]
    assert names[-3:] == ["Linear at every window", "Repeat to the steps", "Softmax per step"]
    linear, repeat = trace.stages[-3], trace.stages[-2]
    b, t = repeat.output_shape[:2]
    assert linear.output_shape == [b, -(-t // 4), 2] and repeat.input_shape == linear.output_shape
    # The step-by-step trace walks the recurrent steps, which are windows: 4·1 values each.
    shown = trace.head.example
    assert len([s for s in trace.steps if s.layer == 0]) == -(-shown.length // 4)
    assert all(len(s.x) == 4 for s in trace.steps)
    assert trace.recomputation is not None and trace.recomputation.matches
    assert "windows of 4" in trace.head.direction and "3 steps ahead" in trace.head.direction
    assert "windows of 4 steps" in trace.insight
    assert any(q.template == "window_to_steps" for q in trace.quiz)


def test_windowed_run_says_so_in_terminal_and_page(windowed_run):
    from rich.console import Console

    from rnntrace.render.notebook import print_trace

    run, _, out = windowed_run
    console = Console(record=True, width=120)
    print_trace(run.trace, console)
    text = " ".join(console.export_text().split())
    assert "x_t are windows of 4 standardised input steps side by side" in text
    assert "Repeat to the steps" in text
    from rnntrace.run.report import write_report

    page = write_report(run.trace, out / "report.html").read_text()
    assert "Here x_t is windows of 4 standardised input steps" in page


@torch.no_grad()
def test_windowed_predict_is_the_forward_by_hand(windowed_run):
    from rnntrace.experiment.inference_heads import predict_head
    from rnntrace.run.directory import load_run

    _, _, out = windowed_run
    saved = load_run(out, with_trace=False)
    test = _walks(6, 40, seed=1)
    rows = predict_head(saved, test).rows
    model = saved.model.eval()
    mean, std = model.standardize.mean.numpy(), model.standardize.std.numpy()
    expected = []
    for i, n in enumerate(test.lengths):
        z = (test.values[i, :n] - mean) / std
        padded = np.zeros((-(-n // 4) * 4, 1), dtype=np.float32)
        padded[:n] = z
        h, _ = model.rnn(torch.from_numpy(padded.reshape(1, -1, 4)))
        probs = torch.softmax(model.head(h[0]), dim=-1).numpy()  # (T', C)
        expected += [(test.ids[i], t, test.class_names[int(probs[t // 4].argmax())],
                      float(probs[t // 4].max())) for t in range(n)]
    assert len(rows) == int(test.lengths.sum())
    for row, (sid, t, label, p) in zip(rows, expected, strict=True):
        assert row[:3] == [sid, t, label] and row[3] == pytest.approx(p, abs=1e-5)


def test_windowed_attribution_stops_at_the_window_end():
    from rnntrace.attribution.heads import explain_head

    torch.manual_seed(0)
    model = SequenceClassifier(1, 3, 6, "gru", task="steps", window=K).eval()
    values = np.random.default_rng(0).normal(size=(1, 10, 1)).astype(np.float32)
    data = SequenceSet(values, np.array([10]), np.array([0]), ["a", "b", "c"],
                       step_labels=np.zeros((1, 10), dtype=np.int64))
    why = explain_head(model, data, 0)
    for step, row in zip(why.rows, why.values, strict=True):
        end = (step // K + 1) * K  # the first step after this step's window
        assert all(v == 0.0 for v in row[end:]), (step, row)  # past the window: exactly 0
        if step % K < K - 1 and step + 1 < 10:  # a window reads ahead of its first steps
            assert any(v != 0.0 for v in row[step + 1 : end]), (step, row)


@pytest.mark.parametrize(("steps", "shape"), [(10, (8, 10, 1)), (7, (3, 7, 2))])
def test_window_question_is_proved(steps, shape):
    from rnntrace.quiz.heads import head_quiz

    config = ModelConfig(n_features=shape[2], n_classes=4, hidden_size=6, cell="gru",
                         task="steps", window=K, bidirectional=True)
    questions = head_quiz(config, n=8, seed=0, input_shape=shape)  # QuizBug if a key is wrong
    window = next(q for q in questions if q.template == "window_to_steps")
    assert window.answer_text == str((shape[0], steps, 4))
    assert len(set(window.options)) == 4
    # The layer's own questions are about what the layer reads: K·F values, ceil(T/K) steps.
    layer = next(q for q in questions if q.template == "many_to_many_shape")
    assert layer.setting["input_size"] == K * shape[2]
    assert layer.setting["steps"] == -(-steps // K)


_BASE = {"cell": "gru", "hidden_size": 64, "summary": "last", "task": "steps", "n_targets": 1}


def test_the_budget_counts_recurrent_steps_and_leaves_starved_candidates_out():
    from rnntrace.train.step_search import MIN_STEP_EPOCHS, STEP_WORK, plan_steps

    lengths = np.array([2135, 854, 1708, 1281] * 11)  # 44 long streams, as OSULeaf's
    plan = plan_steps(lengths, _BASE, {}, window=17, max_epochs=100, swa_epochs=20)
    windows = sum(-(-int(n) // 17) for n in lengths)  # 126 + 51 + 101 + 76 per four
    every = int(lengths.sum())
    assert [c.name for c in plan.trained] == ["conv(k=17)+bigru"]
    for c in plan.trained:
        assert c.settings["window"] == 17 and c.recurrent_steps == windows == 3_894
        assert c.epochs == STEP_WORK // windows == 25 and c.averaged == 5  # 25 // 5
    assert [c.name for c in plan.skipped] == ["conv+bigru"]
    for c in plan.skipped:
        assert c.recurrent_steps == every and c.epochs == STEP_WORK // every < MIN_STEP_EPOCHS
    note = plan.note()
    assert f"conv+bigru (1 epoch of {every:,} recurrent steps)" in note
    assert "not trained" in note and f"{STEP_WORK:,} recurrent step-epochs" in note
    from rnntrace.train.search import _alone

    assert _alone(plan, {}) == "the one candidate the budget lets train"  # not "your flags"
    # The user's epochs: every candidate trains them, none is left out, nothing said.
    given = plan_steps(lengths, _BASE, {}, window=17, max_epochs=100, swa_epochs=20,
                       epochs_given=3)
    assert len(given.trained) == 2 and not given.skipped and given.note() == ""


def test_short_streams_have_no_windowed_candidate_and_huge_ones_still_train_one():
    from rnntrace.train.step_search import STEP_WORK, plan_steps

    short = plan_steps(np.full(30, 100), _BASE, {}, window=1, max_epochs=100, swa_epochs=20)
    assert [c.name for c in short.trained] == ["conv+bigru"] and not short.skipped
    assert all(c.epochs == min(100, STEP_WORK // 3_000) for c in short.trained)
    huge = plan_steps(np.full(200, 20_000), _BASE, {}, window=157, max_epochs=100,
                      swa_epochs=20)
    assert [c.name for c in huge.trained] == ["conv(k=157)+bigru"]
    assert huge.trained[0].epochs == STEP_WORK // (200 * 128) == 3  # ceil(20,000 / 157)
    assert "trained all the same, for 3 epochs" in huge.note()
    one = plan_steps(np.full(800, 20_000), _BASE, {}, window=157, max_epochs=100,
                     swa_epochs=20)
    assert "trained all the same, for 1 epoch," in one.note()
    # A window the user fixes holds for every candidate; duplicates are trained once.
    fixed = plan_steps(np.full(30, 500), _BASE, {"window": 5}, window=4, max_epochs=100,
                       swa_epochs=20)
    assert [c.name for c in fixed.trained] == ["conv(k=5)+bigru"]
    plain = plan_steps(np.full(30, 500), _BASE, {"front_end": "none"}, window=4,
                       max_epochs=100, swa_epochs=20)  # the user's front end, both ways
    assert [c.name for c in plain.trained] == ["window(k=4)+bigru"]
    assert [c.name for c in plain.skipped] == ["bigru"]  # 10 epochs of 15,000 steps


def _flips(n: int, length: int, seed: int) -> SequenceSet:
    """Long streams whose label flips every 1–3 steps; each step's value shows its label."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, length), dtype=np.int64)
    for i in range(n):
        t, label = 0, int(rng.integers(0, 2))
        while t < length:
            run = int(rng.integers(1, 4))
            labels[i, t : t + run] = label
            t, label = t + run, 1 - label
    values = (np.where(labels == 1, 1.0, -1.0) + rng.normal(0, 0.3, (n, length)))
    return SequenceSet(values.astype(np.float32)[..., None], np.full(n, length), labels[:, 0],
                       ["low", "high"], step_labels=labels)


def test_labels_that_flip_every_few_steps_keep_a_window_one_model():
    """Streams long enough for windows (300 steps: k = 3), labels too short for them: the
    held-out split must choose a model that reads every step."""
    from rnntrace.train.search import choose

    data = _flips(30, 300, seed=0)
    model, _, choice = choose(data, {"epochs": 12, "hidden_size": 8, "lr": 0.01}, seed=0)
    names = [c.name for c in choice.candidates]
    assert names == ["conv+bigru", "conv(k=3)+bigru"]
    scores = {c.name: c.val_accuracy for c in choice.candidates}
    assert model.window == 1 and choice.chosen == "conv+bigru"
    assert scores[choice.chosen] > scores["conv(k=3)+bigru"]
    assert scores[choice.chosen] > 0.9  # the value shows the label: every step is learnable


def test_quiz_on_a_windowed_run_names_the_layer_it_has(windowed_run, capsys):
    from rnntrace.cli.main import main

    _, _, out = windowed_run
    main(["quiz", str(out), "--export", "json"])
    sheet = json.loads(capsys.readouterr().out)
    # The layer reads windows of 4 steps of 1 feature: 4 values per recurrent step.
    assert sheet["about"].startswith("window front end → nn.GRU(input_size=4, hidden_size=6")
    assert "window_to_steps" in {q["template"] for q in sheet["questions"]}
