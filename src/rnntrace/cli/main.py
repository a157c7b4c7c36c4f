"""The `rnntrace` script: every command group registered on the app, errors as one line each."""

from __future__ import annotations

import logging
import sys
import warnings

import typer

# Each command group registers its commands on the app as it is imported.
from rnntrace.cli import compare, explain, inspect, learn, predict, quiz, train
from rnntrace.cli.app import app
from rnntrace.errors import NOTES, RnnTraceError

COMMAND_GROUPS = (train, predict, quiz, learn, explain, inspect, compare)
# The order `rnntrace --help` lists them in: the lesson first, then a user's own work.
ORDER = ("demo", "train", "predict", "report", "compare", "quiz", "learn", "shapes", "explain",
         "trace")
app.registered_commands.sort(
    key=lambda c: ORDER.index(c.name or getattr(c.callback, "__name__", ""))
)


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
    _print_notes()
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


class _NoteLines(logging.Handler):
    """Each note (errors.note) as one "rnntrace: note: …" line on the stderr of the moment."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"rnntrace: note: {record.getMessage()}", file=sys.stderr)


def _print_notes() -> None:
    logger = logging.getLogger(NOTES)
    if not any(isinstance(h, _NoteLines) for h in logger.handlers):
        logger.addHandler(_NoteLines())
        logger.propagate = False

