"""CSV and Parquet in long format → SequenceSet: one row per time step of one sequence.

    id,time,label,x,y          each id is one sequence; its rows may come in any order and
    w1,0,walk,0.1,0.3          are sorted by time; the label is the same on all its rows;
    w1,1,walk,0.2,0.1          every other numeric column is a feature (or name them with
    w2,0,run,1.5,0.9           features=[...]); a text column that holds no numbers is left out

Everything is done with whole-column operations (factorize, lexsort, one scatter into the padded
array), so a million rows read in about a second. Places in messages are file lines for CSV
(line 1 is the header) and 1-based rows for Parquet. pandas and pyarrow are the optional `data`
extra, imported only here.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rnntrace.data import labels as label_codes
from rnntrace.data import missing
from rnntrace.data.labels import UNLABELLED
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import DataError

_INSTALL = "pip install pandas pyarrow"
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _pandas(source: str, what: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise DataError(f"{source}: reading {what} needs pandas; install it with {_INSTALL}"
                        ) from None
    return pd


class _Places:
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
        return next(csv.reader([line], delimiter=self.csv_sep), [])

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

        cells = pq.read_table(self.path, columns=[name]).column(0)
        if cells[index].is_valid:
            return "NaN (not a number)"
        return "null (missing; pandas saves NaN as null)"


def _load(path: Path, source: str, sep: str | None, text_columns: list[str]) -> Any:
    """The file as a DataFrame; id and label read as text so "007" stays "007"."""
    pd = _pandas(source, "CSV" if sep is not None else "Parquet")
    if sep is None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(f"{source}: reading Parquet needs pyarrow; install it with {_INSTALL}"
                            ) from None
        try:
            frame = pq.read_table(path).to_pandas()
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError subclasses by the dozen
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"{source}: not a readable Parquet file ({first})") from None
        return frame
    try:
        header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig").columns
        return pd.read_csv(
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


class _Coded:
    """A column as integer codes (numbered by first appearance) and the text of each code."""

    def __init__(self, column: Any, pd: Any) -> None:
        codes, uniques = pd.factorize(column)
        # 1 and "1" (or 1.0 in a float column) name one class: merge codes whose text is equal
        text = label_codes.label_strings(np.asarray(uniques))
        names, first, merged = np.unique(text, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))  # keep first-appearance numbering after merging
        self.codes = rank[merged.reshape(-1)][codes].astype(np.int64)  # (rows,)
        self.names = [str(n) for n in names[np.argsort(first)]]

    def __getitem__(self, row: int) -> str:
        return self.names[int(self.codes[row])]


def _show(value: Any) -> str:
    """A cell as the user wrote it: numpy scalars shown as plain Python values."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _require_column(frame: Any, name: str, role: str, source: str) -> None:
    if name not in frame.columns:
        available = ", ".join(str(c) for c in frame.columns)
        raise DataError(f"{source}: no {role} column {name!r}; the columns are {available}; "
                        f"name the right one with --{role} ({role}= in Python)")


def _first_missing(frame: Any, columns: Sequence[str]) -> tuple[int, str] | None:
    """(row index, column) of the first empty cell among `columns`, in file order."""
    mask = frame[list(columns)].isna().to_numpy()  # (rows, columns)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    i = int(rows[0])
    return i, str(columns[int(np.argmax(mask[i]))])


def _numeric(frame: Any, name: str, places: _Places, ids: _Coded, named: bool) -> Any | None:
    """Column `name` as float64, None for a text column left out, or a DataError for a typo."""
    pd = _pandas(places.source, "tables")
    column = frame[name]
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero((numbers.isna() & column.notna()).to_numpy())
    if bad.size == 0:
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if not named and numbers.notna().sum() == 0:
        return None  # a text column (e.g. a subject's name): not a feature unless named
    i = int(bad[0])
    raise DataError(f"{places.source} {places.at(i)} (id {ids[i]!r}): feature {name!r} is "
                    f"{_show(column.iloc[i])}, not a number; fix the value, or leave the column "
                    "out by naming the features with --features (features=[...] in Python)")


def _times(frame: Any, name: str, places: _Places, ids: _Coded) -> npt.NDArray[Any]:
    """Time stamps as numbers: numeric columns as they are, ISO dates as nanoseconds."""
    pd = _pandas(places.source, "tables")
    column = frame[name]
    if pd.api.types.is_numeric_dtype(column):
        return np.asarray(column.to_numpy())
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().all():
        return np.asarray(numbers.to_numpy())
    dates = pd.to_datetime(column, errors="coerce", format="ISO8601")
    if dates.notna().all():
        return np.asarray(dates.to_numpy().astype("datetime64[ns]").astype(np.int64))
    is_date = numbers.isna().to_numpy()
    neither = np.flatnonzero(is_date & dates.isna().to_numpy())
    if neither.size:
        i = int(neither[0])
        raise DataError(f"{places.source} {places.at(i)} (id {ids[i]!r}): time "
                        f"{_show(column.iloc[i])} is neither a number nor an ISO date; fix it or "
                        "choose another time column with --time (time= in Python)")
    # Every cell is a number or a date, not all one kind: the rarer kind is most likely the slip.
    rare_is_date = is_date.sum() <= (~is_date).sum()
    i = int(np.flatnonzero(is_date == rare_is_date)[0])
    j = int(np.flatnonzero(is_date != rare_is_date)[0])
    kinds = ("a date", "a number") if rare_is_date else ("a number", "a date")
    raise DataError(f"{places.source} {places.at(i)} (id {ids[i]!r}): time column {name!r} mixes "
                    f"numbers and dates: {_show(column.iloc[i])} is {kinds[0]} but "
                    f"{places.at(j)} has {kinds[1]}, {_show(column.iloc[j])}; write every time "
                    "the same way")


def read_table(
    path: Path,
    *,
    sep: str | None,
    label: str = "label",
    id: str = "id",
    time: str | None = "time",
    features: Sequence[str] | None = None,
    nan: str = "error",
    min_classes: int = 2,
    labelled: bool = True,
) -> SequenceSet:
    """A CSV (sep="," or "\\t") or Parquet (sep=None) file in long format."""
    missing.check_policy(nan)
    source = str(path)
    places = _Places(path, source, sep)
    frame = _load(path, source, sep, [id, label])
    if not labelled and label not in frame.columns:
        frame[label] = UNLABELLED  # sequences to classify need no label column
    for name, role in ((id, "id"), (label, "label"), (time, "time")):
        if name is not None:
            _require_column(frame, name, role, source)
    if features is not None:
        absent = [f for f in features if f not in frame.columns]
        if absent:
            raise DataError(f"{source}: no feature column {', '.join(map(repr, absent))}; the "
                            f"columns are {', '.join(str(c) for c in frame.columns)}")
        if not features:
            raise DataError(f"{source}: the feature list (--features, features= in Python) "
                            "names no columns; name at least one")
        for name, role in ((id, "id"), (label, "label")):
            if name in features:
                raise DataError(f"{source}: {name!r} is the {role} column and cannot also be a "
                                "feature; leave it out of --features (features= in Python)")
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.all():
        raise DataError(f"{source}: a header but no rows; expected one row per time step")
    if blank.any():
        frame = frame[~blank]
    keys = [id, label] + ([time] if time is not None else [])
    if (gap := _first_missing(frame, keys)) is not None:
        i, column = int(frame.index[gap[0]]), gap[1]
        raise places.short_row(i, len(frame.columns)) or DataError(
            f"{source} {places.line(i)}: the {column} cell is empty; every row needs an id, a "
            "label and a time")
    places.rows = rows = frame.index.to_numpy()  # the frame's index is the file position
    pd = _pandas(source, "tables")
    ids = _Coded(frame[id], pd)
    reserved = {id, label} | ({time} if time is not None else set())
    candidates = list(features) if features is not None else [
        c for c in frame.columns if c not in reserved]
    columns: list[npt.NDArray[np.float64]] = []
    names: list[str] = []
    for name in candidates:
        numbers = _numeric(frame, name, places, ids, features is not None)
        if numbers is not None:
            columns.append(numbers)
            names.append(str(name))
    if not names:
        raise DataError(f"{source}: no numeric feature columns besides {id}, {time} and "
                        f"{label}; the columns are {', '.join(str(c) for c in frame.columns)}")
    with np.errstate(over="ignore"):  # beyond float32's range becomes inf, reported below
        feats = np.stack(columns, axis=1).astype(np.float32)  # (rows, F)
    if nan == "error":
        bad_rows = np.flatnonzero(~np.isfinite(feats).all(axis=1))
        if bad_rows.size:
            i = int(bad_rows[0])
            j = int(np.argmax(~np.isfinite(feats[i])))
            row = int(rows[i])
            shown = (places.missing_cell(row, frame.columns.get_loc(names[j]), names[j])
                     if np.isnan(feats[i, j]) else float(feats[i, j]))
            raise places.short_row(row, len(frame.columns)) or DataError(
                f"{source} {places.at(i)} (id {ids[i]!r}): feature {names[j]!r} is {shown}; "
                f"{missing.HINT}")
    times = (_times(frame, time, places, ids) if time is not None
             else np.arange(len(frame)))

    def time_of(row: int) -> str:
        return _show(frame.at[row, time]) if time is not None else "(file order)"

    return _assemble(_Coded(frame[label], pd), ids, times, feats, rows, names, places,
                     time_of, nan, min_classes)


def _assemble(
    raw_labels: _Coded,
    ids: _Coded,
    times: npt.NDArray[Any],
    feats: npt.NDArray[np.float32],
    rows: npt.NDArray[Any],
    names: list[str],
    places: _Places,
    time_of: Callable[[int], str],
    nan: str,
    min_classes: int,
) -> SequenceSet:
    """Group rows by id, sort each group by time and scatter them into the padded array."""
    source = places.source
    order = np.lexsort((times, ids.codes))  # by sequence (in order of first appearance), time
    seq, times, feats, rows = ids.codes[order], times[order], feats[order], rows[order]
    label_of = raw_labels.codes[order]
    same = seq[1:] == seq[:-1]
    if (dup := np.flatnonzero(same & (times[1:] == times[:-1]))).size:
        k = int(dup[0])
        first, second = int(rows[k]), int(rows[k + 1])
        raise DataError(f"{source}: id {ids.names[seq[k]]!r} has two rows for time "
                        f"{time_of(first)} ({places.line(first)} and {places.line(second)}); "
                        "keep one row per time step")
    if (change := np.flatnonzero(same & (label_of[1:] != label_of[:-1]))).size:
        k = int(change[0])
        before, after = raw_labels.names[label_of[k]], raw_labels.names[label_of[k + 1]]
        raise DataError(f"{source}: id {ids.names[seq[k]]!r} changes label from {before!r} "
                        f"({places.line(int(rows[k]))}) to {after!r} "
                        f"({places.line(int(rows[k + 1]))}); a sequence has one label")
    lengths = np.bincount(seq).astype(np.int64)  # (N,)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    step = np.arange(len(seq)) - starts[seq]
    values = np.zeros((len(lengths), int(lengths.max()), len(names)), dtype=np.float32)
    values[seq, step] = feats  # (N, T, F) ← (rows, F)
    seq_ids = list(ids.names)  # sequence i is id code i
    seq_labels = np.array(raw_labels.names)[label_of[starts]]

    def describe(i: int, t: int, j: int) -> str:
        return f"{source}: id {seq_ids[i]!r}, step {t}, feature {names[j]!r}"

    values, keep = missing.apply(values, lengths, nan, source, describe)
    dropped = missing.left_out(seq_ids, keep)
    if keep is not None:
        lengths, seq_labels = lengths[keep], seq_labels[keep]
        seq_ids = [seq_ids[i] for i in keep]
    codes_out, classes = label_codes.encode(seq_labels)
    label_codes.require_classes(classes, min_classes, source)
    return SequenceSet(values=values, lengths=lengths, labels=codes_out, class_names=classes,
                       feature_names=names, ids=seq_ids, source=source, dropped=dropped)
