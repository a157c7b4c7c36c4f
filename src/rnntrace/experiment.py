"""An experiment end to end: data → split → model → fit → trace → run directory."""

from __future__ import annotations

import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnntrace import checkpoint, distributed
from rnntrace.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset, feature_stats, is_memory_mapped, read_rows
from rnntrace.errors import DataError
from rnntrace.events import TensorBoardLog
from rnntrace.model import SequenceClassifier
from rnntrace.observations import observe_forgetting
from rnntrace.quiz import make_quiz
from rnntrace.records import Choice, Dynamics, TestReport, Trace
from rnntrace.render.html import REPORT, write_report
from rnntrace.run import METRICS, MetricsLog, new_run_path, remove_partial, save_run
from rnntrace.scores import score
from rnntrace.tracing.dataflow import data_flow
from rnntrace.tracing.dynamics import hidden_dynamics
from rnntrace.tracing.hooks import trace as trace_modules
from rnntrace.tracing.insight import write_insight
from rnntrace.tracing.prediction import trace_prediction, trace_steps
from rnntrace.train import (
    EpochEnd,
    History,
    fit,
    intra_op_threads,
    predict_logits,
    split_validation,
)

# The data flow runs the whole data set through the model when it is this small (the lesson's
# 1000 × 10 × 5 is), else one training batch, so the shapes shown are ones the model really saw.
_DATAFLOW_MAX_VALUES = 5_000_000
QUIZ_QUESTIONS = 10  # stored in the trace, for the report


@dataclass
class Run:
    """A finished run: where it was written, what it was, the trained model and its trace."""

    path: Path
    config: RunConfig
    model: SequenceClassifier
    history: History
    trace: Trace


def run_experiment(
    data: SequenceSet,
    model_config: ModelConfig,
    train_config: TrainConfig,
    *,
    val: SequenceSet | None = None,
    test: SequenceSet | None = None,
    out: Path | None = None,
    command: str = "train",
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    read_options: dict[str, Any] | None = None,
    resume: Path | None = None,
    tensorboard: Path | None = None,
    choice: Choice | None = None,
) -> Run:
    """Train on `data`, trace the result and write the run directory (removed again on failure).

    `val` replaces the held-out split; `test` is scored once at the end. Both must use the
    class names of `data` in the same order. `resume` continues the killed run in that
    directory from its last checkpoint (the settings must match the checkpoint's; see
    checkpoint.configs). `tensorboard` also writes event files. `choice` (choose.choose)
    is stored in the trace.
    """
    started = time.time()
    if data.n_classes < 2 or np.count_nonzero(data.class_counts()) < 2:
        raise DataError(f"{data.source}: only one class present; a classifier needs at least two")
    train, held_out = split_validation(data, val, train_config)

    torch.manual_seed(train_config.seed)  # initial weights
    model = SequenceClassifier.from_config(model_config)
    mean, std = feature_stats(train)  # streamed in chunks when memory-mapped
    model.standardize.set_statistics(torch.from_numpy(mean), torch.from_numpy(std))
    config = RunConfig(
        model=model_config,
        train=train_config,
        data=DataConfig(
            source=data.source,
            n_sequences=len(data),
            max_length=data.max_length,
            n_features=data.n_features,
            class_names=list(data.class_names),
            feature_names=list(data.feature_names),
            feature_mean=[float(v) for v in mean],
            feature_std=[float(v) for v in std],
            read_options=dict(read_options or {}),
        ),
    )

    # Where the run lives: a resumed run continues in its own directory; only rank 0 writes.
    world = distributed.from_env()
    state = checkpoint.load_run(resume, out) if resume is not None else None
    if resume is not None:
        path = resume
    elif world.is_main:
        path = new_run_path(out, command)
    else:
        path = out or Path("runs") / command  # never written: only rank 0 writes
    created = not path.exists()
    board = TensorBoardLog(tensorboard) if tensorboard is not None and world.is_main else None
    try:
        metrics = MetricsLog(path / METRICS) if world.is_main else None
        if metrics is not None and state is not None:
            # Epochs the checkpoint holds; a line written after it (killed mid-save) is dropped.
            done = History.from_dict(state.history)
            rows = zip(done.records, done.train_seconds, done.seqs_per_s, strict=True)
            for record, secs, speed in rows:
                metrics.append(asdict(record) | {"train_seconds": secs, "seqs_per_s": speed})

        def log_epoch(end: EpochEnd) -> None:
            if metrics is not None:
                metrics.append(
                    asdict(end.record)
                    | {"train_seconds": end.train_seconds, "seqs_per_s": end.seqs_per_s}
                )
            if board is not None:
                board(end)
            if on_epoch_end is not None:
                on_epoch_end(end)

        history = fit(
            model,
            train,
            held_out,
            train_config,
            on_epoch_end=log_epoch,
            checkpoints=path / checkpoint.CHECKPOINTS,
            resume=state,
        )
        with intra_op_threads(history.threads):
            trace = build_trace(model, config, history, data, train, held_out)
            if test is not None:
                trace.test = score_test(model, test)
        trace.choice = choice  # how the settings were chosen (choose.py), when they were
        trace.meta = {
            "path": str(path),
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
        if world.is_main:
            save_run(path, config, trace, model)
            write_report(trace, path / REPORT)
            # The run is complete: its checkpoints have served their purpose.
            shutil.rmtree(path / checkpoint.CHECKPOINTS, ignore_errors=True)
    except BaseException:
        # A resumed run keeps its directory (and checkpoints) for the next attempt.
        if created and world.is_main and resume is None:
            remove_partial(path)
        raise
    finally:
        if board is not None:
            board.close()
    return Run(path=path, config=config, model=model, history=history, trace=trace)


def build_trace(
    model: SequenceClassifier,
    config: RunConfig,
    history: History,
    data: SequenceSet,
    train: SequenceSet | RowSubset,
    held_out: SequenceSet | RowSubset | None,
) -> Trace:
    """The Trace of a trained model: data flow, training history, one prediction, an insight."""
    flow_set = _dataflow_sample(data, config.train.batch_size)
    x = torch.from_numpy(np.ascontiguousarray(flow_set.values))  # (B, T, F)
    if not model.config.batch_first:
        x = x.transpose(0, 1)  # (T, B, F)
    lengths = None if flow_set.equal_length else torch.from_numpy(flow_set.lengths)
    device = next(model.parameters()).device
    x, lengths = x.to(device), lengths.to(device) if lengths is not None else None
    stages = data_flow(model, x, lengths)
    modules = trace_modules(model, x, lengths)

    shown = held_out if held_out is not None else train
    if isinstance(shown, RowSubset):
        shown = shown.head(config.train.batch_size)  # the first held-out batch, in memory
    prediction = trace_prediction(model, shown, 0)
    steps, recomputation = trace_steps(model, shown, 0)
    dynamics = _dynamics(model, shown, config.train.batch_size)
    forgetting = observe_forgetting(history.records, dynamics.grad_norm[0],
                                    model.config.n_classes, model.config.summary)
    if forgetting is not None:  # a run-level diagnosis, said where training ends
        history.records[-1].observation += " " + forgetting
    insight = write_insight(model.config, history.records, prediction, len(data), data.max_length)
    layout = tuple(int(d) for d in x.shape)
    quiz = make_quiz(model.config, n=QUIZ_QUESTIONS, seed=config.train.seed,
                     input_shape=(layout[0], layout[1], layout[2]))
    return Trace(
        config=config.to_dict() | {"threads": history.threads, "device": history.device},
        data_flow=stages,
        training=history.records,
        prediction=prediction,
        insight=insight,
        modules=modules,
        steps=steps,
        recomputation=recomputation,
        dynamics=dynamics,
        quiz=quiz,
    )


def _dynamics(model: SequenceClassifier, data: SequenceSet, batch_size: int) -> Dynamics:
    """Hidden-state dynamics over a batch of held-out sequences (enough to average, still quick)."""
    sample = data.subset(np.arange(min(len(data), max(batch_size, 256))))
    x = torch.from_numpy(np.ascontiguousarray(sample.values))  # (B, T, F)
    if not model.config.batch_first:
        x = x.transpose(0, 1)  # (T, B, F)
    lengths = None if sample.equal_length else torch.from_numpy(sample.lengths)
    device = next(model.parameters()).device
    return hidden_dynamics(
        model, x.to(device), torch.from_numpy(sample.labels).to(device),
        lengths.to(device) if lengths is not None else None,
    )


def score_test(model: SequenceClassifier, test: SequenceSet) -> TestReport:
    """Accuracy, per-class scores and the confusion matrix on a test set."""
    logits = predict_logits(model, test)  # (N, C)
    labels = torch.from_numpy(test.labels)
    loss = float(torch.nn.functional.cross_entropy(logits, labels))
    return score(test.labels, logits.argmax(1).numpy(), list(test.class_names), loss)


def _dataflow_sample(data: SequenceSet, batch_size: int) -> SequenceSet:
    if is_memory_mapped(data.values):  # one batch, read into (writable) memory
        return read_rows(data, np.arange(min(batch_size, len(data))))
    if data.values.size <= _DATAFLOW_MAX_VALUES:
        return data
    return data.subset(np.arange(min(batch_size, len(data))))


def run_lesson(
    epochs: int = 5,
    seed: int = 0,
    out: Path | None = None,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    *,
    resume: Path | None = None,
    tensorboard: Path | None = None,
    **train_options: Any,
) -> Run:
    """The classic lesson: 1000 × 10 × 5 synthetic sequences → RNN(8) → Linear → 3 classes.

    `train_options` set other TrainConfig fields (threads, device, clip_grad_norm, patience,
    lr_schedule); with `resume`, every setting comes from the run's checkpoint instead.
    """
    from rnntrace.data.synthetic import lesson

    model_config, train_config = ModelConfig(), TrainConfig(
        epochs=epochs, seed=seed, **train_options
    )
    if resume is not None:
        model_config, train_config = checkpoint.configs(checkpoint.load_run(resume, out))
    return run_experiment(
        lesson(seed=train_config.seed),
        model_config,
        train_config,
        out=out,
        command="demo",
        on_epoch_end=on_epoch_end,
        resume=resume,
        tensorboard=tensorboard,
    )
