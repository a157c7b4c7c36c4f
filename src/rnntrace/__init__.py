"""rnntrace: build, train, trace and explain recurrent sequence classifiers in PyTorch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names and the module each lives in. They load on first use, so that `import rnntrace`
# (and with it `rnntrace --help`) does not pay for importing torch.
_EXPORTS = {
    "ModelConfig": "rnntrace.config",
    "TrainConfig": "rnntrace.config",
    "RunConfig": "rnntrace.config",
    "SequenceSet": "rnntrace.data.sequences",
    "lesson": "rnntrace.data.synthetic",
    "SequenceClassifier": "rnntrace.model",
    "fit": "rnntrace.train",
    "evaluate": "rnntrace.train",
    "History": "rnntrace.train",
    "observe": "rnntrace.observe",
    "Trace": "rnntrace.records",
    "data_flow": "rnntrace.trace.dataflow",
    "trace_prediction": "rnntrace.trace.prediction",
    "run_experiment": "rnntrace.experiment",
    "run_lesson": "rnntrace.experiment",
    "Run": "rnntrace.experiment",
    "load_run": "rnntrace.run",
    "RnnTraceError": "rnntrace.errors",
}

__all__ = [
    "History",
    "ModelConfig",
    "RnnTraceError",
    "Run",
    "RunConfig",
    "SequenceClassifier",
    "SequenceSet",
    "Trace",
    "TrainConfig",
    "__version__",
    "data_flow",
    "evaluate",
    "fit",
    "lesson",
    "load_run",
    "observe",
    "run_experiment",
    "run_lesson",
    "trace_prediction",
]

if TYPE_CHECKING:
    from rnntrace.config import ModelConfig as ModelConfig
    from rnntrace.config import RunConfig as RunConfig
    from rnntrace.config import TrainConfig as TrainConfig
    from rnntrace.data.sequences import SequenceSet as SequenceSet
    from rnntrace.data.synthetic import lesson as lesson
    from rnntrace.errors import RnnTraceError as RnnTraceError
    from rnntrace.experiment import Run as Run
    from rnntrace.experiment import run_experiment as run_experiment
    from rnntrace.experiment import run_lesson as run_lesson
    from rnntrace.model import SequenceClassifier as SequenceClassifier
    from rnntrace.observe import observe as observe
    from rnntrace.records import Trace as Trace
    from rnntrace.run import load_run as load_run
    from rnntrace.trace.dataflow import data_flow as data_flow
    from rnntrace.trace.prediction import trace_prediction as trace_prediction
    from rnntrace.train import History as History
    from rnntrace.train import evaluate as evaluate
    from rnntrace.train import fit as fit


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnntrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
