"""CSV and Parquet in long format → SequenceSet: one row per time step of one sequence.

    id,time,label,x,y          each id is one sequence; its rows may come in any order and
    w1,0,walk,0.1,0.3          are sorted by time; the label is the same on all its rows;
    w1,1,walk,0.2,0.1          every other numeric column is a feature (or name them with
    w2,0,run,1.5,0.9           features=[...]); a text column that holds no numbers is left out

Everything is done with whole-column operations (factorize, lexsort, one scatter into the padded
array), so a million rows read in about a second. The file becomes a DataFrame in
rnntrace.data.frames (which also names places: file lines for CSV, 1-based rows for Parquet);
pandas and pyarrow are the optional `data` extra, imported only by these modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rnntrace.data import labels as label_codes
from rnntrace.data import missing, numbers
from rnntrace.data.frames import Places as _Places
from rnntrace.data.frames import load as _load
from rnntrace.data.frames import pandas_module as _pandas
from rnntrace.data.labels import UNLABELLED
from rnntrace.data.sequences import SequenceSet, finish
from rnntrace.errors import DataError


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
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    values, ok = _to_numbers(column, pd)
    bad = np.flatnonzero(~ok & column.notna().to_numpy())
    if bad.size == 0:
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if not named and not ok.any():
        return None  # a text column (e.g. a subject's name): not a feature unless named
    i = int(bad[0])
    raise DataError(f"{places.source} {places.at(i)} (id {ids[i]!r}): feature {name!r} is "
                    f"{_show(column.iloc[i])}, not a number; fix the value, or leave the column "
                    "out by naming the features with --features (features=[...] in Python)")


def _to_numbers(column: Any, pd: Any) -> tuple[Any, npt.NDArray[np.bool_]]:
    """A text column as float64 under the one rule (NaN where not), and which cells were numbers.

    "nan" is a number (a NaN, for the nan policy); an empty cell is none.
    """
    if not (pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column)):
        return pd.Series(np.nan, index=column.index), np.zeros(len(column), bool)  # dates...
    values = [numbers.cell_value(v) for v in column.astype(object).where(column.notna(), None)]
    ok = np.array([v is not None for v in values], dtype=bool)
    floats = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.Series(floats, index=column.index), ok


def _finite_times(values: npt.NDArray[Any], column: Any, places: _Places, ids: _Coded
                  ) -> npt.NDArray[Any]:
    """Numeric times, refused when one is NaN or ±inf (1e400 would sort to an end)."""
    if values.dtype.kind == "b":
        values = values.astype(np.int64)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        i = int(np.flatnonzero(~np.isfinite(values))[0])
        raise DataError(f"{places.source} {places.at(i)} (id {ids[i]!r}): time "
                        f"{_show(column.iloc[i])} is not a finite number; fix it or choose "
                        "another time column with --time (time= in Python)")
    return values


def _times(frame: Any, name: str, places: _Places, ids: _Coded) -> npt.NDArray[Any]:
    """Time stamps as numbers: numeric columns as they are, ISO dates as nanoseconds."""
    pd = _pandas(places.source, "tables")
    column = frame[name]
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return _finite_times(np.asarray(column.to_numpy()), column, places, ids)
    if pd.api.types.is_datetime64_any_dtype(column):
        dates = column  # a Parquet timestamp column
    else:
        parsed, _ = _to_numbers(column, pd)
        if parsed.notna().all():
            return _finite_times(np.asarray(parsed.to_numpy()), column, places, ids)
        try:
            # utc=True: ISO times with different offsets are compared as instants
            dates = pd.to_datetime(column, errors="coerce", format="ISO8601", utc=True)
        except (ValueError, TypeError, OverflowError):
            dates = pd.Series(pd.NaT, index=column.index)
    if dates.notna().all():
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
        # counts of the column's own unit (ns, us...): a coarser one could merge two steps
        return np.asarray(dates.to_numpy()).astype(np.int64)
    _, is_number = _to_numbers(column, pd)
    is_date = ~is_number
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
    per_step: bool = False,
    targets: Sequence[str] = (),
) -> SequenceSet:
    """A CSV (sep="," or "\\t") or Parquet (sep=None) file in long format.

    `per_step`: the label column labels each row (time step), and may change within a sequence.
    `targets`: several numeric columns to regress on, the first of them `label` (readers.read
    passes them): each must hold one number per sequence; the set's `targets` is (N, K).
    """
    source = str(path)
    places = _Places(path, source, sep)
    others = [t for t in targets if t != label]  # the targets after the first
    needed = None if features is None else [
        c for c in (id, label, *others, time, *features) if c is not None]
    frame = _load(path, source, sep, [id, label], needed)
    if not labelled and label not in frame.columns:
        frame[label] = UNLABELLED  # sequences to classify need no label column
    for name, role in ((id, "id"), (label, "label"), (time, "time"),
                       *((t, "label") for t in others if labelled)):
        if name is not None:
            _require_column(frame, name, role, source)
    if not labelled:  # sequences to predict: their target columns, if any, are not features
        others = [t for t in others if t in frame.columns]
    if features is not None:
        absent = [f for f in features if f not in frame.columns]
        if absent:
            raise DataError(f"{source}: no feature column {', '.join(map(repr, absent))}; the "
                            f"columns are {', '.join(str(c) for c in frame.columns)}")
        if not features:
            raise DataError(f"{source}: the feature list (--features, features= in Python) "
                            "names no columns; name at least one")
        for name, role in ((id, "id"), *((t, "label") for t in (label, *others))):
            if name in features:
                raise DataError(f"{source}: {name!r} is the {role} column and cannot also be a "
                                "feature; leave it out of --features (features= in Python)")
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.all():
        raise DataError(f"{source}: a header but no rows; expected one row per time step")
    if blank.any():
        frame = frame[~blank]
    keys = [id, label, *others] + ([time] if time is not None else [])
    if (gap := _first_missing(frame, keys)) is not None:
        i, column = int(frame.index[gap[0]]), gap[1]
        text = places.written(i, frame.columns.get_loc(column))
        held = ("null" if text is None else "empty" if not text
                else f"{text!r}, which reads as missing")
        raise places.short_row(i, len(frame.columns)) or DataError(
            f"{source} {places.line(i)}: the {column} cell is {held}; every row needs an id, a "
            "label and a time")
    places.rows = rows = frame.index.to_numpy()  # the frame's index is the file position
    pd = _pandas(source, "tables")
    ids = _Coded(frame[id], pd)
    reserved = {id, label, *others} | ({time} if time is not None else set())
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

    several = len(targets) > 1 and labelled
    per_id = _target_table(frame, [label, *others], ids, places) if several else None
    written = _written_times(frame[time], pd) if per_step and time is not None else None
    data = _assemble(_Coded(frame[label], pd), ids, times, feats, rows, names, places,
                     time_of, nan, 1 if several else min_classes, per_step, written)
    if written is not None:
        data.time_column = str(time)
    if per_id is None:
        return data
    from rnntrace.data.targets import strata

    code_of = {name: code for code, name in enumerate(ids.names)}
    kept = per_id[[code_of[i] for i in data.ids]].astype(np.float32)  # (N, K), in set order
    return SequenceSet(values=data.values, lengths=data.lengths, labels=strata(kept),
                       class_names=[], feature_names=list(data.feature_names),
                       ids=list(data.ids), source=data.source, dropped=list(data.dropped),
                       targets=kept, target_names=[label, *others])


def _written_times(column: Any, pd: Any) -> npt.NDArray[Any]:
    """The time column's values as a reader of the file sees them (rows,): numbers as numbers,
    text as written, a Parquet timestamp as its ISO text; what a prediction's step column
    holds, so that it joins back to the file on (id, time)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return np.asarray(column.map(lambda t: t.isoformat()).to_numpy(), dtype=object)
    return np.asarray(column.to_numpy())


def _target_table(frame: Any, names: list[str], ids: _Coded, places: _Places
                  ) -> npt.NDArray[np.float64]:
    """Each id's value of every target column, (ids, K) by id code; a DataError for a value
    that is not a finite number or that changes within a sequence."""
    pd = _pandas(places.source, "tables")
    columns = []
    for name in names:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            parsed, _ = _to_numbers(column, pd)
            values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{places.source} {places.at(i)} (id {ids[i]!r}): target {name!r} "
                            f"is {_show(column.iloc[i])}, not a finite number; several label "
                            "columns are numbers to predict, one per sequence each")
        columns.append(values)
    table = np.stack(columns, axis=1)  # (rows, K)
    _, first = np.unique(ids.codes, return_index=True)  # each id's first row, by id code
    per_id = table[first]  # (ids, K)
    differ = np.flatnonzero((table != per_id[ids.codes]).any(axis=1))
    if differ.size:
        i = int(differ[0])
        k = int(np.argmax(table[i] != per_id[ids.codes[i]]))
        j = int(first[ids.codes[i]])
        column = frame[names[k]]
        raise DataError(f"{places.source}: id {ids[i]!r} has target {names[k]!r} "
                        f"{_show(column.iloc[j])} ({places.at(j)}) and {_show(column.iloc[i])} "
                        f"({places.at(i)}); a sequence has one value of each target")
    return per_id


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
    per_step: bool = False,
    written: npt.NDArray[Any] | None = None,
) -> SequenceSet:
    """Group rows by id, sort each group by time and scatter them into the padded array;
    `written`, each row's time as the file holds it, is kept per step (SequenceSet.step_times)."""
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
    change = np.flatnonzero(same & (label_of[1:] != label_of[:-1]))
    if change.size and not per_step:
        k = int(change[0])
        before, after = raw_labels.names[label_of[k]], raw_labels.names[label_of[k + 1]]
        raise DataError(f"{source}: id {ids.names[seq[k]]!r} changes label from {before!r} "
                        f"({places.line(int(rows[k]))}) to {after!r} "
                        f"({places.line(int(rows[k + 1]))}); a sequence has one label, or, "
                        "to label every step, say so with --task steps (task='steps')")
    lengths = np.bincount(seq).astype(np.int64)  # (N,)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    step = np.arange(len(seq)) - starts[seq]
    values = np.zeros((len(lengths), int(lengths.max()), len(names)), dtype=np.float32)
    values[seq, step] = feats  # (N, T, F) ← (rows, F)
    seq_ids = list(ids.names)  # sequence i is id code i
    seq_labels = np.array(raw_labels.names)[label_of[starts]]

    def describe(i: int, t: int, j: int) -> str:
        return f"{source}: id {seq_ids[i]!r}, step {t}, feature {names[j]!r}"

    if per_step:
        row_names = np.array(raw_labels.names)[label_of]  # (rows,) each row's own label
        step_times = None
        if written is not None:
            step_times = np.zeros(values.shape[:2], dtype=written.dtype)  # (N, T)
            step_times[seq, step] = written[order]
        return _per_step(values, lengths, seq, step, row_names, seq_ids, names, source, nan,
                         describe, min_classes, step_times)
    return finish(values, lengths, seq_labels, seq_ids, feature_names=names, source=source,
                  nan=nan, describe=describe, encode=label_codes.encode, min_classes=min_classes)


def _per_step(
    values: npt.NDArray[np.float32],
    lengths: npt.NDArray[np.int64],
    seq: npt.NDArray[np.int64],
    step: npt.NDArray[np.int64],
    row_names: npt.NDArray[Any],
    seq_ids: list[str],
    names: list[str],
    source: str,
    nan: str,
    describe: Callable[[int, int, int], str],
    min_classes: int,
    step_times: npt.NDArray[Any] | None = None,
) -> SequenceSet:
    """A label per row: step labels (N, T) coded in one natural order, padding PADDING_LABEL.

    Each sequence's `labels` entry is its most frequent step label, which a held-out split
    keeps in proportion.
    """
    from rnntrace.config.task import PADDING_LABEL

    codes, class_names = label_codes.encode(row_names)  # (rows,)
    step_labels = np.full(values.shape[:2], PADDING_LABEL, dtype=np.int64)  # (N, T)
    step_labels[seq, step] = codes
    counts = np.zeros((len(lengths), len(class_names)), dtype=np.int64)
    np.add.at(counts, (seq, codes), 1)
    majority = np.array(class_names)[counts.argmax(axis=1)]

    def encode(raw: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], list[str]]:
        return label_codes.encode(raw, class_names)

    data = finish(values, lengths, majority, seq_ids, feature_names=names, source=source,
                  nan=nan, describe=describe, encode=encode, min_classes=1)
    kept = np.array([seq_ids.index(i) for i in data.ids], dtype=np.int64) if data.dropped \
        else np.arange(len(seq_ids))
    present = np.unique(step_labels[kept][step_labels[kept] >= 0])
    label_codes.require_classes([class_names[c] for c in present], min_classes, source)
    return SequenceSet(values=data.values, lengths=data.lengths, labels=data.labels,
                       class_names=class_names, feature_names=names, ids=data.ids,
                       source=source, dropped=data.dropped, step_labels=step_labels[kept],
                       step_times=None if step_times is None else step_times[kept])
