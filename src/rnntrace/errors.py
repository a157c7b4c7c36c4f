"""Errors a user can cause: each carries one line that says what is wrong and how to fix it.

The CLI prints the message and exits with status 2; anything else is a bug and stays a traceback.
"""

from __future__ import annotations


class RnnTraceError(Exception):
    """Base class: a mistake in the user's input, configuration or files."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # One line, always: the CLI prints exactly this to stderr.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(RnnTraceError):
    """An option or configuration value that is out of range or unknown."""


class DataError(RnnTraceError):
    """A data file or array that cannot be read into sequences."""


class ShapeError(RnnTraceError):
    """A tensor whose shape does not fit the layer it is fed to."""


class RunError(RnnTraceError):
    """A run directory or checkpoint that is missing, incomplete or not ours."""
