"""Numbers, shapes and sampled values as short text, shared by the terminal and HTML views."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def fmt_number(value: Any, digits: int = 3) -> str:
    """A float to `digits` decimals; None as a dash; NaN and inf spelled out."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return str(value)


def fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def fmt_values(values: Any, digits: int = 3, limit: int = 8) -> str:
    """Nested lists of numbers as short text, at most `limit` items a level: [0.12, -0.53, …]."""
    if isinstance(values, list):
        items = [fmt_values(v, digits, limit) for v in values[:limit]]
        if len(values) > limit:
            items.append("…")
        return "[" + ", ".join(items) + "]"
    return fmt_number(values, digits)
