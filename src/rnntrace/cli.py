"""The command line: a thin layer over the Python API; heavy imports stay inside commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rnntrace.errors import RnnTraceError

app = typer.Typer(
    name="rnntrace",
    help="Build, train, trace and explain recurrent sequence classifiers in PyTorch.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

Seed = Annotated[int, typer.Option(help="Seed for data, split, initial weights and shuffling.")]


@app.callback()
def _root() -> None:
    """Build, train, trace and explain recurrent sequence classifiers in PyTorch."""


Out = Annotated[
    Path | None,
    typer.Option("--out", help="Run directory to write (default: runs/<command>-<time>)."),
]


@app.command()
def demo(
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 5,
    seed: Seed = 0,
    out: Out = None,
    json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON instead.")] = False,
) -> None:
    """Run the classic lesson: 1000 sequences × 10 steps × 5 features → RNN(8) → 3 classes."""
    from rnntrace.experiment import run_lesson
    from rnntrace.render import text

    console = text.console()
    progress = text.EpochProgress(console, enabled=not json)
    with progress:
        run = run_lesson(epochs=epochs, seed=seed, out=out, on_epoch_end=progress.update)
    if json:
        sys.stdout.write(run.trace.to_json() + "\n")
    else:
        text.print_trace(run.trace, console)
        console.print(f"\nRun written to [bold]{run.path}[/bold]")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rnntrace` script; returns the exit status."""
    try:
        # Standalone mode lets typer print usage errors and help itself (exiting 2 and 0).
        app(args=argv, prog_name="rnntrace", standalone_mode=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except RnnTraceError as exc:
        print(f"rnntrace: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0


# ─── `rnntrace report` (issue 7): one self-contained HTML page of a run ───


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
    from rnntrace.render.html import REPORT, read_trace, write_report

    trace = read_trace(run)
    target = out if out is not None else (run if run.is_dir() else run.parent) / REPORT
    write_report(trace, target)
    print(f"Report written to {target}")
    if open_:
        import webbrowser

        webbrowser.open(target.resolve().as_uri())
