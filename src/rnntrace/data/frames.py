"""A CSV or Parquet file → a DataFrame whose row i is the file's row i, and names for its places.

Messages name places in the file: "line 7" for CSV (line 1 is the header, blank lines count) and
"row 6" for Parquet. pandas would quietly reshape some files on the way in; here those are refused
with the line to fix:

    id,time,label,a          a data row with a field more than the header: pandas would take
    s0,0,up,1.0,             the first column as an index and shift every column by one
    ,id,time,label,a         an empty header name (pandas' own index): "Unnamed: 0", a feature
    id,a,a                   a repeated name: pandas renames the second "a.1"
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rnntrace.errors import DataError

INSTALL = "pip install pandas pyarrow"
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def pandas_module(source: str, what: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise DataError(f"{source}: reading {what} needs pandas; install it with {INSTALL}"
                        ) from None
    return pd


class Places:
    """Names a row's place in the file: "line 7" (CSV, header is line 1) or "row 6" (Parquet)."""

    def __init__(self, path: Path, source: str, csv_sep: str | None) -> None:
        self.path, self.source, self.csv_sep = path, source, csv_sep
        self.rows: npt.NDArray[Any] = np.zeros(0, dtype=np.int64)  # kept row i ← file row

    def line(self, index: int) -> str:
        """The place of the row at `index` in the file (blank rows included)."""
        return f"line {index + 2}" if self.csv_sep is not None else f"row {index + 1}"

    def at(self, position: int) -> str:
        """The place of the kept row at `position` (after blank rows were dropped)."""
        return self.line(int(self.rows[position]))

    def _fields(self, index: int) -> list[str]:
        """The cells of CSV row `index` as written (pandas keeps no trace of "" versus "nan")."""
        assert self.csv_sep is not None
        with self.path.open(encoding="utf-8-sig", newline="") as fh:
            line = next(itertools.islice(fh, index + 1, None), "")
        try:
            return next(csv.reader([line], delimiter=self.csv_sep), [])
        except csv.Error:  # a NUL or an over-long field: pandas read it, the place is enough
            return []

    def written(self, index: int, column: int) -> str | None:
        """A CSV cell's text as written (None for Parquet, whose cells have no text)."""
        if self.csv_sep is None:
            return None
        fields = self._fields(index)
        return fields[column].strip() if column < len(fields) else ""

    def short_row(self, index: int, n_columns: int) -> DataError | None:
        """The ragged-row error when CSV line `index` has fewer fields than the header."""
        if self.csv_sep is None:
            return None
        fields = self._fields(index)
        if len(fields) >= n_columns:
            return None
        return DataError(f"{self.source} line {index + 2}: {len(fields)} fields where the header "
                         f"has {n_columns}; every row needs one value per column")

    def missing_cell(self, index: int, column: int, name: str) -> str:
        """What a cell read as NaN holds in the file: empty (or null), or a NaN."""
        if self.csv_sep is not None:
            fields = self._fields(index)
            text = fields[column].strip() if column < len(fields) else ""
            if not text:
                return "empty"
            if text.lower() in ("nan", "-nan", "+nan"):
                return "NaN (not a number)"
            return f"{text!r}, read as NaN (not a number)"  # pandas' markers: NA, null, None...
        import pyarrow.parquet as pq  # _load has imported it already

        try:
            cells = pq.read_table(self.path, columns=[name]).column(0)
            valid = cells[index].is_valid
        except Exception:  # a column restored from a saved index, an odd layout
            return "NaN or null (missing)"
        if valid:
            return "NaN (not a number)"
        return "null (missing; pandas saves NaN as null)"


def load(path: Path, source: str, sep: str | None, text_columns: list[str],
          needed: list[str] | None) -> Any:
    """The file as a DataFrame; id and label read as text so "007" stays "007".

    Rows are numbered 0.. in file order whatever the file says (a Parquet file may carry a
    pandas index): the frame's index is every message's place in the file.
    """
    pd = pandas_module(source, "CSV" if sep is not None else "Parquet")
    if sep is None:
        from rnntrace.data import parquet

        return parquet.load(path, source, needed, INSTALL)
    try:
        header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig").columns
        frame = pd.read_csv(
            path, sep=sep, encoding="utf-8-sig", low_memory=False,
            # blank lines kept as empty rows (dropped later) so row i is always line i + 2
            skip_blank_lines=False,
            dtype={name: str for name in text_columns if name in header},
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: the file is empty; expected a header line and rows") from None
    except pd.errors.ParserError as exc:
        m = _RAGGED.search(str(exc))
        if m:
            expected, line, saw = m.groups()
            raise DataError(f"{source} line {line}: {saw} fields where the header has "
                            f"{expected}; every row needs one value per column") from None
        raise DataError(f"{source}: not readable as CSV ({str(exc).strip()})") from None
    except UnicodeDecodeError:
        raise DataError(f"{source}: not UTF-8 text; save it as UTF-8 CSV") from None
    except (ValueError, OverflowError, csv.Error) as exc:
        raise DataError(f"{source}: not readable as CSV ({str(exc).strip()})") from None
    _check_header(path, source, sep)
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes the first column(s) as an index when rows have more fields than the
        # header, shifting every column by one: name the first such line instead.
        raise _long_row(path, source, sep, len(frame.columns))
    return frame


def _check_header(path: Path, source: str, sep: str) -> None:
    """Refuse header names pandas would silently rename: repeated ("a" → "a.1") or empty."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        try:
            names = next(csv.reader(fh, delimiter=sep), [])
        except csv.Error:
            return  # pandas read it; a field csv cannot is not a naming problem
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        if not name.strip():
            raise DataError(f"{source}: column {i} has no name in the header line; name it or "
                            "drop it (pandas writes its index there unless saved with "
                            "index=False)")
        if name in seen:
            raise DataError(f"{source}: column {name!r} appears twice in the header; give "
                            "each column its own name")
        seen.add(name)


def _long_row(path: Path, source: str, sep: str, n_columns: int) -> DataError:
    """The error for the first CSV line with more fields than the header."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for number, fields in enumerate(csv.reader(fh, delimiter=sep), start=1):
            if len(fields) > n_columns:
                extra = " (a trailing separator?)" if fields[-1] == "" else ""
                return DataError(f"{source} line {number}: {len(fields)} fields where the "
                                 f"header has {n_columns}{extra}; every row needs one value "
                                 "per column")
    return DataError(f"{source}: rows have more fields than the header has columns; every row "
                     "needs one value per column")


