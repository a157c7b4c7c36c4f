"""averaging.py: the model ends on the mean of its per-epoch weights, deterministically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.synthetic import lesson
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import EpochEnd
from rnntrace.train.averaging import SWA_EPOCHS, averaged_continuation
from rnntrace.train.refit import held_out_pass
from rnntrace.train.split import split


def _data() -> SequenceSet:
    rng = np.random.default_rng(0)
    labels = np.arange(24) % 2
    values = (rng.normal(0, 1, (24, 8, 2)) + labels[:, None, None]).astype(np.float32)
    lengths = np.array([8, 5, 7, 6] * 6)
    return SequenceSet(values, lengths, labels, ["a", "b"], ["x", "y"],
                       [str(i) for i in range(24)], "two")


# A conv front end: its BatchNorm has float buffers (averaged) and an integer one (the last).
_MODEL = ModelConfig(n_features=2, n_classes=2, hidden_size=4, cell="gru", front_end="conv",
                     window=2, summary="max")
_TRAIN = TrainConfig(epochs=3, batch_size=8, seed=1, threads=1, val_fraction=0.25, patience=2)


def _continued(seed: int) -> tuple[dict[str, Tensor], list[dict[str, Tensor]]]:
    data = _data()
    torch.manual_seed(seed)
    model = SequenceClassifier.from_config(_MODEL)
    seen: list[dict[str, Tensor]] = []

    def keep(_: EpochEnd) -> None:  # the test's own copy of each epoch's weights
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    averaged_continuation(model, data, TrainConfig(batch_size=8, seed=seed, threads=1), keep)
    return model.state_dict(), seen


def test_the_model_ends_on_the_mean_of_its_per_epoch_weights() -> None:
    final, seen = _continued(0)
    assert len(seen) == SWA_EPOCHS
    assert any(not torch.equal(seen[0][k], seen[-1][k]) for k in final)  # the weights moved
    for key, value in final.items():
        if value.is_floating_point():
            expected = torch.stack([s[key].double() for s in seen]).mean(0).to(value.dtype)
            torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-7)
        else:  # BatchNorm's batch counter: the last epoch's
            assert torch.equal(value, seen[-1][key])
    assert any(not v.is_floating_point() for v in final.values())


def test_averaging_is_deterministic_for_a_seed() -> None:
    first, _ = _continued(3)
    again, _ = _continued(3)
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_the_scored_candidate_is_the_best_weights_averaged_on_from_there() -> None:
    parts = split(_data(), None, _TRAIN)
    averaged, history = held_out_pass(_MODEL, parts, _TRAIN, average=True)
    plain, again = held_out_pass(_MODEL, parts, _TRAIN)
    assert [r.val_loss for r in history.records] == [r.val_loss for r in again.records]
    averaged_continuation(plain, parts.train, _TRAIN)
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in averaged.state_dict().items())


def test_the_averaging_is_a_setting_a_resumed_run_reads_back(tmp_path: Path) -> None:
    """TrainConfig.average_epochs lives in the checkpoint and in config.json, so a run broken off
    before its averaging and resumed (its settings rebuilt from the checkpoint) still averages."""
    from rnntrace.train import checkpoint
    from rnntrace.train.fit import fit

    data = lesson(n_sequences=60, seed=4)
    torch.manual_seed(0)
    model = SequenceClassifier(5, 3, 4, "gru")
    fit(model, data, None, TrainConfig(epochs=2, seed=1, average_epochs=3),
        checkpoints=tmp_path)  # what a run leaves before its averaging
    _, train = checkpoint.configs(checkpoint.load(tmp_path / "last.pt"))
    assert train.average_epochs == 3
    with pytest.raises(ConfigError, match="negative"):
        TrainConfig(average_epochs=-1)


def test_a_run_logs_its_averaged_epochs_after_its_training_epochs(tmp_path: Path) -> None:
    """metrics.jsonl, on_epoch_end and the trace continue the epoch count through the averaging,
    and the trace's scores for it are the kept model's on the training data."""
    import json

    from rnntrace.experiment.pipeline import run_experiment
    from rnntrace.records import Trace
    from rnntrace.render.html import render_report
    from rnntrace.train.loop import evaluate

    data = _data()
    seen: list[tuple[int, int]] = []
    run = run_experiment(
        data, _MODEL, TrainConfig(epochs=2, batch_size=8, seed=1, threads=1, val_fraction=0.0,
                                  average_epochs=3),
        out=tmp_path / "run", on_epoch_end=lambda end: seen.append((end.record.epoch, end.epochs)))
    assert seen == [(e, 5) for e in range(1, 6)]
    metrics = (tmp_path / "run" / "metrics.jsonl").read_text()
    rows = [json.loads(line) for line in metrics.splitlines()]
    assert [(r["epoch"], r.get("phase")) for r in rows] == [
        (1, None), (2, None), (3, "averaging"), (4, "averaging"), (5, "averaging")]
    trace = Trace.from_json((tmp_path / "run" / "trace.json").read_text())
    assert [r.epoch for r in trace.training] == [1, 2]
    assert trace.averaging is not None
    assert [r.epoch for r in trace.averaging.records] == [3, 4, 5]
    assert [r.loss for r in trace.averaging.records] == [r["loss"] for r in rows[2:]]
    loss, accuracy = evaluate(run.model, data)  # all of it trained: no held-out part
    assert trace.averaging.loss == pytest.approx(loss, rel=1e-6)
    assert trace.averaging.accuracy == accuracy
    assert "Then 3 more epochs (3–5) at a constant lr 0.001" in render_report(trace)
    assert "Then 3 more epochs (3–5)" in str(trace)


def test_fit_with_average_epochs_ends_on_the_mean_of_those_epochs_weights() -> None:
    """rt.fit owns the averaging: `average_epochs` alone makes it, and the History says so."""
    import rnntrace as rt

    data = rt.lesson(n_sequences=120, steps=6, n_features=3, seed=0)
    torch.manual_seed(0)
    model = rt.SequenceClassifier(n_features=3, n_classes=data.n_classes, hidden_size=5)
    states: list[dict[str, torch.Tensor]] = []
    phases: list[str] = []

    def keep(end: EpochEnd) -> None:
        phases.append(end.phase)
        if end.phase == "averaging":
            states.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    config = rt.TrainConfig(epochs=2, average_epochs=3, batch_size=16)
    history = rt.fit(model, data, config=config, on_epoch_end=keep)
    assert phases == ["training"] * 2 + ["averaging"] * 3
    assert history.averaging is not None and len(history.averaging.records) == 3
    assert [r.epoch for r in history.averaging.records] == [3, 4, 5]
    for name, value in model.state_dict().items():
        if value.is_floating_point():
            mean = torch.stack([s[name].double() for s in states]).mean(0).to(value.dtype)
            torch.testing.assert_close(value, mean)
    # Without it, the model keeps its last epoch's weights and nothing is averaged.
    plain = rt.fit(model, data, config=rt.TrainConfig(epochs=1, batch_size=16))
    assert plain.averaging is None
