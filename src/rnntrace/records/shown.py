"""How a record shows itself: printed as its terminal view, as HTML in Jupyter, as rich output.

The views are pure functions in rnntrace.render, a layer below records that knows record types
for type checking only (as torchinfo's ModelStatistics uses its formatting module). A record
names its own view; the view module is imported when a record is first shown, so that loading
records costs neither rich nor matplotlib.
"""

from __future__ import annotations

from typing import Any


class Shown:
    """Printed as the terminal view, shown as HTML in Jupyter and as rich renderables."""

    def _renderables(self) -> list[Any]:
        """The record's terminal view, part by part (each record says which view is its own)."""
        raise NotImplementedError

    def __str__(self) -> str:
        from rnntrace.render.notebook import text_of

        return text_of(self._renderables())

    def _repr_html_(self) -> str:
        from rnntrace.render.notebook import html_of

        return html_of(self._renderables())

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from self._renderables()
