"""The run directory: config.json, trace.json, metrics.jsonl, model.safetensors, saved and read.

Every file is written atomically (rnntrace.run.files): a run killed at any moment leaves the old
file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnntrace._deprecated import renamed_getattr
from rnntrace.config import schema as run_schema
from rnntrace.config.settings import RunConfig
from rnntrace.errors import ConfigError, RunError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.frontends import without_redundant_biases
from rnntrace.records import History, Trace
from rnntrace.records.explanation import Explanation
from rnntrace.run.files import (
    CONFIG,
    METRICS,
    REPORT,
    TRACE,
    WEIGHTS,
    atomic_write_bytes,
    atomic_write_text,
    trace_from_json,
)
from rnntrace.run.files import read_json as _read_json

FORMAT = "rnntrace-run"  # in the weights' metadata, so a foreign file is recognised


def check_out(out: Path) -> None:
    """A ConfigError unless `out` can be a new run's directory: absent, or an empty folder.
    Called before a run's work as well, so a taken --out is said at once, not after a search
    of minutes."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file: --out names the run directory to create")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} already exists and is not empty: choose another --out")


def new_run_path(out: Path | None, command: str, root: Path = Path("runs")) -> Path:
    """The directory a run will be written to: `out`, or runs/<command>-<time> (never reused)."""
    if out is not None:
        check_out(out)
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{command}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{command}-{stamp}-{n}"
    return path


class MetricsLog:
    """metrics.jsonl, one line per epoch, flushed to disk as each epoch ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
        except OSError as exc:
            raise RunError(f"cannot create the run directory {path.parent}: "
                           f"{exc.strerror or exc}") from None

    def append(self, row: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())


def save_weights(path: Path, model: SequenceClassifier) -> None:
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(tensors, metadata={"format": FORMAT}))


def load_weights(path: Path, model: SequenceClassifier) -> None:
    """Load weights without executing any code from the file (safetensors holds only tensors)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    if not path.is_file():
        raise RunError(f"{path.parent} is not a complete rnntrace run: {path.name} is missing")
    try:
        tensors = load(path.read_bytes())
    except (SafetensorError, ValueError, OSError) as exc:
        raise RunError(f"{path}: not a readable safetensors file ({exc})") from None
    tensors = without_redundant_biases(tensors)  # runs saved before those biases were removed
    expected = model.state_dict()
    if set(tensors) != set(expected):
        raise RunError(f"{path}: weights do not belong to an rnntrace model of this configuration")
    for name, value in tensors.items():
        if value.shape != expected[name].shape:
            raise RunError(
                f"{path}: tensor {name} has shape {tuple(value.shape)}, the configuration "
                f"expects {tuple(expected[name].shape)}"
            )
    model.load_state_dict(tensors)


def save_run(path: Path, config: RunConfig, trace: Trace, model: SequenceClassifier) -> None:
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / CONFIG, json.dumps(config.to_dict(), indent=2) + "\n")
    save_weights(path / WEIGHTS, model)
    atomic_write_text(path / TRACE, trace.to_json() + "\n")


@dataclass
class Run:
    """One run: its directory, configuration, model with trained weights, trace and history.

    A run just trained holds all six; one read back with `load_run` has no History (its
    epochs are in trace.training and metrics.jsonl) and no trace if trace.json is missing.
    """

    path: Path
    config: RunConfig
    model: SequenceClassifier
    trace: Trace | None
    history: History | None = None
    explanation: Explanation | None = None  # also in <path>/explain.json


def load_config(path: Path | str) -> RunConfig:
    path = Path(path)  # rt.load_run("runs/train-1"): a path as text, as users write one
    if not path.is_dir():
        raise RunError(f"{path} is not a run directory")
    config: RunConfig = run_schema.load_config(_read_json(path / CONFIG), path / CONFIG)
    return config


def load_run(path: Path | str, with_trace: bool = True) -> Run:
    """Read a run directory back; weights are loaded without executing code.

    with_trace=False leaves trace.json unread (predict needs only the model).
    """
    path = Path(path)
    config = load_config(path)
    model = SequenceClassifier.from_config(config.model)
    with torch.no_grad():
        load_weights(path / WEIGHTS, model)
    model.eval()
    trace = None
    if with_trace and (path / TRACE).exists():
        trace = trace_from_json(_read_json(path / TRACE), path / TRACE)
    return Run(path=path, config=config, model=model, trace=trace)


def remove_partial(path: Path) -> None:
    """Remove a run directory that a failed command created, so nothing half-written remains."""
    shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "CONFIG", "METRICS", "REPORT", "TRACE", "WEIGHTS", "MetricsLog", "Run", "atomic_write_bytes",
    "atomic_write_text", "load_config", "load_run", "load_weights", "new_run_path",
    "remove_partial", "save_run", "save_weights",
]
__getattr__ = renamed_getattr(__name__, {"SavedRun": "Run"}, globals())
