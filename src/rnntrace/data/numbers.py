"""The one rule for numbers written as text, shared by every text format (CSV, TSV, .ts).

    accepted   1   -2   +0.5   .5   1.   1e-3   2.5E+10   nan   inf   -Infinity   (spaces around)
    refused    1_000   0x10   ١ (non-ASCII digits)   1,5   1d5   --1   ''

Python's float() would take 1_000 and Arabic-Indic digits, which a CSV reader (pandas) refuses;
one pattern keeps a value meaning the same in every format. NaN and inf are numbers here: the
readers' nan policy decides what happens to them (times must be finite: rnntrace.data.tabular).
"""

from __future__ import annotations

import decimal
import re
from typing import Any

import numpy as np

# ASCII digits only ([0-9], not \d, which matches every script's digits).
PATTERN = (r"\s*[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
           r"|(?i:nan|inf|infinity))\s*")
_NUMBER = re.compile(PATTERN)


def is_number(text: str) -> bool:
    """Whether `text` is a number under the one rule (linear time: the pattern never backtracks
    over a digit run twice, so a 5,000-digit cell costs microseconds, not seconds)."""
    return _NUMBER.fullmatch(text) is not None


def cell_value(value: Any) -> float | None:
    """A table cell (text, or a number pandas or pyarrow made) by the one rule; None if none."""
    if isinstance(value, str):
        return float(value) if is_number(value) else None
    if isinstance(value, (int, float, np.integer, np.floating, decimal.Decimal)) and not (
            isinstance(value, (bool, np.bool_))):
        try:
            return float(value)  # pandas keeps integers beyond int64 as Python ints
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")
        except ValueError:  # Decimal('sNaN')
            return float("nan")
    return None
