"""`--live` for the commands that train: the page's address first, then a live table."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def watched(start: Callable[..., Any], console: Any, json: bool) -> Any:
    """Run `start(on_epoch_end, on_start)` with the live table, naming the page as it appears."""
    from rnntrace.experiment.live import LIVE_PAGE
    from rnntrace.render.live_text import LiveTable

    def announce(path: Path) -> None:
        # stderr: stdout may be the trace as JSON
        print(f"rnntrace: watch it learn: {(path / LIVE_PAGE).resolve().as_uri()}",
              file=sys.stderr, flush=True)

    with LiveTable(console, enabled=not json) as table:
        return start(table.update, announce)
