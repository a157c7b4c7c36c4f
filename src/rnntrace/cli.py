"""The command line: a thin layer over the Python API; heavy imports stay inside commands."""

from __future__ import annotations

import sys
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
)

Seed = Annotated[int, typer.Option(help="Seed for data, split, initial weights and shuffling.")]


@app.callback()
def _root() -> None:
    """Build, train, trace and explain recurrent sequence classifiers in PyTorch."""


Out = Annotated[
    Path | None,
    typer.Option("--out", help="Run directory to write (default: runs/<command>-<time>)."),
]


# --- Training engine options (issue 4), shared by every command that trains ---
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
    str, typer.Option("--lr-schedule", help="none, or plateau: halve the lr when loss stalls.")
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


@app.command()
def demo(
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 5,
    seed: Seed = 0,
    out: Out = None,
    json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON instead.")] = False,
    threads: Threads = None,
    device: Device = "cpu",
    clip: Clip = 1.0,
    patience: Patience = None,
    lr_schedule: LrSchedule = "none",
    resume: Resume = None,
    tensorboard: Tensorboard = None,
) -> None:
    """Run the classic lesson: 1000 sequences × 10 steps × 5 features → RNN(8) → 3 classes."""
    from rnntrace.distributed import from_env
    from rnntrace.experiment import run_lesson
    from rnntrace.render import text

    if not from_env().is_main:  # under torchrun only rank 0 speaks (and writes)
        run_lesson(
            epochs=epochs, seed=seed, out=out, resume=resume,
            **engine_options(threads, device, clip, patience, lr_schedule),
        )
        return
    console = text.console()
    progress = text.EpochProgress(console, enabled=not json)
    with progress:
        run = run_lesson(
            epochs=epochs,
            seed=seed,
            out=out,
            on_epoch_end=progress.update,
            resume=resume,
            tensorboard=tensorboard,
            **engine_options(threads, device, clip, patience, lr_schedule),
        )
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
