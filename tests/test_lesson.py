"""The lesson end to end: its headline accuracy, and the same seed giving the same trace."""

from __future__ import annotations

import json
from pathlib import Path

from rnntrace.experiment.pipeline import run_lesson
from rnntrace.run.directory import load_run


def test_default_lesson_meets_its_headline(tmp_path: Path) -> None:
    run = run_lesson(out=tmp_path / "run")
    last, first = run.trace.training[-1], run.trace.training[0]
    assert len(run.trace.training) == 5
    assert last.accuracy >= 0.85 and last.val_accuracy is not None and last.val_accuracy >= 0.85
    assert last.loss < first.loss


def test_nine_of_ten_seeds_meet_the_headline(tmp_path: Path) -> None:
    met = []
    for seed in range(10):
        records = run_lesson(seed=seed, out=tmp_path / f"s{seed}").trace.training
        last = records[-1]
        met.append(
            last.accuracy >= 0.85
            and (last.val_accuracy or 0) >= 0.85
            and last.loss < records[0].loss
        )
    assert sum(met) >= 9, met


def _without_meta(path: Path) -> dict[str, object]:
    trace = json.loads((path / "trace.json").read_text())
    trace.pop("meta")
    return trace  # type: ignore[no-any-return]


def test_same_seed_same_trace(tmp_path: Path) -> None:
    a = run_lesson(epochs=2, seed=5, out=tmp_path / "a")
    b = run_lesson(epochs=2, seed=5, out=tmp_path / "b")
    assert _without_meta(a.path) == _without_meta(b.path)
    c = run_lesson(epochs=2, seed=6, out=tmp_path / "c")
    assert _without_meta(a.path) != _without_meta(c.path)


def test_run_directory_holds_everything(tmp_path: Path) -> None:
    run = run_lesson(epochs=2, out=tmp_path / "run")
    names = {p.name for p in run.path.iterdir()}
    assert {"config.json", "trace.json", "metrics.jsonl", "model.safetensors"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    lines = (run.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert all(json.loads(line)["seqs_per_s"] > 0 for line in lines)
    saved = load_run(run.path)
    assert saved.trace == run.trace
    assert saved.config == run.config


def test_a_test_set_is_scored_against_the_model(tmp_path: Path) -> None:
    import numpy as np
    import torch

    from rnntrace.config.settings import ModelConfig, TrainConfig
    from rnntrace.data.synthetic import lesson
    from rnntrace.experiment.pipeline import run_experiment

    test = lesson(n_sequences=90, seed=11)
    run = run_experiment(
        lesson(seed=0), ModelConfig(), TrainConfig(epochs=3), test=test, out=tmp_path / "r"
    )
    report = run.trace.test
    assert report is not None and report.labels == ["rising", "falling", "peak"]
    with torch.no_grad():
        predicted = run.model(torch.from_numpy(test.values)).argmax(1).numpy()
    assert report.accuracy == float(np.mean(predicted == test.labels))
    assert np.sum(report.confusion_matrix) == 90
    assert [c.support for c in report.per_class] == np.bincount(test.labels).tolist()
    assert load_run(run.path).trace == run.trace


def test_trace_steps_recompute_the_traced_prediction(tmp_path: Path) -> None:
    import torch

    run = run_lesson(epochs=1, out=tmp_path / "r")
    trace, prediction = run.trace, run.trace.prediction
    assert prediction is not None and len(trace.steps) == prediction.length == 10
    # The hand-computed h_t of each step are the hidden states PyTorch returned for the sequence.
    recomputed = torch.tensor([s.h for s in trace.steps])
    torch.testing.assert_close(
        recomputed, torch.tensor(prediction.hidden_states), atol=1e-5, rtol=0
    )
    assert trace.recomputation is not None and trace.recomputation.matches
    assert trace.steps[2].equations == ["h_3 = tanh(W_ih·x_3 + b_ih + W_hh·h_2 + b_hh)"]
    assert trace.dynamics is not None and len(trace.dynamics.saturated) == 10
    assert trace.module_calls is not None
    assert [c.type for c in trace.module_calls.calls] == [
        "SequenceClassifier", "Standardize", "RNN", "Linear"
    ]
