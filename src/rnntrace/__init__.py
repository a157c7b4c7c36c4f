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
    "read": "rnntrace.data.readers",
    "SequenceClassifier": "rnntrace.model",
    "fit": "rnntrace.train",
    "evaluate": "rnntrace.train",
    "History": "rnntrace.train",
    "observe": "rnntrace.observations",
    "Trace": "rnntrace.records",
    "ModuleCalls": "rnntrace.records",
    "Question": "rnntrace.records",
    "assemble_trace": "rnntrace.tracing.assemble",
    "trace_stages": "rnntrace.tracing.dataflow",
    "trace_prediction": "rnntrace.tracing.prediction",
    "trace_modules": "rnntrace.tracing.hooks",
    "trace": "rnntrace.tracing.generic",
    "Recorder": "rnntrace.recorder",
    "report": "rnntrace.render.notebook",
    "watch": "rnntrace.render.watch",
    "compare": "rnntrace.comparison",
    "Comparison": "rnntrace.compare_records",
    "recompute": "rnntrace.tracing.equations",
    "explain_steps": "rnntrace.tracing.steps",
    "explain_call": "rnntrace.tracing.explain",
    "checked": "rnntrace.tracing.explain",
    "layer_shapes": "rnntrace.tracing.shapes",
    "hidden_dynamics": "rnntrace.tracing.dynamics",
    "make_quiz": "rnntrace.quiz",
    "run_experiment": "rnntrace.experiment",
    "run_lesson": "rnntrace.experiment",
    "Run": "rnntrace.run",
    "load_run": "rnntrace.run",
    "read_trace": "rnntrace.files",
    "predict": "rnntrace.inference",
    "RnnTraceError": "rnntrace.errors",
    "read_text": "rnntrace.data.text",
    "Vocabulary": "rnntrace.data.vocabulary",
    "letters_lesson": "rnntrace.data.letters",
    "run_text_lesson": "rnntrace.experiment",
    "predict_texts": "rnntrace.inference_text",
    "attribute": "rnntrace.attribution.integrated",
    "explain": "rnntrace.attribution.explanation",
    "explain_run": "rnntrace.attribution.source",
    "planted_signal": "rnntrace.attribution.planted",
    "planted_self_test": "rnntrace.attribution.planted",
    "Explanation": "rnntrace.attribution.records",
}
# Old names kept for one release; each warns once. (rt.trace, once an alias of trace_modules,
# now returns a whole Trace of any model.)
_RENAMED = {"DataFlow": "ModuleCalls", "data_flow": "trace_stages"}

__all__ = [
    "Comparison",
    "Explanation",
    "History",
    "ModelConfig",
    "ModuleCalls",
    "Question",
    "Recorder",
    "RnnTraceError",
    "Run",
    "RunConfig",
    "SequenceClassifier",
    "SequenceSet",
    "Trace",
    "TrainConfig",
    "Vocabulary",
    "__version__",
    "assemble_trace",
    "attribute",
    "checked",
    "compare",
    "evaluate",
    "explain",
    "explain_call",
    "explain_run",
    "explain_steps",
    "fit",
    "hidden_dynamics",
    "layer_shapes",
    "lesson",
    "letters_lesson",
    "load_run",
    "make_quiz",
    "observe",
    "planted_self_test",
    "planted_signal",
    "predict",
    "predict_texts",
    "read",
    "read_text",
    "read_trace",
    "recompute",
    "report",
    "run_experiment",
    "run_lesson",
    "run_text_lesson",
    "trace",
    "trace_modules",
    "trace_prediction",
    "trace_stages",
    "watch",
]

if TYPE_CHECKING:
    from rnntrace.attribution.explanation import explain as explain
    from rnntrace.attribution.integrated import attribute as attribute
    from rnntrace.attribution.planted import planted_self_test as planted_self_test
    from rnntrace.attribution.planted import planted_signal as planted_signal
    from rnntrace.attribution.records import Explanation as Explanation
    from rnntrace.attribution.source import explain_run as explain_run
    from rnntrace.compare_records import (
        Comparison as Comparison,
    )
    from rnntrace.comparison import (
        compare as compare,
    )
    from rnntrace.config import (
        ModelConfig as ModelConfig,
    )
    from rnntrace.config import (
        RunConfig as RunConfig,
    )
    from rnntrace.config import (
        TrainConfig as TrainConfig,
    )
    from rnntrace.data.letters import (
        letters_lesson as letters_lesson,
    )
    from rnntrace.data.readers import (
        read as read,
    )
    from rnntrace.data.sequences import (
        SequenceSet as SequenceSet,
    )
    from rnntrace.data.synthetic import (
        lesson as lesson,
    )
    from rnntrace.data.text import (
        read_text as read_text,
    )
    from rnntrace.data.vocabulary import (
        Vocabulary as Vocabulary,
    )
    from rnntrace.errors import (
        RnnTraceError as RnnTraceError,
    )
    from rnntrace.experiment import (
        run_experiment as run_experiment,
    )
    from rnntrace.experiment import (
        run_lesson as run_lesson,
    )
    from rnntrace.experiment import (
        run_text_lesson as run_text_lesson,
    )
    from rnntrace.files import (
        read_trace as read_trace,
    )
    from rnntrace.inference import (
        predict as predict,
    )
    from rnntrace.inference_text import (
        predict_texts as predict_texts,
    )
    from rnntrace.model import (
        SequenceClassifier as SequenceClassifier,
    )
    from rnntrace.observations import (
        observe as observe,
    )
    from rnntrace.quiz import (
        make_quiz as make_quiz,
    )
    from rnntrace.recorder import (
        Recorder as Recorder,
    )
    from rnntrace.records import (
        ModuleCalls as ModuleCalls,
    )
    from rnntrace.records import (
        Question as Question,
    )
    from rnntrace.records import (
        Trace as Trace,
    )
    from rnntrace.render.notebook import (
        report as report,
    )
    from rnntrace.render.watch import (
        watch as watch,
    )
    from rnntrace.run import (
        Run as Run,
    )
    from rnntrace.run import (
        load_run as load_run,
    )
    from rnntrace.tracing.assemble import (
        assemble_trace as assemble_trace,
    )
    from rnntrace.tracing.dataflow import (
        trace_stages as trace_stages,
    )
    from rnntrace.tracing.dynamics import (
        hidden_dynamics as hidden_dynamics,
    )
    from rnntrace.tracing.equations import (
        recompute as recompute,
    )
    from rnntrace.tracing.explain import (
        checked as checked,
    )
    from rnntrace.tracing.explain import (
        explain_call as explain_call,
    )
    from rnntrace.tracing.generic import (
        trace as trace,
    )
    from rnntrace.tracing.hooks import (
        trace_modules as trace_modules,
    )
    from rnntrace.tracing.prediction import (
        trace_prediction as trace_prediction,
    )
    from rnntrace.tracing.shapes import (
        layer_shapes as layer_shapes,
    )
    from rnntrace.tracing.steps import (
        explain_steps as explain_steps,
    )
    from rnntrace.train import (
        History as History,
    )
    from rnntrace.train import (
        evaluate as evaluate,
    )
    from rnntrace.train import (
        fit as fit,
    )


def __getattr__(name: str) -> Any:
    if name == "lightning":  # the optional Lightning callback, a submodule
        return importlib.import_module("rnntrace.lightning")
    if name in _RENAMED:
        from rnntrace._deprecated import warn_renamed

        warn_renamed(f"rnntrace.{name}", f"rnntrace.{_RENAMED[name]}")
        return __getattr__(_RENAMED[name])
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnntrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
