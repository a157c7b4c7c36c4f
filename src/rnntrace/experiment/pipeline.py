"""An experiment end to end, wiring only: data → fit → trace → run directory.

The split and the standardisation statistics are fit's (train.split); the Trace and the
Explanation come from traced.trace_and_explain (shared with the estimators, which keep a fit in
memory: traced.train_in_memory); the run directory is written by rnntrace.run.directory. The
HTML report is the
caller's step (the CLI writes it beside the trace; `rnntrace report RUN` rewrites it).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rnntrace.attribution.source import save_explanation
from rnntrace.config.settings import ModelConfig, RunConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.targets import require_spread
from rnntrace.data.vocabulary import Vocabulary
from rnntrace.errors import ConfigError, DataError
from rnntrace.experiment.assemble import QUIZ_QUESTIONS, score_test
from rnntrace.experiment.live import LivePage
from rnntrace.experiment.traced import (
    data_config,
    explain_held_out,
    fit_meta,
    trace_and_explain,
)
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import Choice, EpochEnd, History
from rnntrace.run.directory import METRICS, MetricsLog, Run, new_run_path, remove_partial, save_run
from rnntrace.train import checkpoint, distributed
from rnntrace.train.fit import fit
from rnntrace.train.split import shown_part, split
from rnntrace.train.tensorboard import TensorBoardLog

__all__ = [
    "QUIZ_QUESTIONS", "Run", "explain_held_out", "run_experiment", "run_lesson", "run_meta",
    "run_text_lesson",
    "score_test",
]


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
    vocabulary: Vocabulary | None = None,
    choice: Choice | None = None,
    live: bool = False,
    on_start: Callable[[Path], Any] | None = None,
) -> Run:
    """Train on `data`, trace the result and write the run directory (removed again on failure).

    `val` replaces the held-out split; `test` is scored once at the end. Both must use the
    class names of `data` in the same order. `resume` continues the killed run in that
    directory from its last checkpoint (the settings must match the checkpoint's; see
    checkpoint.configs). `tensorboard` also writes event files. `vocabulary`: a text run's
    (rnntrace.data.text), saved with the run and used to show its tokens.
    `choice` (choose.choose) is stored in the trace. With `train_config.average_epochs` (the
    no-flag defaults set it) the model then ends on averaged weights
    (averaging.averaged_continuation, as each candidate was scored); those epochs continue the
    run's metrics.jsonl (phase "averaging"), TensorBoard and `on_epoch_end`, and the trace holds
    them and the mean weights' training scores (Trace.averaging).
    `live` writes the run's live page (rnntrace.live: live.html, brought up to date as each
    epoch ends); stopped by Ctrl-C, such a run keeps its directory, page and checkpoint.
    `on_start(path)` is called once the run directory exists, before the first epoch.
    """
    started = time.time()
    if live and model_config.task != "classify":
        raise ConfigError(f"--live watches classifiers (its page shows class probabilities); "
                          f"a {model_config.task} run trains without it")
    if data.task == "regress":
        require_spread(data)
    elif data.n_classes < 2 or np.count_nonzero(data.class_counts()) < 2:
        raise DataError(f"{data.source}: only one class present; a classifier needs at least two")
    parts = split(data, val, train_config)
    model = SequenceClassifier.from_config(model_config, seed=train_config.seed)
    config = RunConfig(model_config, train_config,
                       data_config(data, parts, read_options, vocabulary))

    # Where the run lives: a resumed run continues in its own directory; only rank 0 writes.
    world = distributed.from_env()
    state = checkpoint.load_latest(resume, out) if resume is not None else None
    if resume is not None:
        path = resume
    elif world.is_main:
        path = new_run_path(out, command)
    else:
        path = out or Path("runs") / command  # never written: only rank 0 writes
    created = not path.exists()
    board = TensorBoardLog(tensorboard) if tensorboard is not None and world.is_main else None
    page: LivePage | None = None
    try:
        if live and world.is_main:
            page = LivePage(path, model, shown_part(parts.train, parts.held_out,
                                                    train_config.batch_size), config)
        log = _epoch_log(path, state, board, on_epoch_end, world.is_main, page)
        if on_start is not None and world.is_main:
            on_start(path)
        # With train_config.average_epochs (in the run's settings, so a resumed run ends as an
        # unbroken one) fit ends on averaged weights; those epochs are logged as "averaging".
        history = fit(model, parts, config=train_config, checkpoints=path / checkpoint.CHECKPOINTS,
                      resume=state, on_epoch_end=lambda end: log(end, phase=end.phase))
        trace, explanation = trace_and_explain(model, data, parts, config, history, test=test)
        trace.choice = choice  # how the settings were chosen (train/search.py), when they were
        trace.meta = run_meta(path, history, started)
        if world.is_main:
            save_run(path, config, trace, model)
            if explanation is not None:
                save_explanation(path, explanation)
            # The run is complete: its checkpoints have served their purpose.
            shutil.rmtree(path / checkpoint.CHECKPOINTS, ignore_errors=True)
            if page is not None:
                page.finish("finished", history.stop_reason)
    except BaseException as exc:
        if page is not None and isinstance(exc, KeyboardInterrupt) and page.epochs:
            # Watched and stopped by hand: the page keeps showing the finished epochs, and the
            # checkpoint lets `--resume` continue.
            page.finish("stopped", "stopped by hand; --resume continues it", report=False)
        # A resumed run keeps its directory (and checkpoints) for the next attempt.
        elif created and world.is_main and resume is None:
            remove_partial(path)
        raise
    finally:
        if board is not None:
            board.close()
    return Run(path=path, config=config, model=model, trace=trace, history=history,
               explanation=explanation)


def _epoch_log(
    path: Path,
    state: checkpoint.Checkpoint | None,
    board: TensorBoardLog | None,
    on_epoch_end: Callable[[EpochEnd], Any] | None,
    is_main: bool,
    page: LivePage | None = None,
) -> Callable[..., None]:
    """The on_epoch_end that appends to metrics.jsonl (rank 0), the live page, TensorBoard and
    the caller's."""
    metrics = MetricsLog(path / METRICS) if is_main else None
    if metrics is not None and state is not None:
        # Epochs the checkpoint holds; a line written after it (killed mid-save) is dropped.
        done = History.from_dict(state.history)
        rows = zip(done.records, done.train_seconds, done.seqs_per_s, strict=True)
        for record, secs, speed in rows:
            metrics.append(asdict(record) | {"train_seconds": secs, "seqs_per_s": speed})
        if page is not None:
            page.add_earlier(done)
    if page is not None:
        page.start()

    def log_epoch(end: EpochEnd, phase: str = "training") -> None:
        if metrics is not None:
            timing = {"train_seconds": end.train_seconds, "seqs_per_s": end.seqs_per_s}
            marked = {"phase": phase} if phase != "training" else {}  # the lesson's rows as before
            metrics.append(asdict(end.record) | timing | marked)
        if page is not None:
            page(end, phase)
        if board is not None:
            board(end)
        if on_epoch_end is not None:
            on_epoch_end(end)

    return log_epoch


def run_meta(path: Path, history: History, started: float) -> dict[str, Any]:
    """The run-specific facts of a trace, the only place they are kept: where, when, how fast."""
    return {"path": str(path)} | fit_meta(history, started)


def run_lesson(
    epochs: int = 5,
    seed: int = 0,
    out: Path | None = None,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    *,
    resume: Path | None = None,
    tensorboard: Path | None = None,
    live: bool = False,
    on_start: Callable[[Path], Any] | None = None,
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
        model_config, train_config = checkpoint.configs(checkpoint.load_latest(resume, out))
    return run_experiment(
        lesson(seed=train_config.seed),
        model_config,
        train_config,
        out=out,
        command="demo",
        on_epoch_end=on_epoch_end,
        resume=resume,
        tensorboard=tensorboard,
        live=live,
        on_start=on_start,
    )


# The text lesson's model and engine: a small char GRU learns "which marker comes first".
TEXT_LESSON: dict[str, Any] = {"hidden_size": 32, "embedding_dim": 16, "cell": "gru", "epochs": 10}


def run_text_lesson(
    epochs: int = 10,  # TEXT_LESSON["epochs"]
    seed: int = 0,
    out: Path | None = None,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    live: bool = False,
    on_start: Callable[[Path], Any] | None = None,
    **train_options: Any,
) -> Run:
    """The text lesson (rnntrace.data.letters): 1200 words → Embedding → GRU(32) → 3 classes."""
    from rnntrace.data.letters import letters_lesson

    lesson = letters_lesson(seed=seed)
    model_config = ModelConfig(
        n_features=1, n_classes=lesson.data.n_classes, hidden_size=int(TEXT_LESSON["hidden_size"]),
        cell=str(TEXT_LESSON["cell"]), vocab_size=len(lesson.vocabulary),
        embedding_dim=int(TEXT_LESSON["embedding_dim"]),
    )
    train_config = TrainConfig(epochs=epochs, seed=seed, **train_options)
    return run_experiment(lesson.data, model_config, train_config, out=out, command="demo",
                          on_epoch_end=on_epoch_end, vocabulary=lesson.vocabulary, live=live,
                          on_start=on_start)



# The heads' lessons (data/head_lessons.py): a GRU of 16 learns each in a few seconds; the
# per-step one reads one direction, so it could label a stream as it arrives.
HEAD_LESSONS: dict[str, dict[str, Any]] = {
    "regress": {"hidden_size": 16, "cell": "gru", "epochs": 12, "lr": 0.01},
    "steps": {"hidden_size": 16, "cell": "gru", "epochs": 10, "lr": 0.01},
}


def run_head_lesson(
    task: str,
    epochs: int | None = None,
    seed: int = 0,
    out: Path | None = None,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    **train_options: Any,
) -> Run:
    """`rnntrace demo --task regress` (a line's slope) or `--task steps` (rising or falling
    at every step), traced as the classic lesson is."""
    from rnntrace.config.task import task_spec
    from rnntrace.data.head_lessons import slope_lesson, updown_lesson

    name = task_spec(task).name
    if name == "classify":
        return run_lesson(epochs or 5, seed, out, on_epoch_end, **train_options)
    settings = HEAD_LESSONS[name]
    data = slope_lesson(seed=seed) if name == "regress" else updown_lesson(seed=seed)
    model_config = ModelConfig(
        n_features=1, n_classes=data.n_classes, hidden_size=int(settings["hidden_size"]),
        cell=str(settings["cell"]), task=name, n_targets=max(1, data.n_targets))
    train_config = TrainConfig(epochs=epochs or int(settings["epochs"]),
                               lr=float(settings["lr"]), seed=seed, **train_options)
    return run_experiment(data, model_config, train_config, out=out, command="demo",
                          on_epoch_end=on_epoch_end)
