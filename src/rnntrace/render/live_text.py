"""Training watched in a terminal: one table that rich redraws in place as each epoch ends.

The epochs so far (the last LIVE_ROWS of them), the loss chart in characters, and the latest
epoch's observation; silent when the output is not a terminal, as the progress bar is.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from rnntrace.render.text import loss_chart, training_table

if TYPE_CHECKING:
    from rnntrace.records import EpochEnd, EpochRecord

LIVE_ROWS = 12  # epochs shown in the table; the chart keeps every epoch


def live_view(records: list[EpochRecord], planned: int) -> RenderableType:
    """What the terminal shows after the latest of `records` (planned: epochs in total)."""
    if not records:
        return Text("Waiting for the first epoch to end…")
    last = records[-1]
    table = training_table(records[-LIVE_ROWS:])
    table.title = f"Training: epoch {last.epoch} of {planned}"
    return Group(table, Text(loss_chart(records[-LIVE_ROWS:])),
                 Text.from_markup(f"[bold]{last.epoch}.[/bold] {escape(last.observation)}"))


class LiveTable:
    """The table kept up to date in place; pass `update` as on_epoch_end."""

    def __init__(self, out: Console, enabled: bool = True) -> None:
        self.records: list[EpochRecord] = []
        self.planned = 0
        self._live: Live | None = None
        if enabled and out.is_terminal:
            self._live = Live(live_view([], 0), console=out, auto_refresh=False, transient=False)

    def __enter__(self) -> LiveTable:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, exc, tb)

    def update(self, end: EpochEnd, *_: Any) -> None:
        self.records.append(end.record)
        self.planned = end.epochs
        if self._live is not None:
            self._live.update(live_view(self.records, self.planned), refresh=True)
