"""`rt.watch()`: training watched where it runs, one view redrawn in place as each epoch ends.

In a notebook the view is one output, updated through an IPython display handle (HTML: the
epochs, a loss chart, the latest observation; plain text where HTML is not shown). In a
terminal it is the live table of render.live_text. Either way it is an on_epoch_end:

    run = rt.run_lesson(epochs=5, on_epoch_end=rt.watch())
    history = rt.fit(model, data, on_epoch_end=rt.watch())
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from rich.console import Console

from rnntrace.render.live_text import LIVE_ROWS, LiveTable
from rnntrace.render.text import loss_chart

if TYPE_CHECKING:
    from rnntrace.records import EpochEnd, EpochRecord

__all__ = ["EpochsView", "NotebookWatch", "TerminalWatch", "in_notebook", "watch"]


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (an IPython shell that shows rich output)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def _chart(records: list[EpochRecord], width: int = 360, height: int = 120) -> str:
    """Loss (solid) and held-out loss (dashed) per epoch as a small inline SVG."""
    series = [[(r.epoch, r.loss) for r in records],
              [(r.epoch, r.val_loss) for r in records if r.val_loss is not None]]
    values = [v for s in series for _, v in s if v is not None and math.isfinite(v)]
    if not values:
        return ""
    low, high = min(values), max(values)
    high = high if high > low else low + 1
    first, last = records[0].epoch, max(records[-1].epoch, records[0].epoch + 1)
    pad = 30

    def point(epoch: int, value: float) -> str:
        x = pad + (epoch - first) / (last - first) * (width - pad - 6)
        y = 6 + (1 - (value - low) / (high - low)) * (height - 24)
        return f"{x:.1f},{y:.1f}"

    lines = []
    for s, dash in zip(series, ("", ' stroke-dasharray="5 3"'), strict=True):
        kept = [point(e, v) for e, v in s if v is not None and math.isfinite(v)]
        if kept:
            lines.append(f'<polyline points="{" ".join(kept)}" fill="none" stroke="#0072B2" '
                         f'stroke-width="2"{dash}/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Loss per epoch">'
        f'<text x="2" y="12" font-size="10">{high:.3f}</text>'
        f'<text x="2" y="{height - 14}" font-size="10">{low:.3f}</text>'
        f'<text x="{pad}" y="{height - 2}" font-size="10">epoch {first}</text>'
        f'<text x="{width - 6}" y="{height - 2}" font-size="10" text-anchor="end">'
        f'{records[-1].epoch}</text>{"".join(lines)}</svg>'
    )


class EpochsView:
    """What the notebook output shows after the latest epoch: a plain value with two views."""

    def __init__(self, records: list[EpochRecord], planned: int) -> None:
        self.records, self.planned = records, planned

    def _repr_html_(self) -> str:
        if not self.records:
            return "<p>Waiting for the first epoch to end…</p>"
        last = self.records[-1]
        rows = "".join(
            f"<tr><td>{r.epoch}</td><td>{_num(r.loss)}</td><td>{_num(r.accuracy, 2)}</td>"
            f"<td>{_num(r.val_loss)}</td><td>{_num(r.val_accuracy, 2)}</td>"
            f"<td>{_num(r.grad_norm)}</td></tr>"
            for r in self.records[-LIVE_ROWS:]
        )
        return (
            f'<div class="rnntrace-watch" data-epoch="{last.epoch}">'
            f"<p><b>Training: epoch {last.epoch} of {self.planned}</b></p>{_chart(self.records)}"
            "<table><thead><tr><th>Epoch</th><th>Loss</th><th>Acc</th><th>Held-out loss</th>"
            f"<th>Held-out acc</th><th>Grad norm</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>{last.epoch}. {html.escape(last.observation)}</p></div>"
        )

    def __repr__(self) -> str:
        if not self.records:
            return "Waiting for the first epoch to end…"
        last = self.records[-1]
        return (f"Training: epoch {last.epoch} of {self.planned}\n"
                f"{loss_chart(self.records[-LIVE_ROWS:])}\n{last.epoch}. {last.observation}")


class NotebookWatch:
    """One notebook output, shown at the first epoch and updated in place at each next one."""

    def __init__(self) -> None:
        self.records: list[EpochRecord] = []
        self.handle: Any = None

    def __call__(self, end: EpochEnd, *_: Any) -> None:
        from IPython.display import display

        self.records.append(end.record)
        view = EpochsView(list(self.records), end.epochs)
        if self.handle is None:
            self.handle = display(view, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self.handle.update(view)


class TerminalWatch:
    """The live table in a terminal, started at the first epoch and ended at the last one
    planned (or by leaving a `with` block, for a run that stops early)."""

    def __init__(self, console: Console | None = None) -> None:
        self.table = LiveTable(console or Console())
        self.started = False

    def __call__(self, end: EpochEnd, *_: Any) -> None:
        if not self.started:
            self.table.__enter__()
            self.started = True
        self.table.update(end)
        if end.record.epoch >= end.epochs:
            self.close()

    def close(self) -> None:
        if self.started:
            self.table.__exit__(None, None, None)
            self.started = False

    def __enter__(self) -> TerminalWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def watch() -> NotebookWatch | TerminalWatch:
    """An on_epoch_end that shows training as it goes: one output updated in place in a
    notebook, a live table in a terminal (silent when the output is neither)."""
    return NotebookWatch() if in_notebook() else TerminalWatch()
