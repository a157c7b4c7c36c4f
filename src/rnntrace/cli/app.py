"""The command line's app, the options several commands share, and how a training run is shown.

The commands live in one module per group (train, predict, quiz, explain, inspect); each calls
one function of the Python API with the same parameter names. Heavy imports stay inside
commands, so that `rnntrace --help` is instant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="rnntrace",
    help="Build, train, trace and explain recurrent sequence models in PyTorch: a class or "
    "a number per sequence, or a label per step.",
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
    """Build, train, trace and explain recurrent sequence models in PyTorch."""


# Options shared by several commands.
Seed = Annotated[int, typer.Option(help="Seed for data, split, initial weights and shuffling.")]


Out = Annotated[
    Path | None,
    typer.Option("--out", help="Run directory to write (default: `runs/<command>-<time>`)."),
]


Epochs = Annotated[int, typer.Option(help="Training epochs.")]
Json = Annotated[bool, typer.Option("--json", help="Print the trace as JSON instead.")]
LabelCol = Annotated[str, typer.Option(
    "--label", help="CSV/Parquet: the label column; several, comma-separated (--label fat,water), "
    "are several numbers to predict per sequence.")]


def label_option(text: str) -> str | list[str]:
    """--label as `rnntrace.read` takes it: one column, or several when commas separate them."""
    names = [name.strip() for name in text.split(",")]
    return names if len(names) > 1 else text
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
Live = Annotated[
    bool,
    typer.Option("--live", help="Watch it learn: a page in the run directory (live.html, open it "
                 "from disk) that updates as each epoch ends, and a live table here."),
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


def print_next_steps(console: Any, path: Path) -> None:
    console.print(f"\nRun written to [bold]{path}[/bold]")
    console.print(f"The whole trace as a page: [bold]{path / 'report.html'}[/bold]")
    console.print(f"Test yourself on this model: [bold]rnntrace quiz {path}[/bold]")


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the user set option `name` on the command line (not left it at its default)."""
    return getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"


def given_settings(ctx: typer.Context) -> dict[str, Any]:
    """The settings (config/options.py) the user set on the command line, by option name."""
    from rnntrace.config.options import SETTINGS

    return {name: value for name, value in ctx.params.items()
            if name in SETTINGS and given(ctx, name)}


def train_and_show(start: Callable[..., Any], json: bool, report: bool = True,
                   live: bool = False) -> None:
    """Run `start(on_epoch_end)` with a progress bar (with `live`, `start(on_epoch_end,
    on_start)` with a live table), write the report beside the trace unless `start` did, then
    print the trace (rank 0 only)."""
    from rnntrace.render import notebook, text
    from rnntrace.run.files import REPORT
    from rnntrace.run.report import write_report
    from rnntrace.train.distributed import from_env

    if not from_env().is_main:  # under torchrun only rank 0 speaks (and writes)
        start(None)
        return
    console = text.console()
    if live:
        from rnntrace.cli.live import watched

        run = watched(start, console, json)
    else:
        with text.EpochProgress(console, enabled=not json) as progress:
            run = start(progress.update)
    if report:
        write_report(run.trace, run.path / REPORT, explanation=run.explanation)
        if live:
            from rnntrace.experiment.live import link_report

            link_report(run.path)
    if json:
        sys.stdout.write(run.trace.to_json() + "\n")
    else:
        notebook.print_trace(run.trace, console)
        print_next_steps(console, run.path)
