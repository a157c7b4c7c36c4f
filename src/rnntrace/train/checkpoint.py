"""Training checkpoints: everything needed to continue a killed run and end where it would have.

A checkpoint holds the model, optimizer and scheduler states, both random generators (torch's
global one, which drives dropout, and the shuffling one), the history so far and the early
stopping state. RNG states are tensors and everything else plain containers, so the file loads
with `torch.load(weights_only=True)` and never executes code. It is written to a temporary file
and renamed into place: a run killed while saving keeps the previous epoch's checkpoint.
"""

from __future__ import annotations

import io
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnntrace._deprecated import renamed_getattr
from rnntrace.config import schema as run_schema
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.errors import ConfigError, RunError
from rnntrace.run.files import atomic_write_bytes

CHECKPOINTS = "checkpoints"  # the folder inside a run directory
LAST = "last.pt"
FORMAT = "rnntrace-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """The state at the end of an epoch, as plain containers and tensors."""

    epoch: int
    model: dict[str, Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    rng: dict[str, Any]  # "torch": ByteTensor, "shuffle": ByteTensor, "cuda": [ByteTensor]
    history: dict[str, Any]  # History as plain lists (see train.History.to_dict)
    early_stop: dict[str, Any]  # best held-out loss, epochs without improvement, best weights
    # {"model": ModelConfig fields, "train": TrainConfig fields but epochs, "epochs": planned}
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **self.__dict__}


def path_in(run_dir: Path) -> Path:
    """Where a run directory keeps its latest checkpoint."""
    return run_dir / CHECKPOINTS / LAST


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write atomically: the old checkpoint stays until the new one is complete on disk."""
    buffer = io.BytesIO()
    torch.save(checkpoint.to_dict(), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load(path: Path) -> Checkpoint:
    """Read a checkpoint without executing code from it; a foreign file is a RunError."""
    if not path.is_file():
        raise RunError(f"no checkpoint at {path}: the run did not finish an epoch, start it again")
    try:
        with warnings.catch_warnings():
            # A foreign pickle draws a protocol warning before its refusal; the refusal suffices.
            warnings.simplefilter("ignore", UserWarning)
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # PyTorch's own message suggests weights_only=False, which would run the file's code.
        raise RunError(f"{path}: not an rnntrace checkpoint: it holds Python objects, which "
                       "are never unpickled here") from None
    except (RuntimeError, EOFError, ValueError, OSError):
        raise RunError(f"{path}: damaged or not a checkpoint; start the run again") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise RunError(f"{path}: not an rnntrace checkpoint")
    if raw.get("version") != VERSION:
        raise RunError(f"{path}: checkpoint version {raw.get('version')}, expected {VERSION}")
    try:
        state = Checkpoint(**{k: v for k, v in raw.items() if k not in ("format", "version")})
    except TypeError:
        raise RunError(f"{path}: checkpoint is missing parts of the training state") from None
    try:
        run_schema.check(Checkpoint, state, finite=False)
    except run_schema.Invalid as exc:
        raise RunError(f"{path}: not an rnntrace checkpoint ({exc})") from None
    return state


def load_latest(run_dir: Path, out: Path | None = None) -> Checkpoint:
    """The latest checkpoint of a run directory, for --resume (which `out`, if given, must be)."""
    if out is not None and out.resolve() != run_dir.resolve():
        raise ConfigError(
            f"--out {out} with --resume {run_dir}: a resumed run continues in its own "
            "directory; drop --out"
        )
    if not run_dir.is_dir():
        raise RunError(f"--resume {run_dir}: no such run directory")
    if not path_in(run_dir).exists() and (run_dir / "model.safetensors").exists():
        raise RunError(f"--resume {run_dir}: that run finished; there is nothing to resume")
    if not path_in(run_dir).exists() and not (run_dir / "metrics.jsonl").exists():
        raise RunError(f"--resume {run_dir}: not an rnntrace run directory")
    return load(path_in(run_dir))


def configs(state: Checkpoint) -> tuple[ModelConfig, TrainConfig]:
    """The model and training settings of the run that wrote a checkpoint."""
    try:
        model = run_schema.build(ModelConfig, state.config["model"], "model")
        run_schema.check_model_size(model)
        train = run_schema.build(TrainConfig, {**state.config["train"],
                                               "epochs": state.config["epochs"]}, "train")
    except (KeyError, TypeError):
        raise RunError("checkpoint holds no usable run settings") from None
    except ConfigError as exc:
        raise RunError(f"checkpoint holds unusable run settings: {exc.message}") from None
    return model, train


__getattr__ = renamed_getattr(__name__, {"load_run": "load_latest"}, globals())
