"""A run directory's file names, atomic writes and the trace read back: plain files, no torch.

Every file is written to a temporary name beside it and renamed into place, so a run killed at
any moment leaves the old file or the new one, never half of one. The views (`rnntrace report`,
rnntrace.render) read a run through this module alone: trace.json is all they need.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rnntrace.config import schema as run_schema
from rnntrace.errors import ConfigError, RunError
from rnntrace.records import Trace
from rnntrace.records.explanation import Explanation

CONFIG = "config.json"
TRACE = "trace.json"
METRICS = "metrics.jsonl"
WEIGHTS = "model.safetensors"
REPORT = "report.html"
EXPLAIN = "explain.json"  # the attribution and unit responses beside the trace
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: a run's files get the usual permissions


def atomic_write_bytes(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise RunError(f"{path} is a directory: give a file name to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        # mkstemp makes the file private; a run's files get the usual permissions.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> Any:
    """A run's JSON file; a missing, unreadable or outsized one is a RunError naming it."""
    return run_schema.read_json(path)


def trace_from_json(raw: Any, path: Path) -> Trace:
    """The Trace a trace.json holds (schema version 1 or 2), every field checked by type and
    size; anything else is a RunError."""
    if not isinstance(raw, dict):
        raise RunError(f"{path}: not an rnntrace trace")
    try:
        trace = Trace.from_dict(raw)
        run_schema.check(Trace, trace, finite=False)
    except run_schema.Invalid as exc:
        raise RunError(f"{path}: not an rnntrace trace ({exc})") from None
    except (TypeError, KeyError, AttributeError, ValueError, IndexError, RecursionError,
            ConfigError):
        raise RunError(f"{path}: not an rnntrace trace") from None
    return trace


def read_trace(path: Path | str) -> Trace:
    """The Trace of a run directory (its trace.json) or of a trace.json file; no torch needed."""
    path = Path(path)  # rt.read_trace("runs/train-1"), as users write a path
    if path.is_dir():
        if not (path / TRACE).exists():
            raise RunError(f"{path} has no {TRACE}: nothing to report")
        path = path / TRACE
    elif not path.exists():
        raise RunError(f"{path}: no such run directory or trace file")
    return trace_from_json(read_json(path), path)


def save_explanation(path: Path, explanation: Explanation) -> Path:
    """Write `explain.json` into the run directory `path` (atomically); return the file."""
    target = path / EXPLAIN
    atomic_write_text(target, explanation.to_json() + "\n")
    return target


def load_explanation(path: Path) -> Explanation | None:
    """The explanation kept in a run directory, or None when it has none."""
    file = path / EXPLAIN
    if not file.is_file():
        return None
    try:
        return Explanation.from_json(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError, AttributeError):
        raise RunError(f"{file}: not an rnntrace explanation") from None
