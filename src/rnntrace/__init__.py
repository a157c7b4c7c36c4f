"""rnntrace: build, train, trace and explain recurrent sequence models in PyTorch: a class
or a number per sequence, or a label per step."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names and the module each lives in. They load on first use, so that `import rnntrace`
# (and with it `rnntrace --help`) does not pay for importing torch.
_EXPORTS = {
    "ModelConfig": "rnntrace.config.settings",
    "TrainConfig": "rnntrace.config.settings",
    "RunConfig": "rnntrace.config.settings",
    "SequenceSet": "rnntrace.data.sequences",
    "lesson": "rnntrace.data.synthetic",
    "read": "rnntrace.data.readers",
    "SequenceClassifier": "rnntrace.model.classifier",
    "fit": "rnntrace.train.fit",
    "evaluate": "rnntrace.train.loop",
    "History": "rnntrace.train.loop",
    "observe": "rnntrace.train.observations",
    "Trace": "rnntrace.records",
    "ModuleCalls": "rnntrace.records",
    "Question": "rnntrace.records",
    "assemble_trace": "rnntrace.experiment.assemble",
    "trace_stages": "rnntrace.tracing.dataflow",
    "trace_prediction": "rnntrace.tracing.prediction",
    "trace_modules": "rnntrace.tracing.hooks",
    "trace": "rnntrace.tracing.generic",
    "Recorder": "rnntrace.experiment.recorder",
    "report": "rnntrace.run.report",
    "watch": "rnntrace.render.watch",
    "compare": "rnntrace.experiment.comparison",
    "Comparison": "rnntrace.records.comparison",
    "recompute": "rnntrace.tracing.equations",
    "explain_steps": "rnntrace.tracing.steps",
    "explain_call": "rnntrace.tracing.explain",
    "checked": "rnntrace.tracing.explain",
    "layer_shapes": "rnntrace.tracing.shapes",
    "hidden_dynamics": "rnntrace.tracing.dynamics",
    "make_quiz": "rnntrace.quiz",
    "run_experiment": "rnntrace.experiment.pipeline",
    "run_lesson": "rnntrace.experiment.pipeline",
    "Run": "rnntrace.run.directory",
    "load_run": "rnntrace.run.directory",
    "read_trace": "rnntrace.run.files",
    "predict": "rnntrace.experiment.predict",
    "train_from_files": "rnntrace.experiment.from_files",
    "RnnTraceError": "rnntrace.errors",
    "read_text": "rnntrace.data.text",
    "Vocabulary": "rnntrace.data.vocabulary",
    "letters_lesson": "rnntrace.data.letters",
    "run_text_lesson": "rnntrace.experiment.pipeline",
    "predict_texts": "rnntrace.experiment.inference_text",
    "attribute": "rnntrace.attribution.integrated",
    "explain": "rnntrace.attribution.explanation",
    "explain_run": "rnntrace.attribution.source",
    "planted_signal": "rnntrace.attribution.planted",
    "planted_self_test": "rnntrace.attribution.planted",
    "Explanation": "rnntrace.records.explanation",
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
    "train_from_files",
    "watch",
]

if TYPE_CHECKING:
    from rnntrace.attribution.explanation import explain as explain
    from rnntrace.attribution.integrated import attribute as attribute
    from rnntrace.attribution.planted import planted_self_test as planted_self_test
    from rnntrace.attribution.planted import planted_signal as planted_signal
    from rnntrace.attribution.source import explain_run as explain_run
    from rnntrace.config.settings import (
        ModelConfig as ModelConfig,
    )
    from rnntrace.config.settings import (
        RunConfig as RunConfig,
    )
    from rnntrace.config.settings import (
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
    from rnntrace.experiment.assemble import (
        assemble_trace as assemble_trace,
    )
    from rnntrace.experiment.comparison import compare as compare
    from rnntrace.experiment.from_files import (
        train_from_files as train_from_files,
    )
    from rnntrace.experiment.inference_text import (
        predict_texts as predict_texts,
    )
    from rnntrace.experiment.pipeline import (
        run_experiment as run_experiment,
    )
    from rnntrace.experiment.pipeline import (
        run_lesson as run_lesson,
    )
    from rnntrace.experiment.pipeline import (
        run_text_lesson as run_text_lesson,
    )
    from rnntrace.experiment.predict import (
        predict as predict,
    )
    from rnntrace.experiment.recorder import (
        Recorder as Recorder,
    )
    from rnntrace.model.classifier import (
        SequenceClassifier as SequenceClassifier,
    )
    from rnntrace.quiz import (
        make_quiz as make_quiz,
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
    from rnntrace.records.comparison import Comparison as Comparison
    from rnntrace.records.explanation import Explanation as Explanation
    from rnntrace.render.watch import watch as watch
    from rnntrace.run.directory import (
        Run as Run,
    )
    from rnntrace.run.directory import (
        load_run as load_run,
    )
    from rnntrace.run.files import (
        read_trace as read_trace,
    )
    from rnntrace.run.report import (
        report as report,
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
    from rnntrace.train.fit import (
        fit as fit,
    )
    from rnntrace.train.loop import (
        History as History,
    )
    from rnntrace.train.loop import (
        evaluate as evaluate,
    )
    from rnntrace.train.observations import (
        observe as observe,
    )


def __getattr__(name: str) -> Any:
    if name == "lightning":  # the optional Lightning callback, a submodule
        return importlib.import_module("rnntrace.experiment.lightning")
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
