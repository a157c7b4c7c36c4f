"""Training from files, as `rnntrace train` does: the Python entry point of that command.

Read the training file (and a validation and test file) → choose the settings left open on
held-out training data (numbers) or the epochs (text) → train, trace, write the run directory
and its report. Every setting is named as the command line names it (config/options.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnntrace.config.options import (
    SETTINGS,
    check_names,
    choosable_fields,
    fields,
    refuse_beside_resume,
)
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.compatible import check_compatible
from rnntrace.data.readers import read
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.targets import require_spread
from rnntrace.data.text import is_text_source, read_splits
from rnntrace.errors import ConfigError, note
from rnntrace.experiment.live import link_report
from rnntrace.experiment.pipeline import run_experiment
from rnntrace.records import Choice, EpochEnd
from rnntrace.run.directory import Run, check_out
from rnntrace.run.files import REPORT
from rnntrace.run.report import write_report
from rnntrace.train import checkpoint
from rnntrace.train.distributed import from_env
from rnntrace.train.refit import choose_epochs
from rnntrace.train.search import PRESETS, SearchProgress, choose
from rnntrace.train.text_search import choose_text

# The lesson's settings: what `preset="lesson"` trains with and what a setting left open means
# there (the command line shows these as its defaults).
LESSON: dict[str, Any] = {
    "cell": "rnn", "nonlinearity": "tanh", "hidden": 8, "layers": 1, "bidirectional": False,
    "dropout": 0.0, "proj_size": 0, "summary": "last", "front_end": "none", "window": 1,
    "resample": 0, "smoothing": 0.0, "embedding_dim": 32, "embedding_dropout": 0.0, "epochs": 5,
    "batch_size": 32,
    "lr": 0.01, "lr_schedule": "none", "val_fraction": 0.2, "seed": 0, "threads": None,
    "device": "cpu", "clip": 1.0, "patience": None,
}
# Text with no flags: a char GRU with an embedding, early-stopped on held-out loss (the best
# epoch's weights kept); 0.80 test accuracy on the Surnames tutorial data (README).
TEXT_DEFAULTS: dict[str, Any] = {"cell": "gru", "hidden": 128, "epochs": 30, "lr": 0.003,
                                 "patience": 5, "embedding_dropout": 0.3}


def train_from_files(
    data: str | Path,
    *,
    test: str | Path | None = None,
    val: str | Path | None = None,
    preset: str | None = None,
    label: str | list[str] = "label",
    id: str = "id",
    time: str = "time",
    features: list[str] | None = None,
    nan: str = "error",
    text: str | None = None,
    tokens: str = "char",
    ascii: bool = False,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    tensorboard: str | Path | None = None,
    task: str | None = None,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    on_search: Callable[[SearchProgress], Any] | None = None,
    on_choice: Callable[[Choice], Any] | None = None,
    jobs: int | None = None,
    live: bool = False,
    on_start: Callable[[Path], Any] | None = None,
    **settings: Any,
) -> Run:
    """Train on the sequences in `data` and trace the model, as `rnntrace train DATA` does.

    `settings` are the command line's settings by name (`cell="gru"`, `hidden=32`, `epochs=20`;
    config/options.py lists them). Numeric series: those left open are chosen on held-out
    training sequences (`preset="auto"`, the default), or are the lesson's (`preset="lesson"`).
    Text (a folder of `<class>.txt`, a .txt file, or a table with `text=COLUMN`) gets its own
    defaults and its epochs chosen on a held-out split. Every input is read and checked before
    anything is written. Returns the Run; its directory holds the trace, weights and report.html.
    `jobs` trains the no-flag choice's candidates in that many processes (train/search.py).
    `live` and `on_start` are run_experiment's (the live page, and the run directory named as
    soon as it exists).

    `task` (config/task.py): classify, regress (a number per sequence) or steps (a label per
    step); None decides from the labels (data.readers.read) and notes what it decided and why.
    """
    check_names(settings)
    data, out = Path(data), None if out is None else Path(out)
    resume = None if resume is None else Path(resume)
    tensorboard = None if tensorboard is None else Path(tensorboard)
    val_path, test_path = (None if p is None else Path(p) for p in (val, test))
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}: choose {' or '.join(PRESETS)}")
    if out is not None and resume is None:
        check_out(out)  # before minutes of search and training, not after them
    if is_text_source(data, text):
        if not isinstance(label, str):
            raise ConfigError("text is classified by one label column; name one with --label")
        if resume is not None:
            raise ConfigError("--resume is not available for text runs yet; start again")
        return _train_text(data, val_path, test_path, settings, text=text, label=label,
                           tokens=tokens, ascii=ascii, out=out, tensorboard=tensorboard,
                           on_epoch_end=on_epoch_end, preset=preset, on_search=on_search,
                           on_choice=on_choice, live=live, on_start=on_start)
    if resume is not None:
        refuse_beside_resume([*settings, *(["preset"] if preset is not None else [])])
    options: dict[str, Any] = {"label": label, "id": id, "time": time, "features": features,
                               "nan": nan}
    train_set = read(data, **options, task=task)
    if train_set.task_note:
        note(train_set.task_note)
    val_set = None if val_path is None else check_compatible(
        train_set, read(val_path, **options, min_classes=1, task=train_set.task), "validation")
    test_set = None if test_path is None else check_compatible(
        train_set, read(test_path, **options, min_classes=1, task=train_set.task), "test")
    note_dropped(train_set, val_set, test_set)
    choice = None
    if resume is not None:  # every setting comes from the killed run's checkpoint
        model_config, train_config = checkpoint.configs(checkpoint.load_latest(resume, out))
    else:
        model_config, train_config, choice = choose_settings(
            train_set, settings, preset=preset, val=val_set, on_search=on_search, jobs=jobs)
        if choice is not None and on_choice is not None:
            on_choice(choice)
    return _run(lambda: run_experiment(
        train_set, model_config, train_config, val=val_set, test=test_set, out=out,
        command="train", on_epoch_end=on_epoch_end, read_options=options, resume=resume,
        tensorboard=tensorboard, choice=choice, live=live, on_start=on_start,
    ))


def note_dropped(*sets: SequenceSet | None) -> None:
    """Say which sequences `nan="drop"` left out: leaving data out silently would mislead."""
    for data in sets:
        if data is not None and data.dropped:
            shown = ", ".join(map(repr, data.dropped[:5])) + (", …" if len(data.dropped) > 5
                                                              else "")
            total = len(data) + len(data.dropped)
            note(f"{data.source}: --nan drop left out {len(data.dropped)} of {total} sequences "
                 f"(ids {shown})")


def choose_settings(
    train_set: SequenceSet, settings: dict[str, Any], *, preset: str | None = None,
    val: SequenceSet | None = None, on_search: Callable[[SearchProgress], Any] | None = None,
    jobs: int | None = None,
) -> tuple[ModelConfig, TrainConfig, Choice | None]:
    """The settings `rnntrace train` trains numeric series with: the given ones, the lesson's
    for the rest, and with preset auto (the default) the choosable ones left open chosen on
    held-out training data (train/search.py; `jobs` processes). The choice, when there was one.
    """
    require_spread(train_set)  # before a search spends minutes on a target with no spread
    model_config, train_config = _configs(train_set, LESSON | settings)
    if preset not in (None, "auto"):
        return model_config, train_config, None
    return _choose(train_set, val, train_config, settings, on_search, jobs)


def _configs(train_set: SequenceSet, settings: dict[str, Any],
             **model: Any) -> tuple[ModelConfig, TrainConfig]:
    model_fields = fields(settings, "model") | model
    if not model_fields.get("vocab_size"):  # the embedding settings belong to text runs
        model_fields.pop("embedding_dim", None)
        model_fields.pop("embedding_dropout", None)
    shape: dict[str, Any] = {"n_features": train_set.n_features,
                             "n_classes": train_set.n_classes, "task": train_set.task,
                             "n_targets": max(1, train_set.n_targets)}
    model_config = ModelConfig(**(shape | model_fields))
    return model_config, TrainConfig(**fields(settings, "train"))


def _choose(train_set: SequenceSet, val_set: SequenceSet | None, base: TrainConfig,
            given: dict[str, Any], on_search: Callable[[SearchProgress], Any] | None,
            jobs: int | None = None) -> tuple[ModelConfig, TrainConfig, Choice]:
    """Choose the settings the user left open (train/search.py)."""
    engine = {"threads": base.threads, "device": base.device,
              "clip_grad_norm": base.clip_grad_norm}
    model_config, train_config, choice = choose(
        train_set, choosable_fields(given), seed=base.seed, val=val_set,
        val_fraction=base.val_fraction, on_progress=on_search, n_jobs=jobs, **engine,
    )
    if "patience" in given:
        train_config = dataclasses.replace(train_config, patience=base.patience)
    return model_config, train_config, choice


def _train_text(data: Path, val: Path | None, test: Path | None, given: dict[str, Any], *,
                text: str | None, label: str, tokens: str, ascii: bool, out: Path | None,
                tensorboard: Path | None, on_epoch_end: Callable[[EpochEnd], Any] | None,
                preset: str | None = None,
                on_search: Callable[[SearchProgress], Any] | None = None,
                on_choice: Callable[[Choice], Any] | None = None,
                live: bool = False, on_start: Callable[[Path], Any] | None = None) -> Run:
    """A text run: with the preset "auto" (the default) the settings not given chosen on held-out
    texts (train/text_search.py); with "lesson" the text defaults, the epochs chosen."""
    splits = read_splits(data, val=val, test=test, text=text, label=label, tokens=tokens,
                         ascii=ascii)
    for message in splits.notes:
        note(message)
    settings = LESSON | TEXT_DEFAULTS | given
    model_config, train_config = _configs(
        splits.train, settings, n_features=1, vocab_size=len(splits.vocabulary))
    choice = None
    if preset in (None, "auto"):
        user = {SETTINGS[name].field: value for name, value in given.items()
                if (name in SETTINGS and SETTINGS[name].section == "model")
                or name in ("epochs", "batch_size", "lr", "lr_schedule")}
        model_config, train_config, choice = choose_text(
            splits.train, user, vocab_size=len(splits.vocabulary), seed=train_config.seed,
            val=splits.val, val_fraction=train_config.val_fraction, on_progress=on_search,
            threads=train_config.threads, device=train_config.device,
            clip_grad_norm=train_config.clip_grad_norm)
        if "patience" in given:
            train_config = dataclasses.replace(train_config, patience=given["patience"])
        if on_choice is not None:
            on_choice(choice)
    elif "epochs" not in given and splits.val is None and train_config.val_fraction > 0:
        # Epochs chosen on a held-out split, then every training example used (refit.py).
        note("choosing the number of epochs on a held-out split…")
        picked = choose_epochs(model_config, splits.train, train_config)
        note(picked.note())
        train_config = dataclasses.replace(train_config, epochs=picked.epochs, val_fraction=0.0,
                                           patience=None)
    text_options = {"text": text, "label": label, "tokens": tokens, "ascii": ascii}
    return _run(lambda: run_experiment(
        splits.train, model_config, train_config, val=splits.val, test=splits.test, out=out,
        command="train", on_epoch_end=on_epoch_end, read_options=text_options,
        tensorboard=tensorboard, vocabulary=splits.vocabulary, choice=choice, live=live,
        on_start=on_start,
    ))


def _run(start: Callable[[], Run]) -> Run:
    """Train, then write the report beside the trace (rank 0 only under torchrun)."""
    run = start()
    if from_env().is_main and run.trace is not None:
        write_report(run.trace, run.path / REPORT, explanation=run.explanation)
        link_report(run.path)  # a watched run's page names the report, now beside it
    return run
