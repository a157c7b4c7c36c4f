"""Checkpoints: a complete round trip, atomic replacement, and refusal of foreign files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.errors import RunError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.train.checkpoint import Checkpoint, configs, load, load_latest, path_in, save
from rnntrace.train.fit import fit


def _trained(tmp_path: Path, epochs: int) -> tuple[SequenceClassifier, Path]:
    torch.manual_seed(0)
    model = SequenceClassifier()
    fit(model, lesson(seed=0), None, TrainConfig(epochs=epochs, lr_schedule="plateau",
                                                 patience=5), checkpoints=tmp_path)
    return model, tmp_path / "last.pt"


def test_the_checkpoint_holds_the_whole_training_state(tmp_path: Path) -> None:
    model, path = _trained(tmp_path, 2)
    state = load(path)
    assert state.epoch == 2
    assert all(torch.equal(state.model[k], v) for k, v in model.state_dict().items())
    assert state.optimizer["state"] and state.scheduler is not None
    assert state.rng["torch"].dtype == torch.uint8 and state.rng["shuffle"].dtype == torch.uint8
    assert [r["epoch"] for r in state.history["records"]] == [1, 2]
    assert state.early_stop["best_weights"] is not None
    model_config, train_config = configs(state)
    assert model_config == ModelConfig() and train_config.epochs == 2
    assert train_config.lr_schedule == "plateau" and train_config.patience == 5


def test_resuming_a_finished_checkpoint_continues_to_more_epochs(tmp_path: Path) -> None:
    straight, _ = _trained(tmp_path / "a", 3)
    _, path = _trained(tmp_path / "b", 2)
    torch.manual_seed(0)
    resumed = SequenceClassifier()
    history = fit(resumed, lesson(seed=0), None,
                  TrainConfig(epochs=3, lr_schedule="plateau", patience=5), resume=load(path))
    assert [r.epoch for r in history.records] == [1, 2, 3]
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in straight.state_dict().items())


def test_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    _, path = _trained(tmp_path, 1)
    with pytest.raises(RunError, match="other settings"):
        fit(SequenceClassifier(), lesson(seed=0), None, TrainConfig(epochs=2, lr=0.5),
            resume=load(path))


def test_foreign_and_broken_files_are_run_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(RunError, match="not an rnntrace checkpoint"):
        load(plain)

    class Sneaky:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("code ran",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"format": "rnntrace-checkpoint", "x": Sneaky()}))
    with pytest.raises(RunError, match="never unpickled") as refused:
        load(evil)
    assert "weights_only" not in str(refused.value)  # never advise the unsafe way round

    _, good = _trained(tmp_path / "run", 1)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(RunError, match="damaged or not a checkpoint"):
        load(cut)
    with pytest.raises(RunError, match="not an rnntrace run directory"):
        load_latest(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("")  # a run killed before its first checkpoint
    with pytest.raises(RunError, match="no checkpoint"):
        load_latest(tmp_path)


def test_saving_replaces_the_file_atomically(tmp_path: Path) -> None:
    _, path = _trained(tmp_path, 1)
    state = load(path)
    state.epoch = 7
    save(path, state)
    assert load(path).epoch == 7
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary left behind
    assert path_in(Path("runs/x")) == Path("runs/x/checkpoints/last.pt")
    assert isinstance(state, Checkpoint)
