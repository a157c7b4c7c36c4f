"""A trained model's Trace and Explanation, and a whole fit kept in memory (the estimators').

run_experiment (pipeline.py) and the estimators (rnntrace.sklearn) end a fit the same way,
through trace_and_explain; the estimators keep everything in memory and write no run
directory, so that a GridSearchCV's hundred fits leave nothing behind.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, replace
from typing import Any

import torch

from rnntrace.config.settings import DataConfig, ModelConfig, RunConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset
from rnntrace.data.targets import require_spread
from rnntrace.data.vocabulary import Vocabulary
from rnntrace.experiment.assemble import assemble_trace, describe
from rnntrace.experiment.heads import assemble_head_trace
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import Choice, History, Trace
from rnntrace.records.explanation import Explanation
from rnntrace.train.fit import fit
from rnntrace.train.loop import intra_op_threads
from rnntrace.train.split import Split, shown_part, split


@dataclass
class Traced:
    """A model trained in memory, with its settings, History, Trace and Explanation."""

    model: SequenceClassifier
    config: RunConfig
    history: History
    trace: Trace
    explanation: Explanation | None


def train_in_memory(
    data: SequenceSet, model_config: ModelConfig, train_config: TrainConfig,
    *, choice: Choice | None = None,
) -> Traced:
    """What run_experiment does, without a run directory: split, fit (averaged when the
    settings say so), trace and explain; `choice` (train.search) is stored in the trace."""
    started = time.time()
    require_spread(data)
    parts = split(data, None, train_config)
    model = SequenceClassifier.from_config(model_config, seed=train_config.seed)
    config = RunConfig(model_config, train_config, data_config(data, parts))
    history = fit(model, parts, config=train_config, checkpoints=None)
    trace, explanation = trace_and_explain(model, data, parts, config, history)
    trace.choice = choice
    trace.meta = fit_meta(history, started)
    return Traced(model, config, history, trace, explanation)


def trace_and_explain(
    model: SequenceClassifier, data: SequenceSet, parts: Split, config: RunConfig,
    history: History, *, test: SequenceSet | None = None,
) -> tuple[Trace, Explanation | None]:
    """The Trace of a model `fit` has trained on `parts`, and its Explanation (numeric input)."""
    with intra_op_threads(history.threads):
        if config.model.task == "classify":
            trace = assemble_trace(model, data, history, config=config,
                                   held_out=parts.held_out, test=test)
        else:  # a number or a label per step: the head's own trace (heads.py)
            trace = assemble_head_trace(model, data, history, config=config, train=parts.train,
                                        held_out=parts.held_out, test=test)
        # Text: the attribution is per token, over embedding vectors, in trace.tokens; the
        # (step, feature) explanation reads numeric inputs and is not made for token ids; the
        # other heads attribute their own outputs in their trace.
        explanation = None if config.model.vocab_size or config.model.task != "classify" \
            else explain_held_out(model, parts.train, parts.held_out, config.train.batch_size)
    trace.averaging = history.averaging
    return trace, explanation


def explain_held_out(
    model: SequenceClassifier,
    train: SequenceSet | RowSubset,
    held_out: SequenceSet | RowSubset | None,
    batch_size: int,
) -> Explanation:
    """The explanation of the traced sequence and of the held-out set the trace shows."""
    from rnntrace.attribution.explanation import explain, explained_limit

    limit = explained_limit(batch_size)
    # The baselines drawn from the data come from the training part, as the run trained on.
    return explain(model, shown_part(train, held_out, limit),
                   baselines=shown_part(train, None, limit))


def data_config(
    data: SequenceSet, parts: Split, read_options: dict[str, Any] | None = None,
    vocabulary: Vocabulary | None = None,
) -> DataConfig:
    """The data settings saved with the run: the set described, its statistics, how it was read."""
    return replace(
        describe(data),
        feature_mean=[float(v) for v in parts.mean],
        feature_std=[float(v) for v in parts.std],
        read_options=dict(read_options or {}),
        vocabulary=vocabulary.to_dict() if vocabulary is not None else {},
    )


def fit_meta(history: History, started: float) -> dict[str, Any]:
    """The run-specific facts of a trace: when, how fast, on what (a run adds its path)."""
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 3),
        "train_seconds": [round(s, 4) for s in history.train_seconds],
        "seqs_per_s": [round(s, 1) for s in history.seqs_per_s],
        "threads": history.threads,
        "device": history.device,
        "world_size": history.world_size,
        "stop_reason": history.stop_reason,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
