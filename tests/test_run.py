"""The run directory: weights round-trip exactly; foreign or broken files are refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnntrace.errors import ConfigError, RunError
from rnntrace.experiment.pipeline import run_lesson
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.run.directory import atomic_write_text, load_run, new_run_path, save_weights


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_lesson(epochs=1, out=tmp_path_factory.mktemp("runs") / "lesson").path


def test_saved_model_predicts_like_the_trained_one(run_dir: Path) -> None:
    saved = load_run(run_dir)
    assert saved.trace is not None and saved.trace.prediction is not None
    p = saved.trace.prediction
    x = torch.tensor(p.inputs).unsqueeze(0)
    torch.testing.assert_close(saved.model(x)[0], torch.tensor(p.logits), atol=1e-5, rtol=0)


def test_foreign_weights_are_refused(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text((run_dir / "config.json").read_text())
    save_weights(other / "model.safetensors", SequenceClassifier(5, 3, 16))
    with pytest.raises(RunError, match="shape"):
        load_run(other)
    (other / "model.safetensors").write_bytes(b"\x80\x03}q\x00.pickle, not ours")
    with pytest.raises(RunError, match="not a readable safetensors"):
        load_run(other)
    (other / "model.safetensors").unlink()
    with pytest.raises(RunError, match="missing"):
        load_run(other)


def test_broken_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="not a run directory"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(RunError, match="not valid JSON"):
        load_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model": {"cell": "rnn"}}))
    with pytest.raises(RunError, match=r"config\.json"):
        load_run(tmp_path)


def test_atomic_write_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "f.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_new_run_path_never_reuses_a_directory(tmp_path: Path) -> None:
    first = new_run_path(None, "demo", root=tmp_path)
    first.mkdir(parents=True)
    assert new_run_path(None, "demo", root=tmp_path) != first
    (first / "x").write_text("")
    with pytest.raises(ConfigError, match="not empty"):
        new_run_path(first, "demo")
