"""Training that ends in a Trace: fit, the averaged epochs, then the trace and explanation.

The one sequence both a run directory (experiment.run_experiment, which also logs, checkpoints
and saves) and an estimator kept in memory (rnntrace.sklearn, which writes nothing) go through,
so that a model fitted either way is trained, averaged and traced alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from rnntrace.attribution.records import Explanation
from rnntrace.averaging import SWA_LR, averaged_continuation
from rnntrace.checkpoint import Checkpoint
from rnntrace.config import RunConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset
from rnntrace.model import SequenceClassifier
from rnntrace.records import Averaging, EpochEnd, History, Trace
from rnntrace.tracing.assemble import assemble_trace
from rnntrace.train import Split, evaluate, fit, intra_op_threads

# What receives each epoch: (end) for training, (end, phase="averaging") for the averaged ones.
EpochLog = Callable[..., None]


@dataclass
class Traced:
    """A trained model with its History, Trace and (numeric input) Explanation."""

    model: SequenceClassifier
    history: History
    trace: Trace
    explanation: Explanation | None


def new_model(config: RunConfig) -> SequenceClassifier:
    """A fresh model whose initial weights come from the run's seed."""
    torch.manual_seed(config.train.seed)  # initial weights
    return SequenceClassifier.from_config(config.model)


def train_traced(
    model: SequenceClassifier,
    data: SequenceSet,
    parts: Split,
    config: RunConfig,
    *,
    test: SequenceSet | None = None,
    log: EpochLog | None = None,
    checkpoints: Path | None = None,
    resume: Checkpoint | None = None,
) -> Traced:
    """Train `model` on `parts`, end on averaged weights when `config.train.average_epochs`
    asks for them (Trace.averaging holds those epochs), then trace and explain it."""
    train_config = config.train
    more = train_config.average_epochs

    def training_log(end: EpochEnd) -> None:
        if log is not None:
            log(replace(end, epochs=end.epochs + more))  # the averaging's epochs are planned too

    def averaging_log(end: EpochEnd) -> None:
        if log is not None:
            log(end, phase="averaging")

    history = fit(model, parts, config=train_config, on_epoch_end=training_log,
                  checkpoints=checkpoints, resume=resume)
    averaging = None
    if more and history.stop_reason is None:
        # In the run's settings, so a resumed run ends the same way as an unbroken one.
        continued = averaged_continuation(
            model, parts.train, train_config, averaging_log,
            after=history.records[-1].epoch if history.records else 0)
        if continued.stop_reason is None:
            loss, accuracy = evaluate(model, parts.train, train_config.batch_size)
            averaging = Averaging(SWA_LR, continued.records, loss, accuracy)
    with intra_op_threads(history.threads):
        trace = assemble_trace(model, data, history, config=config,
                               held_out=parts.held_out, test=test)
        # Text: the attribution is per token, over embedding vectors, in trace.tokens; the
        # (step, feature) explanation reads numeric inputs and is not made for token ids.
        explanation = None if config.model.vocab_size else explain_held_out(
            model, parts.train, parts.held_out, train_config.batch_size)
    trace.averaging = averaging
    return Traced(model, history, trace, explanation)


def explain_held_out(
    model: SequenceClassifier,
    train: SequenceSet | RowSubset,
    held_out: SequenceSet | RowSubset | None,
    batch_size: int,
) -> Explanation:
    """The explanation of the traced sequence and of the held-out set the trace shows."""
    from rnntrace.attribution.explanation import MAX_SEQUENCES, explain

    shown = held_out if held_out is not None else train
    if isinstance(shown, RowSubset):
        shown = shown.head(max(batch_size, MAX_SEQUENCES))
    return explain(model, shown)


__all__ = ["EpochLog", "Traced", "explain_held_out", "new_model", "train_traced"]
