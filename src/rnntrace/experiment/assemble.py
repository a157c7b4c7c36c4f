"""A Trace assembled from a model, a batch of sequences and, optionally, its training History.

Every number comes from the model's own methods (standardize, last_hidden, summarize, head)
and the tracing functions beside this module; nothing here re-implements the model. Which
sequences each part follows:

    stages, module calls  the batch itself (one batch of it when large or memory-mapped)
    prediction, steps     the first held-out sequence (the batch's first without held_out)
    dynamics              up to max(batch_size, 256) held-out sequences
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnntrace.attribution.embedding import embedding_attribution
from rnntrace.config.settings import DataConfig, RunConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset, is_memory_mapped, read_rows
from rnntrace.data.vocabulary import Vocabulary
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.quiz import make_quiz
from rnntrace.quiz.embedding import text_quiz
from rnntrace.records import Dynamics, History, Question, TestReport, Trace
from rnntrace.tracing.dataflow import trace_stages
from rnntrace.tracing.dynamics import hidden_dynamics
from rnntrace.tracing.hooks import trace_modules
from rnntrace.tracing.insight import write_insight
from rnntrace.tracing.prediction import trace_prediction, trace_steps
from rnntrace.tracing.tokens import token_trace
from rnntrace.train.loop import predict_logits
from rnntrace.train.observations import observe_forgetting
from rnntrace.train.scores import score
from rnntrace.train.split import shown_part

# The stages run the whole batch through the model when it is this small (the lesson's
# 1000 × 10 × 5 is), else its first training batch, so the shapes shown are ones the model saw.
_STAGES_MAX_VALUES = 5_000_000
_DYNAMICS_MIN_SEQUENCES = 256  # enough to average over, still quick
QUIZ_QUESTIONS = 10  # stored in the trace, for the report


def model_inputs(model: SequenceClassifier, data: SequenceSet) -> tuple[Tensor, Tensor | None]:
    """`data` as the model reads it: x on the model's device in its layout, and the lengths.

    x is (B, T, F) with batch_first, else (T, B, F); lengths (B,) is None when every sequence
    fills all T steps. The values are copied, so a read-only memory map is never shared.
    """
    device = next(model.parameters()).device
    x = torch.tensor(np.asarray(data.values), device=device)  # (B, T, F)
    if not model.config.batch_first:
        x = x.transpose(0, 1)  # (T, B, F)
    lengths = None if data.equal_length else torch.from_numpy(data.lengths).to(device)
    return x, lengths


def describe(data: SequenceSet) -> DataConfig:
    """The data settings of a batch traced without a run (no statistics, no read options)."""
    return DataConfig(
        source=data.source,
        n_sequences=len(data),
        max_length=data.max_length,
        n_features=data.n_features,
        class_names=list(data.class_names),
        feature_names=list(data.feature_names),
        target_names=list(data.target_names),
    )


def assemble_trace(
    model: SequenceClassifier,
    batch: SequenceSet,
    history: History | None = None,
    *,
    config: RunConfig | None = None,
    held_out: SequenceSet | RowSubset | None = None,
    test: SequenceSet | None = None,
) -> Trace:
    """The Trace of `model` on `batch`: stages, module calls, prediction, steps, dynamics, quiz.

    `history` fills the training section; `held_out` gives the sequences the prediction and
    dynamics follow (default: `batch`); `test` is scored into `Trace.test`. `config` is the
    run's settings (default: the model's, with the batch described as data).
    """
    if config is None:
        config = RunConfig(model=model.config, data=describe(batch))
    if model.config.task != "classify":  # its own head: experiment/heads.py traces it
        raise ConfigError(f"assemble_trace traces a classifier; a {model.config.task} model's "
                          "trace is experiment.heads.assemble_head_trace")
    batch_size = config.train.batch_size
    x, lengths = model_inputs(model, _stages_sample(batch, batch_size))
    shown = shown_part(batch, held_out, batch_size)  # the first held-out batch, in memory
    prediction = trace_prediction(model, shown, 0)
    steps, recomputation = trace_steps(model, shown, 0)
    records = history.records if history is not None else []
    dynamics = _dynamics(model, shown, batch_size)
    forgetting = observe_forgetting(records, dynamics.grad_norm[0], model.config.n_classes,
                                    model.config.summary)
    if forgetting is not None:  # a run-level diagnosis, said where training ends
        records[-1].observation += " " + forgetting
    layout = (int(x.shape[0]), int(x.shape[1]), int(x.shape[2]))
    vocabulary = (Vocabulary.from_dict(config.data.vocabulary) if config.data.vocabulary
                  else None)
    if vocabulary is not None:  # text: name the token each step reads
        prediction.tokens = vocabulary.decode([int(v[0]) for v in prediction.inputs])
    return Trace(
        config=config,
        stages=trace_stages(model, x, lengths),
        training=records,
        prediction=prediction,
        insight=write_insight(model.config, records, prediction, config.data.n_sequences,
                              config.data.max_length),
        test=score_test(model, test) if test is not None else None,
        module_calls=trace_modules(model, x, lengths),
        steps=steps,
        recomputation=recomputation,
        dynamics=dynamics,
        quiz=_quiz(model, config.train.seed, layout),
        tokens=token_trace(model, shown, vocabulary, attribute=embedding_attribution,
                           held_out=held_out is not None)
        if vocabulary is not None else None,
    )


def _quiz(model: SequenceClassifier, seed: int, layout: tuple[int, int, int]) -> list[Question]:
    """The run's questions; a text model's start with its Embedding (rnntrace.quiz.embedding)."""
    cfg = model.config
    if not cfg.vocab_size:
        return make_quiz(cfg, n=QUIZ_QUESTIONS, seed=seed, input_shape=layout)
    batch, steps = (layout[0], layout[1]) if cfg.batch_first else (layout[1], layout[0])
    return text_quiz(cfg, n=QUIZ_QUESTIONS, seed=seed, batch=batch, steps=steps)


def score_test(model: SequenceClassifier, test: SequenceSet) -> TestReport:
    """Accuracy, per-class scores and the confusion matrix on a test set."""
    logits = predict_logits(model, test)  # (N, C)
    labels = torch.from_numpy(test.labels)
    loss = float(torch.nn.functional.cross_entropy(logits, labels))
    return score(test.labels, logits.argmax(1).numpy(), list(test.class_names), loss)


def _dynamics(model: SequenceClassifier, data: SequenceSet, batch_size: int) -> Dynamics:
    """Hidden-state dynamics over the first held-out sequences."""
    sample = data.subset(np.arange(min(len(data), max(batch_size, _DYNAMICS_MIN_SEQUENCES))))
    x, lengths = model_inputs(model, sample)
    labels = torch.from_numpy(sample.labels).to(x.device)
    return hidden_dynamics(model, x, labels, lengths)


def _stages_sample(data: SequenceSet, batch_size: int) -> SequenceSet:
    if is_memory_mapped(data.values):  # one batch, read into (writable) memory
        return read_rows(data, np.arange(min(batch_size, len(data))))
    if data.values.size <= _STAGES_MAX_VALUES:
        return data
    return data.subset(np.arange(min(batch_size, len(data))))
