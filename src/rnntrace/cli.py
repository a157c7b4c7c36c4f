"""The command line: a thin layer over the Python API; heavy imports stay inside commands."""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from rnntrace.errors import RnnTraceError

app = typer.Typer(
    name="rnntrace",
    help="Build, train, trace and explain recurrent sequence classifiers in PyTorch.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Docstrings are wrapped for the source; markdown reflows each paragraph to the terminal.
    rich_markup_mode="markdown",
)

def _show_version(value: bool) -> None:
    if value:
        from rnntrace import __version__

        print(f"rnntrace {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Build, train, trace and explain recurrent sequence classifiers in PyTorch."""


# Options shared by several commands.
Seed = Annotated[int, typer.Option(help="Seed for data, split, initial weights and shuffling.")]


Out = Annotated[
    Path | None,
    typer.Option("--out", help="Run directory to write (default: `runs/<command>-<time>`)."),
]


Epochs = Annotated[int, typer.Option(help="Training epochs.")]
Json = Annotated[bool, typer.Option("--json", help="Print the trace as JSON instead.")]
LabelCol = Annotated[str, typer.Option("--label", help="CSV/Parquet: the label column.")]
IdCol = Annotated[str, typer.Option("--id", help="CSV/Parquet: the sequence id column.")]
TimeCol = Annotated[str, typer.Option("--time", help="CSV/Parquet: the time column.")]
Features = Annotated[
    str | None,
    typer.Option(help="Comma-separated feature columns (default: every other numeric column)."),
]
Nan = Annotated[
    str,
    typer.Option(
        help="NaN/inf on a real step: error (default), drop the sequence, or fill "
        "(forward-fill within the sequence, 0 before the first value)."
    ),
]


# Training engine options, shared by every command that trains.
Threads = Annotated[
    int | None,
    typer.Option(
        min=1, help="Intra-op CPU threads (default: one for small models, all cores for large)."
    ),
]
Device = Annotated[str, typer.Option(help="cpu, cuda, or auto (CUDA when there is a GPU).")]
Clip = Annotated[
    float, typer.Option(min=0.0, help="Clip the gradient norm to this; 0 turns clipping off.")
]
Patience = Annotated[
    int | None,
    typer.Option(min=1, help="Stop after this many epochs without a better held-out loss."),
]
LrSchedule = Annotated[
    str, typer.Option("--lr-schedule", help="none; plateau: halve the lr when loss stalls; cosine: "
                                           "fall to 0 along a half cosine.")
]
Resume = Annotated[
    Path | None,
    typer.Option(help="Continue the killed run in this directory from its last checkpoint."),
]
Tensorboard = Annotated[
    Path | None,
    typer.Option(help="Also write TensorBoard event files here (needs the tensorboard extra)."),
]


def engine_options(
    threads: int | None, device: str, clip: float, patience: int | None, lr_schedule: str
) -> dict[str, Any]:
    """The TrainConfig fields the engine options set."""
    return {
        "threads": threads,
        "device": device,
        "clip_grad_norm": clip if clip > 0 else None,
        "patience": patience,
        "lr_schedule": lr_schedule,
    }


def _print_next_steps(console: Any, path: Path) -> None:
    console.print(f"\nRun written to [bold]{path}[/bold]")
    console.print(f"The whole trace as a page: [bold]{path / 'report.html'}[/bold]")
    console.print(f"Test yourself on this model: [bold]rnntrace quiz {path}[/bold]")


def _read_options(label: str, id: str, time: str, features: str | None, nan: str) -> dict[str, Any]:
    names = [f.strip() for f in features.split(",") if f.strip()] if features else None
    return {"label": label, "id": id, "time": time, "features": names, "nan": nan}


# What a resumed run takes from its checkpoint, so that it ends as the uninterrupted run would.
_RESUMED_SETTINGS = (
    "cell", "nonlinearity", "hidden", "layers", "bidirectional", "dropout", "proj_size", "epochs",
    "batch_size", "lr", "val_fraction", "seed", "threads", "device", "clip", "patience",
    "lr_schedule", "summary", "front_end", "window", "resample", "preset",
)


def _refuse_settings_beside_resume(ctx: typer.Context) -> None:
    from rnntrace.errors import ConfigError

    given = [
        param.opts[0] for param in ctx.command.params
        if param.name in _RESUMED_SETTINGS
        and getattr(ctx.get_parameter_source(param.name), "name", None) == "COMMANDLINE"
    ]
    if given:
        raise ConfigError(f"--resume continues with the settings the run started with; drop "
                          f"{', '.join(given)}")


# Text with no flags: a char GRU with an embedding, early-stopped on held-out loss (the best
# epoch's weights kept); 0.80 test accuracy on the Surnames tutorial data (README).
TEXT_DEFAULTS: dict[str, Any] = {"cell": "gru", "hidden": 128, "epochs": 30, "lr": 0.003,
                                 "patience": 5, "embedding_dropout": 0.3}


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user set option `name` on the command line (not left it at its default)."""
    return getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"


def _note_dropped(*sets: Any) -> None:
    """Say which sequences --nan drop left out: leaving data out silently would mislead."""
    from rnntrace.errors import printable  # ids come from the file: escape what they hold
    for data in sets:
        if data is not None and data.dropped:
            shown = ", ".join(map(repr, data.dropped[:5])) + (", …" if len(data.dropped) > 5
                                                              else "")
            total = len(data) + len(data.dropped)
            print(printable(f"rnntrace: note: {data.source}: --nan drop left out "
                            f"{len(data.dropped)} of {total} sequences (ids {shown})"),
                  file=sys.stderr)


def _train_and_show(start: Callable[[Callable[[Any], Any] | None], Any], json: bool) -> None:
    """Run `start(on_epoch_end)` with a progress bar, write the report beside the trace, then
    print the trace (rank 0 only)."""
    from rnntrace.distributed import from_env
    from rnntrace.render import text
    from rnntrace.render.html import REPORT, write_report

    if not from_env().is_main:  # under torchrun only rank 0 speaks (and writes)
        start(None)
        return
    console = text.console()
    with text.EpochProgress(console, enabled=not json) as progress:
        run = start(progress.update)
    write_report(run.trace, run.path / REPORT, explanation=run.explanation)
    if json:
        sys.stdout.write(run.trace.to_json() + "\n")
    else:
        text.print_trace(run.trace, console)
        _print_next_steps(console, run.path)


@app.command()
def demo(
    ctx: typer.Context,
    epochs: Epochs = 5,
    seed: Seed = 0,
    out: Out = None,
    json: Json = False,
    threads: Threads = None,
    device: Device = "cpu",
    clip: Clip = 1.0,
    patience: Patience = None,
    lr_schedule: LrSchedule = "none",
    resume: Resume = None,
    tensorboard: Tensorboard = None,
    text: Annotated[
        bool, typer.Option("--text", help="The text lesson: which marker letter comes first.")
    ] = False,
) -> None:
    """Run the classic lesson: 1000 sequences × 10 steps × 5 features → RNN(8) → 3 classes."""
    from rnntrace.experiment import TEXT_LESSON, run_lesson, run_text_lesson

    if text:
        given = _given(ctx, "epochs")
        engine = engine_options(threads, device, clip, patience, lr_schedule)
        _train_and_show(
            lambda on_epoch_end: run_text_lesson(
                epochs=epochs if given else int(TEXT_LESSON["epochs"]), seed=seed, out=out,
                on_epoch_end=on_epoch_end, **engine),
            json,
        )
        return
    if resume is not None:
        _refuse_settings_beside_resume(ctx)
    engine = engine_options(threads, device, clip, patience, lr_schedule)
    _train_and_show(
        lambda on_epoch_end: run_lesson(
            epochs=epochs, seed=seed, out=out, on_epoch_end=on_epoch_end, resume=resume,
            tensorboard=tensorboard, **engine,
        ),
        json,
    )


@app.command()
def train(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="Training data: .csv .tsv .parquet .npz .npy .ts")],
    test: Annotated[Path | None, typer.Option(help="A test file, scored at the end.")] = None,
    val: Annotated[
        Path | None, typer.Option(help="A validation file instead of a held-out split.")
    ] = None,
    cell: Annotated[str, typer.Option(help="rnn, lstm or gru.")] = "rnn",
    nonlinearity: Annotated[str, typer.Option(help="tanh or relu (cell rnn only).")] = "tanh",
    hidden: Annotated[int, typer.Option(help="Hidden size.")] = 8,
    layers: Annotated[int, typer.Option(help="Stacked recurrent layers.")] = 1,
    bidirectional: Annotated[bool, typer.Option(help="Read each sequence both ways.")] = False,
    dropout: Annotated[float, typer.Option(help="Dropout between stacked layers.")] = 0.0,
    proj_size: Annotated[
        int, typer.Option(help="LSTM only: project h_t to this many values (0: none).")
    ] = 0,
    epochs: Epochs = 5,
    batch_size: Annotated[int, typer.Option(help="Sequences per training step.")] = 32,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 0.01,
    val_fraction: Annotated[
        float, typer.Option(help="Held-out share when no --val file is given.")
    ] = 0.2,
    seed: Seed = 0,
    label: LabelCol = "label",
    id: IdCol = "id",
    time: TimeCol = "time",
    features: Features = None,
    nan: Nan = "error",
    out: Out = None,
    json: Json = False,
    threads: Threads = None,
    device: Device = "cpu",
    clip: Clip = 1.0,
    patience: Patience = None,
    lr_schedule: LrSchedule = "none",
    resume: Resume = None,
    tensorboard: Tensorboard = None,
    text: Annotated[
        str | None, typer.Option("--text", help="CSV/Parquet: the column of text to classify.")
    ] = None,
    tokens: Annotated[str, typer.Option(help="Text: char (default), word or whitespace.")] = "char",
    ascii: Annotated[
        bool, typer.Option("--ascii", help="Text: fold Unicode to ASCII first (unidecode).")
    ] = False,
    embedding_dim: Annotated[
        int, typer.Option("--embedding-dim", help="Text: the width of the token vectors.")
    ] = 32,
    embedding_dropout: Annotated[
        float,
        typer.Option("--embedding-dropout", help="Text: share of embedding values zeroed in "
                     "training (default 0.3)."),
    ] = 0.0,
    summary: Annotated[
        str, typer.Option(help="last, mean, max or attention: how the outputs become one vector.")
    ] = "last",
    front_end: Annotated[
        str, typer.Option("--front-end", help="none, window or conv: for long series.")
    ] = "none",
    window: Annotated[int, typer.Option(help="Steps the front end reads as one.")] = 1,
    resample: Annotated[
        int, typer.Option(help="Resample each sequence's real steps to this many, evenly spaced "
                               "(0: off; auto does it to the longest length when lengths "
                               "differ).")
    ] = 0,
    preset: Annotated[
        str, typer.Option(help="auto: choose the settings you leave open on held-out training "
                               "data; lesson: the demo's settings (the defaults shown).")
    ] = "auto",
) -> None:
    """Train a classifier on your sequences and trace it, as the demo does for the lesson.

    Numeric series: settings you do not give are chosen from the training file alone (--preset
    auto): a few candidates are scored on held-out training sequences. --preset lesson uses the
    defaults shown.

    Text (a folder of `<class>.txt` files, a .txt file, or a table with --text) gets its own
    defaults: Embedding(32, dropout 0.3) → GRU(128) at lr 0.003; the epochs are chosen on a
    held-out split (early stopping, the epoch of best held-out accuracy), then a fresh model
    trains on all the training data for that many. --epochs skips the choice.
    """
    from rnntrace import checkpoint
    from rnntrace.config import ModelConfig, TrainConfig
    from rnntrace.data.readers import check_compatible, read
    from rnntrace.data.text import is_text_source
    from rnntrace.experiment import run_experiment

    if is_text_source(data, text):
        from rnntrace.data.text import read_splits

        if resume is not None:
            from rnntrace.errors import ConfigError

            raise ConfigError("--resume is not available for text runs yet; start again")
        splits = read_splits(data, val=val, test=test, text=text, label=label, tokens=tokens,
                             ascii=ascii)
        for note in splits.notes:
            print(f"rnntrace: note: {note}", file=sys.stderr)
        pick = {name: _given(ctx, name)
                for name in ("cell", "hidden", "epochs", "lr", "patience", "embedding_dropout")}
        model_config = ModelConfig(
            n_features=1, n_classes=splits.train.n_classes,
            hidden_size=hidden if pick["hidden"] else TEXT_DEFAULTS["hidden"],
            cell=cell if pick["cell"] else str(TEXT_DEFAULTS["cell"]), nonlinearity=nonlinearity,
            num_layers=layers, bidirectional=bidirectional, dropout=dropout, proj_size=proj_size,
            summary=summary, resample=resample,  # an error with a vocabulary, not ignored
            vocab_size=len(splits.vocabulary), embedding_dim=embedding_dim,
            embedding_dropout=embedding_dropout if pick["embedding_dropout"]
            else float(TEXT_DEFAULTS["embedding_dropout"]),
        )
        engine = engine_options(threads, device, clip, patience, lr_schedule)
        if not pick["patience"]:
            engine["patience"] = TEXT_DEFAULTS["patience"]
        train_config = TrainConfig(
            epochs=epochs if pick["epochs"] else int(TEXT_DEFAULTS["epochs"]),
            batch_size=batch_size, lr=lr if pick["lr"] else float(TEXT_DEFAULTS["lr"]),
            val_fraction=val_fraction, seed=seed, **engine,
        )
        if not pick["epochs"] and splits.val is None and val_fraction > 0:
            # Epochs chosen on a held-out split, then every training example used (refit.py).
            from dataclasses import replace

            from rnntrace.refit import choose_epochs

            print("rnntrace: choosing the number of epochs on a held-out split…", file=sys.stderr)
            picked = choose_epochs(model_config, splits.train, train_config)
            print(f"rnntrace: note: {picked.note()}", file=sys.stderr)
            train_config = replace(train_config, epochs=picked.epochs, val_fraction=0.0,
                                   patience=None)
        text_options = {"text": text, "label": label, "tokens": tokens, "ascii": ascii}
        _train_and_show(
            lambda on_epoch_end: run_experiment(
                splits.train, model_config, train_config, val=splits.val, test=splits.test,
                out=out, command="train", on_epoch_end=on_epoch_end, read_options=text_options,
                tensorboard=tensorboard, vocabulary=splits.vocabulary,
            ),
            json,
        )
        return
    options = _read_options(label, id, time, features, nan)
    # Check every input before anything is written: a bad file leaves no run directory behind.
    train_set = read(data, **options)
    val_set = check_compatible(train_set, read(val, **options, min_classes=1), "validation") if (
        val is not None
    ) else None
    test_set = check_compatible(train_set, read(test, **options, min_classes=1), "test") if (
        test is not None
    ) else None
    _note_dropped(train_set, val_set, test_set)
    if resume is not None:  # every setting comes from the killed run's checkpoint
        _refuse_settings_beside_resume(ctx)
        model_config, train_config = checkpoint.configs(checkpoint.load_latest(resume, out))
    else:
        model_config = ModelConfig(
            n_features=train_set.n_features, n_classes=train_set.n_classes, hidden_size=hidden,
            cell=cell, nonlinearity=nonlinearity, num_layers=layers,
            bidirectional=bidirectional, dropout=dropout, proj_size=proj_size, summary=summary,
            front_end=front_end, window=window, resample=resample,
        )
        train_config = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=val_fraction, seed=seed,
            **engine_options(threads, device, clip, patience, lr_schedule),
        )
    choice = None
    if resume is None and _check_preset(preset) == "auto":
        model_config, train_config, choice = _choose(
            ctx, train_set, val_set, train_config, json,
        )
    _train_and_show(
        lambda on_epoch_end: run_experiment(
            train_set, model_config, train_config, val=val_set, test=test_set, out=out,
            command="train", on_epoch_end=on_epoch_end, read_options=options, resume=resume,
            tensorboard=tensorboard, choice=choice,
        ),
        json,
    )


# CLI option → ModelConfig/TrainConfig field, for the settings `--preset auto` may choose.
_CHOOSABLE = {
    "cell": "cell", "nonlinearity": "nonlinearity", "hidden": "hidden_size",
    "layers": "num_layers", "bidirectional": "bidirectional", "dropout": "dropout",
    "proj_size": "proj_size", "summary": "summary", "front_end": "front_end", "window": "window",
    "resample": "resample", "lr": "lr",
    "batch_size": "batch_size", "epochs": "epochs", "lr_schedule": "lr_schedule",
}


def _check_preset(preset: str) -> str:
    from rnntrace.choose import PRESETS
    from rnntrace.errors import ConfigError

    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}: choose {' or '.join(PRESETS)}")
    return preset


def _choose(ctx: typer.Context, train_set: Any, val_set: Any, base: Any, json: bool) -> Any:
    """Choose the settings the user left open (choose.py), printing the search as it goes."""
    from rnntrace.choose import choose
    from rnntrace.distributed import from_env
    from rnntrace.render import choice_text, text

    given = {
        name for name in ctx.params
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    }
    user = {field: ctx.params[name] for name, field in _CHOOSABLE.items() if name in given}
    speak = not json and from_env().is_main
    console = text.console()
    engine = {"threads": base.threads, "device": base.device,
              "clip_grad_norm": base.clip_grad_norm}
    if speak:
        console.print("Choosing settings on held-out training data (the test file is not read)")
    model_config, train_config, choice = choose(
        train_set, user, seed=base.seed, val=val_set, val_fraction=base.val_fraction,
        on_progress=choice_text.search_progress(console) if speak else None, **engine,
    )
    if "patience" in given:
        train_config = dataclasses.replace(train_config, patience=base.patience)
    if speak:
        choice_text.print_choice(choice, console)
    return model_config, train_config, choice


@app.command()
def predict(
    run: Annotated[Path, typer.Argument(help="A run directory written by train or demo.")],
    data: Annotated[
        list[str],
        typer.Argument(help="Sequences to classify, in a format read by train; with --text, "
                       "the texts themselves."),
    ],
    out: Annotated[Path | None, typer.Option(help="Write here instead of to stdout.")] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl (default: from --out's suffix, else csv)."),
    ] = None,
    id: Annotated[str | None, typer.Option("--id", help="Id column (default: the run's).")] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="Time column (default: the run's).")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Label column, if any (default: the run's).")
    ] = None,
    nan: Annotated[
        str | None, typer.Option(help="error, drop or fill NaN/inf (default: the run's).")
    ] = None,
    text: Annotated[
        bool, typer.Option("--text", help="A text run: classify the texts given, e.g. Dubois.")
    ] = False,
    top: Annotated[int, typer.Option(min=1, help="With --text: the classes shown per text.")] = 3,
) -> None:
    """Classify new sequences with a trained run: one row each, every class's probability.

    The data is read as the run's training data was, and its features are picked by name.
    """
    from rnntrace.data.readers import READERS, read
    from rnntrace.errors import ConfigError
    from rnntrace.inference import predict as predict_run
    from rnntrace.run import atomic_write_text, load_run

    table = text and out is None and format is None  # texts typed in: a readable table
    if format is None:
        format = "jsonl" if out is not None and out.suffix in (".jsonl", ".json") else "csv"
    if format not in ("csv", "jsonl"):
        raise ConfigError(f"unknown format {format!r}: choose csv or jsonl")
    saved = load_run(run, with_trace=False)
    if text or saved.config.data.vocabulary:
        from rnntrace.inference_text import predict_texts, top_classes

        predictions = predict_texts(saved, data, given=text)
        if table:
            sys.stdout.write(top_classes(predictions, top))
            return
    else:
        if len(data) != 1:
            raise ConfigError(f"predict reads one data file, got {len(data)}; texts need --text")
        predictions = None

    if predictions is None:
        path = Path(data[0])
        given = {"id": id, "time": time, "label": label, "nan": nan}
        options = dict(saved.config.data.read_options) | {
            k: v for k, v in given.items() if v is not None
        }
        if READERS.get(path.suffix.lower()) in ("csv", "tsv", "parquet"):
            # Named columns: take the run's features by name, whatever else the file holds.
            options["features"] = saved.config.data.feature_names or options.get("features")
        sequences = read(path, **options, min_classes=1, labelled=False)
        _note_dropped(sequences)
        predictions = predict_run(saved, sequences)
    rendered = predictions.to_csv() if format == "csv" else predictions.to_jsonl()
    if out is None:
        sys.stdout.write(rendered)
    else:
        atomic_write_text(out, rendered)


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="A run directory, or a trace.json file.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: report.html beside the trace)."),
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open the page in the default web browser.")
    ] = False,
) -> None:
    """Write the run's report: one self-contained HTML page that works offline."""
    from rnntrace.files import load_explanation, read_trace
    from rnntrace.render.html import REPORT, write_report

    trace = read_trace(run)
    target = out if out is not None else (run if run.is_dir() else run.parent) / REPORT
    # The explanation `rnntrace explain` (or the run itself) kept beside the trace, if any.
    explanation = load_explanation(run if run.is_dir() else run.parent)
    write_report(trace, target, explanation=explanation)
    print(f"Report written to {target}")
    if open_:
        import webbrowser

        uri = target.resolve().as_uri()
        if not webbrowser.open(uri):  # a headless machine has none: say where the page is
            print(f"No web browser found here: open {uri} in one.")


@app.command()
def quiz(
    run: Annotated[
        Path | None,
        typer.Argument(help="Run directory (with config.json) to quiz on; default: the lesson."),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Number of questions.")] = 10,
    level: Annotated[str, typer.Option(help="easy, medium, hard or mixed.")] = "mixed",
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same quiz.")] = 0,
    random_models: Annotated[
        bool, typer.Option("--random", help="A different random model for every question.")
    ] = False,
    export: Annotated[
        str | None, typer.Option("--export", help="Write a sheet instead of asking: md or json.")
    ] = None,
    answers: Annotated[
        bool, typer.Option("--answers", help="Include the key, hints and solutions in the sheet.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="File for the sheet (default: standard output).")
    ] = None,
) -> None:
    """Questions about your model, every answer verified by running PyTorch.

    Type A–D, or ? for a hint.
    Answers can also be piped in, one line per question.
    From a pipe, an invalid line counts as wrong; the end of input ends the quiz with the score.
    """
    from rnntrace.config import ModelConfig
    from rnntrace.errors import ConfigError
    from rnntrace.quiz import make_quiz
    from rnntrace.quiz.export import FORMATS
    from rnntrace.quiz.setting import lesson_setting, setting_from_run
    from rnntrace.run import load_config

    if export is not None and export not in FORMATS:
        raise ConfigError(f"unknown export format {export!r}: choose md or json")
    if answers and export is None:
        raise ConfigError("--answers goes with --export: the interactive quiz shows each answer")
    if run is not None and random_models:
        raise ConfigError("--random draws its own models: leave out the run directory")
    setting = lesson_setting() if run is None else setting_from_run(load_config(run))
    config: ModelConfig | None = None if random_models else setting.model
    shape = None if random_models else setting.input_shape
    if config is not None and config.vocab_size:  # text: the Embedding, then the layer it feeds
        from rnntrace.quiz import Setting
        from rnntrace.quiz.embedding import TextSetting, layer_config, text_quiz

        questions = text_quiz(config, n=n, seed=seed, batch=setting.batch, steps=setting.steps,
                              level=level)
        layer = Setting(layer_config(config), setting.batch, setting.steps)
        about = f"{TextSetting(config, setting.batch, setting.steps).code()} → {layer.layer_code()}"
    else:
        questions = make_quiz(config, n=n, level=level, seed=seed, input_shape=shape)
        about = "random models" if random_models else setting.layer_code()
    if len(questions) < n:  # the bank ran out of distinct questions: say so, not silently
        kind = "" if level == "mixed" else f"{level} "
        print(f"rnntrace: note: this model has {len(questions)} distinct {kind}questions, "
              f"not {n}", file=sys.stderr)
    if export is not None:
        from rnntrace.quiz.export import sheet
        from rnntrace.run import atomic_write_text

        text = sheet(questions, export, answers=answers, about=about, level=level, seed=seed)
        if out is None:
            sys.stdout.write(text)
        else:
            atomic_write_text(out, text)
        return
    from rich.console import Console

    from rnntrace.quiz import session

    console = Console(highlight=False)
    console.print(f"[bold]rnntrace quiz[/bold]: {len(questions)} questions on {about}")
    interactive = sys.stdin.isatty()
    read = (session.terminal_reader(console) if interactive
            else session.stream_reader(sys.stdin.readline))
    session.play(questions, console, read, interactive=interactive)


@app.command()
def shapes(
    input: Annotated[
        str, typer.Option("--input", help="Input shape, e.g. 4,7,5 (or 7,5 for one sequence).")
    ],
    hidden: Annotated[int, typer.Option("--hidden", help="hidden_size of the layer.")],
    cell: Annotated[str, typer.Option(help="rnn | lstm | gru.")] = "rnn",
    layers: Annotated[int, typer.Option(help="num_layers (stacked).")] = 1,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", help="Two directions.")] = False,
    # rnntrace's models and data are (batch, steps, features); nn.RNN's own default is False.
    batch_first: Annotated[
        bool,
        typer.Option(
            "--batch-first/--no-batch-first",
            help="Read the input as (batch, steps, features); --no-batch-first: (steps, batch, "
            "features), nn.RNN's own default.",
        ),
    ] = True,
    input_size: Annotated[
        int | None,
        typer.Option(
            "--input-size", help="input_size of the layer (default: the input's last dimension)."
        ),
    ] = None,
    nonlinearity: Annotated[str, typer.Option(help="tanh | relu (cell rnn only).")] = "tanh",
    proj_size: Annotated[
        int, typer.Option(help="LSTM only: h_t projected to this many values (0: none).")
    ] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead.")] = False,
) -> None:
    """Run one RNN/LSTM/GRU layer on zeros and explain the shapes of output, h_n (and c_n)."""
    import dataclasses
    import json as json_lib

    from rich.console import Console

    from rnntrace.errors import ConfigError
    from rnntrace.render.dataflow_text import shape_report_view
    from rnntrace.tracing.shapes import layer_shapes

    try:
        dims = [int(part) for part in input.split(",")]
    except ValueError:
        raise ConfigError(
            f"--input must be sizes separated by commas, e.g. 4,7,5, got {input!r}"
        ) from None
    report = layer_shapes(
        dims,
        hidden,
        cell,
        num_layers=layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        input_size=input_size,
        nonlinearity=nonlinearity,
        proj_size=proj_size,
    )
    if json:
        sys.stdout.write(json_lib.dumps(dataclasses.asdict(report), indent=2) + "\n")
    else:
        Console().print(shape_report_view(report))


@app.command()
def explain(
    run: Annotated[
        Path | None, typer.Argument(help="A run directory written by train or demo.")
    ] = None,
    sequence: Annotated[
        str | None,
        typer.Option("--sequence", help="The id of the sequence to explain (default: the "
                     "traced one, the first held-out sequence)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Sequences to explain instead of the run's held-out split."),
    ] = None,
    self_test: Annotated[
        bool,
        typer.Option("--self-test", help="Train on planted-signal data and check that the "
                     "attribution finds the planted window (uses the run's cell, else GRU)."),
    ] = False,
    json: Json = False,
) -> None:
    """Why the model predicts what it does: attribution per step and feature, the hidden units
    that separate the classes, the hardest held-out cases. Writes explain.json and the report."""
    from rnntrace.attribution.records import Explanation
    from rnntrace.errors import ConfigError
    from rnntrace.render.explain_text import explanation_lines

    if run is None and not self_test:
        raise ConfigError("give a run directory to explain, or --self-test")
    explanation = Explanation(attribution=None, terms=[], units=None)
    if run is not None:
        from rnntrace.attribution.source import explain_run
        from rnntrace.files import read_trace, save_explanation
        from rnntrace.render.html import REPORT, write_report
        from rnntrace.run import load_config as _load_config

        if _load_config(run).data.vocabulary:
            raise ConfigError(f"{run} is a text run: its attribution is per token, in the "
                              "report's letters section (rnntrace report RUN); explain reads "
                              "numeric steps and features")
        given = None
        if data is not None:
            from rnntrace.data.readers import read
            from rnntrace.run import load_config

            given = read(data, **load_config(run).data.read_options, min_classes=1)
        explanation = explain_run(run, sequence=sequence, data=given)
    if self_test:
        from rnntrace.attribution.planted import planted_self_test

        cell, bidirectional = "gru", False
        if run is not None:
            from rnntrace.run import load_config

            model = load_config(run).model
            cell, bidirectional = model.cell, model.bidirectional
        explanation.planted = planted_self_test(cell, bidirectional=bidirectional)
    if run is not None:
        save_explanation(run, explanation)
        write_report(read_trace(run), run / REPORT, explanation=explanation)
    if json:
        sys.stdout.write(explanation.to_json() + "\n")
    else:
        print("\n".join(explanation_lines(explanation)))
        if run is not None:
            print(f"\nExplanation written to {run / 'explain.json'}; the report shows it: "
                  f"{run / REPORT}")
    if explanation.planted is not None and not explanation.planted.passed:
        raise typer.Exit(1)


@app.command("trace")
def trace_model(
    target: Annotated[
        str, typer.Argument(metavar="FILE.py[:NAME]",
                            help="A class with no required arguments, or a function that "
                            "returns the model, in your own Python file (default: its model() "
                            "or its one nn.Module class).")
    ],
    input: Annotated[
        str | None,
        typer.Option("--input", help="Shape of a seeded random input, e.g. 4,7,5 (token ids "
                     "when the model starts with an nn.Embedding)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="The model's inputs instead: .npy, .npz (arrays named as "
                     "the forward's arguments, or in order) or .pt (a tensor, a tuple, or a dict "
                     "of named tensors). Without --input or --data: the file's example_inputs()."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="The report page to write (default: NAME.html).")
    ] = None,
    seed: Seed = 0,
) -> None:
    """Trace your own model: every module call, each recurrent layer recomputed, findings.

    This imports FILE.py, which runs the code in it: only trace files you trust (your own).
    """
    import torch
    from rich.console import Console

    from rnntrace.render.notebook import report, trace_renderables
    from rnntrace.trace_inputs import model_and_inputs
    from rnntrace.tracing.generic import trace

    torch.manual_seed(seed)
    model, inputs, kwargs = model_and_inputs(target, input, data, seed)
    result = trace(model, *inputs, **kwargs)
    console = Console(highlight=False)
    for part in trace_renderables(result):
        console.print(part)
    name = Path(target).stem if target.endswith(".py") else target.rpartition(":")[2]
    page = report(result, out if out is not None else Path(f"{name}.html"))
    console.print(f"report: {page}")


# The usage-error class of the click that typer runs on: typer vendors click in recent versions and
# imports it in older ones, and BadParameter (public either way) derives from it.
_USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rnntrace` script; returns the exit status."""
    # PyTorch notes once that oneDNN has no LSTM projection and runs its own kernel instead:
    # nothing a user of --proj-size should act on.
    warnings.filterwarnings(
        "ignore", "LSTM with projections is not supported with oneDNN", UserWarning
    )
    try:
        status = app(args=argv, prog_name="rnntrace", standalone_mode=False)
    except _USAGE_ERROR as exc:  # one line, like every other error, and where to look
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path} --help" if ctx is not None else "rnntrace --help"
        message = exc.format_message()  # type: ignore[attr-defined]
        print(f"rnntrace: error: {message} (see {where})", file=sys.stderr)
        return 2
    except typer.Abort:
        print("rnntrace: stopped", file=sys.stderr)
        return 130
    except RnnTraceError as exc:
        print(f"rnntrace: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a path the user gave that cannot be written or read
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"rnntrace: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0
