"""Errors a user can cause: each carries one line that says what is wrong and how to fix it.

The CLI prints the message and exits with status 2; anything else is a bug and stays a traceback.
"""

from __future__ import annotations

import unicodedata

# Characters that act on a terminal or hide text rather than show it: control characters (ESC
# starts the ANSI sequences that move the cursor or clear the screen), format characters (the
# bidirectional overrides that reorder text) and line or paragraph separators.
_UNSAFE = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


def printable(text: str) -> str:
    """`text` safe to print: each control or format character written as an escape (\\x1b).

    Every message that quotes a file's content passes through here (RnnTraceError does it for
    the whole message), so a column named with an ANSI escape cannot clear the user's screen.
    Tabs and line breaks become spaces: messages are one line.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(ch) in _UNSAFE:
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


class RnnTraceError(Exception):
    """Base class: a mistake in the user's input, configuration or files."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # One line, always, and safe to print: the CLI writes exactly this to stderr.
        super().__init__(" ".join(printable(message).split()))

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


# Notes: what the user should know but that stops nothing (sequences left out by `nan="drop"`,
# the epochs chosen on a held-out split). The library never prints: a note goes to the
# "rnntrace" logger, which Python shows on stderr when nobody configured logging, and which
# the command line prints as "rnntrace: note: …".
NOTES = "rnntrace"


def note(message: str) -> None:
    """Tell the user something that stops nothing, in one printable line."""
    import logging

    logging.getLogger(NOTES).warning(" ".join(printable(message).split()))
