"""The report page written to disk: the view's HTML (render.html) saved atomically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rnntrace.render.html import render_report
from rnntrace.run.files import atomic_write_text

if TYPE_CHECKING:
    from rnntrace.records import Explanation, Trace


def write_report(trace: Trace, path: Path, explanation: Explanation | None = None) -> Path:
    """Render the report and write it atomically to `path` (a whole file or none); return it."""
    atomic_write_text(path, render_report(trace, explanation))
    return path


def report(trace: Trace, path: str | Path) -> Path:
    """Write the report page of any Trace (ours or a user's model's) to `path`; return it."""
    return write_report(trace, Path(path))
