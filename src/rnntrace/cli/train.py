"""`rnntrace demo` and `rnntrace train`: the lesson, and training on the user's own files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rnntrace.cli.app import (
    Clip,
    Device,
    Epochs,
    Features,
    IdCol,
    Json,
    LabelCol,
    Live,
    LrSchedule,
    Nan,
    Out,
    Patience,
    Resume,
    Seed,
    Tensorboard,
    Threads,
    TimeCol,
    app,
    engine_options,
    given,
    given_settings,
    label_option,
    train_and_show,
)


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
    live: Live = False,
    compare: Annotated[
        bool, typer.Option("--compare", help="Train the lesson and a long-sequence lesson as "
                           "RNN, GRU and LSTM, and compare them.")
    ] = False,
    task: Annotated[
        str | None,
        typer.Option("--task", help="regression: a line's slope, one number per sequence; "
                     "steps: rising or falling at every step."),
    ] = None,
) -> None:
    """Run the classic lesson: 1000 sequences × 10 steps × 5 features → RNN(8) → 3 classes."""
    from rnntrace.config.options import refuse_beside_resume
    from rnntrace.experiment.pipeline import (
        TEXT_LESSON,
        run_head_lesson,
        run_lesson,
        run_text_lesson,
    )

    if task is not None:
        if live or compare:
            from rnntrace.errors import ConfigError

            raise ConfigError(f"--{'live' if live else 'compare'} shows classifiers: drop it or "
                              "--task")
        engine = engine_options(threads, device, clip, patience, lr_schedule)
        train_and_show(
            lambda on_epoch_end: run_head_lesson(
                task, epochs=epochs if given(ctx, "epochs") else None, seed=seed, out=out,
                on_epoch_end=on_epoch_end, **engine),
            json,
        )
        return

    if compare:
        from rnntrace.cli.compare import demo_compare

        demo_compare(out, epochs, seed, engine_options(threads, device, clip, patience,
                                                       lr_schedule), json)
        return
    if text:
        epochs_given = given(ctx, "epochs")
        engine = engine_options(threads, device, clip, patience, lr_schedule)
        train_and_show(
            lambda on_epoch_end, on_start=None: run_text_lesson(
                epochs=epochs if epochs_given else int(TEXT_LESSON["epochs"]), seed=seed, out=out,
                on_epoch_end=on_epoch_end, live=live, on_start=on_start, **engine),
            json, live=live,
        )
        return
    if resume is not None:
        refuse_beside_resume(list(given_settings(ctx)))
    engine = engine_options(threads, device, clip, patience, lr_schedule)
    train_and_show(
        lambda on_epoch_end, on_start=None: run_lesson(
            epochs=epochs, seed=seed, out=out, on_epoch_end=on_epoch_end, resume=resume,
            tensorboard=tensorboard, live=live, on_start=on_start, **engine,
        ),
        json, live=live,
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
        str | None, typer.Option(help="auto (default): choose the settings you leave open on "
                                      "held-out training data; lesson: the demo's settings (the "
                                      "defaults shown).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(help="auto: train the candidates in this many processes, one "
                                      "thread each (-1: one per core). Default: the first here, "
                                      "then the rest in a process per free core when it took "
                                      "10 s or more; the choice is the same either way.")
    ] = None,
    live: Live = False,
    smoothing: Annotated[
        float, typer.Option(help="--task steps: weight of the smoothing loss between "
                                 "neighbouring steps (MS-TCN's; 0: none).")
    ] = 0.0,
    task: Annotated[
        str | None,
        typer.Option("--task", help="classify (a class per sequence), regress (a number per "
                     "sequence) or steps (a label per step). Default: from the labels, and "
                     "said."),
    ] = None,
) -> None:
    """Train a model on your sequences and trace it, as the demo does for the lesson.

    A class per sequence, a number per sequence (--task regress) or a label per step
    (--task steps); without --task the labels say which, and the run says what it inferred.

    Numeric series: settings you do not give are chosen from the training file alone (--preset
    auto): a few candidates are scored on held-out training sequences. --preset lesson uses the
    defaults shown.

    Text (a folder of `<class>.txt` files, a .txt file, or a table with --text) gets its own
    defaults: Embedding(32, dropout 0.3) → GRU(128) at lr 0.003; the epochs are chosen on a
    held-out split (early stopping, the epoch of best held-out accuracy), then a fresh model
    trains on all the training data for that many. --epochs skips the choice.
    """

    from rnntrace.experiment.from_files import train_from_files
    from rnntrace.render import choice_text
    from rnntrace.render import text as text_view
    from rnntrace.train.distributed import from_env

    speak = not json and from_env().is_main
    console = text_view.console()
    show_search = choice_text.search_progress(console) if speak else None
    started: list[bool] = []

    def on_search(progress: Any) -> None:
        if not started:
            where = ("the training data (--val-fraction 0: nothing held out)"
                     if val is None and val_fraction == 0 else "held-out training data")
            console.print(f"Choosing settings on {where} (the test file is not read)")
            started.append(True)
        if show_search is not None:
            show_search(progress)

    names = [f.strip() for f in features.split(",") if f.strip()] if features else None
    train_and_show(
        lambda on_epoch_end, on_start=None: train_from_files(
            data, test=test, val=val, preset=preset, label=label_option(label), id=id,
            time=time,
            features=names, nan=nan, text=text, tokens=tokens, ascii=ascii, out=out,
            resume=resume, tensorboard=tensorboard, task=task, on_epoch_end=on_epoch_end,
            on_search=on_search if speak else None, jobs=jobs,
            on_choice=(lambda choice: choice_text.print_choice(choice, console)) if speak
            else None,
            live=live, on_start=on_start,
            **given_settings(ctx),
        ),
        json, report=False, live=live,
    )
