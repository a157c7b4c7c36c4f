"""A few real values from a tensor, rounded, for showing in a trace."""

from __future__ import annotations

from typing import Any

from torch import Tensor


def sample_values(t: Tensor, rows: int = 2, cols: int = 4, digits: int = 4) -> Any:
    """The leading corner of a tensor as nested lists: enough to see real numbers, not all."""
    t = t.detach().cpu().float()
    if t.dim() == 0:
        return round(float(t), digits)
    if t.dim() == 1:
        return [round(float(v), digits) for v in t[:cols]]
    return [sample_values(row, rows, cols, digits) for row in t[:rows]]


def to_list(t: Tensor, digits: int = 6) -> Any:
    """A whole (small) tensor as nested lists of rounded floats."""
    values = t.detach().cpu().double()
    if values.dim() == 0:
        return round(float(values), digits)
    return (
        [to_list(v, digits) for v in values]
        if values.dim() > 1
        else [round(float(v), digits) for v in values]
    )
