"""The one rule for numbers written as text, shared by every text format (CSV, TSV, .ts).

    accepted   1   -2   +0.5   .5   1.   1e-3   2.5E+10   nan   inf   -Infinity   (spaces around)
    refused    1_000   0x10   ١ (non-ASCII digits)   1,5   1d5   --1   ''

Python's float() would take 1_000 and Arabic-Indic digits, which a CSV reader (pandas) refuses;
one pattern keeps a value meaning the same in every format. NaN and inf are numbers here: the
readers' nan policy decides what happens to them. Times must be finite (`finite_or_none`).
"""

from __future__ import annotations

import math
import re

# ASCII digits only ([0-9], not \d, which matches every script's digits).
PATTERN = (r"\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
           r"|(?i:nan|inf|infinity))\s*")
_NUMBER = re.compile(PATTERN)
_LIST_PATTERN = re.compile(rf"(?:{PATTERN})?(?:,(?:{PATTERN})?)*")  # "1,2,,3": empty is missing


def is_number(text: str) -> bool:
    """Whether `text` is a number under the one rule."""
    return _NUMBER.fullmatch(text) is not None


def parse(text: str) -> float | None:
    """The value of `text`, or None when it is not a number under the one rule."""
    return float(text) if _NUMBER.fullmatch(text) else None


def is_number_list(text: str) -> bool:
    """Whether comma-separated `text` holds only numbers and empty cells (one regex pass)."""
    return _LIST_PATTERN.fullmatch(text) is not None


def finite_or_none(value: float) -> float | None:
    """`value` when finite: a time of 1e400 (inf) would move its row to an end of the series."""
    return value if math.isfinite(value) else None
