"""Sequences already in memory → padded values and lengths, in the shapes array libraries use.

What the estimators (rnntrace.sklearn) accept as X, read exactly, lengths included:

    3-D array    (N, T, F)  every sequence T steps long, unless padded as below
    2-D array    (N, T)     N univariate sequences (F = 1), scikit-learn's table shape
    list         [(T_i, F) or (T_i,) arrays]  sequences of different lengths
    long frame   pandas, one row per step: an `id` column (and `time`, else row order) or a
                 (sequence, time) MultiIndex as aeon and sktime write it; other columns are
                 the features

Padding: trailing steps whose values are all NaN are not steps, in every shape. That is how
aeon, sktime and numpy users store unequal lengths in one array:

    seq 0  [x0 x1 x2 x3 x4]           length 5
    seq 1  [x0 x1 x2 nan nan]         length 3  ← trailing all-NaN steps: padding
    seq 2  [x0 nan x2 x3 x4]          an error: a NaN inside a sequence is a missing value

A NaN inside a sequence, or ±inf anywhere, is refused with its place named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rnntrace.data.sequences import FloatArray, IntArray, SequenceSet
from rnntrace.data.targets import strata
from rnntrace.errors import DataError

SHAPES = ("a 3-D array (N, T, F)", "a 2-D array (N, T) of univariate sequences",
          "a list of (T_i, F) arrays", "a pandas long frame")
_ID, _TIME = "id", "time"  # a long frame's columns, as rnntrace's CSV reader names them


@dataclass
class Collection:
    """Unlabelled sequences: padded values, lengths, and names for the sequences and features."""

    values: FloatArray  # (N, T_max, F), zero past each length
    lengths: IntArray  # (N,)
    ids: list[str]
    feature_names: list[str]
    shape: str  # which of SHAPES the input was: "3-D", "2-D", "list" or "frame"

    @property
    def n_features(self) -> int:
        return int(self.values.shape[2])

    def labelled(self, codes: IntArray, class_names: Sequence[str], source: str = "X"
                 ) -> SequenceSet:
        """The SequenceSet of these sequences with class codes (indices of class_names)."""
        if len(codes) != len(self.lengths):
            raise DataError(f"{source}: {len(self.lengths)} sequences but {len(codes)} labels")
        return SequenceSet(self.values, self.lengths, codes, list(class_names),
                           feature_names=list(self.feature_names), ids=list(self.ids),
                           source=source)

    def targeted(self, targets: npt.ArrayLike, target_names: Sequence[str] = (),
                 source: str = "y") -> SequenceSet:
        """The SequenceSet of these sequences with numbers to predict, (N, K) (regression):
        strata of the first target for the held-out split, as the file readers make them."""
        values = np.asarray(targets, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]  # (N,) → (N, 1)
        if values.ndim != 2 or len(values) != len(self.lengths):
            raise DataError(f"{source}: {len(self.lengths)} sequences but targets of shape "
                            f"{values.shape}")
        with np.errstate(over="ignore"):
            single = values.astype(np.float32)  # what the model reads
        if (beyond := np.isinf(single) & np.isfinite(values)).any():
            i = int(np.nonzero(beyond)[0][0])
            raise DataError(f"{source}: the target of sequence {i} is beyond float32's range; "
                            "rescale the target")
        return SequenceSet(self.values, self.lengths, strata(single), [],
                           feature_names=list(self.feature_names), ids=list(self.ids),
                           source=source, targets=single, target_names=list(target_names))


def read_arraylike(X: Any, *, what: str = "X") -> Collection:
    """X in any of the four shapes (see the module docstring) as padded sequences."""
    if _is_frame(X):
        return _from_frame(X, what)
    if isinstance(X, list | tuple) and X and not np.isscalar(X[0]):
        return _from_list(list(X), what)
    array = _numbers(X, what)
    if array.ndim == 2:
        return _from_padded(array[:, :, None], what, "2-D")
    if array.ndim == 3:
        return _from_padded(array, what, "3-D")
    if array.ndim == 1:  # scikit-learn's wording, which its users (and checks) look for
        raise DataError(f"{what}: a 1-D array; Reshape your data: X[None, :] is one univariate "
                        "sequence, X[:, None] sequences of one step each")
    raise DataError(f"{what}: a {array.ndim}-D array; expected {', '.join(SHAPES)}")


def _numbers(X: Any, what: str) -> npt.NDArray[np.float64]:
    """X as float64, refusing text and complex numbers (float32 is made after the checks)."""
    try:
        array = np.asarray(X)
    except ValueError:  # a ragged nested list
        raise DataError(f"{what}: nested sequences of unequal lengths; pass a list of arrays, "
                        "one (T_i, F) array per sequence") from None
    if array.dtype.kind == "c":
        raise DataError(f"{what}: complex numbers; sequences hold real values")
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (ValueError, TypeError):
            raise DataError(f"{what}: values that are not numbers (dtype {array.dtype}); "
                            "sequences hold numbers") from None
    return array.astype(np.float64, copy=False)


def _from_padded(array: npt.NDArray[np.float64], what: str, shape: str,
                 ids: list[str] | None = None, features: list[str] | None = None) -> Collection:
    """(N, T, F) with trailing all-NaN steps as padding → lengths, and zeros in their place."""
    n, t, f = array.shape
    if n == 0 or t == 0 or f == 0:
        raise DataError(f"{what}: shape {array.shape if shape == '3-D' else array.shape[:2]} "
                        "holds no values; expected at least one sequence of one step")
    ids = ids if ids is not None else [str(i) for i in range(n)]
    features = features if features is not None else [f"f{j}" for j in range(f)]
    names = [f"sequence {i}" for i in range(n)] if shape != "frame" else [
        f"sequence {s!r}" for s in ids]
    lengths = _lengths(array, what, names, features)
    values = _float32(array, what, names, features)
    steps = np.arange(t)[None, :]  # (1, T)
    values[steps >= lengths[:, None]] = 0.0  # (N, T, F): padding zeroed, as SequenceSet keeps it
    return Collection(values, lengths, ids, features, shape)


def _lengths(array: npt.NDArray[np.float64], what: str, names: list[str], features: list[str]
             ) -> IntArray:
    """Each sequence's length: up to its last step holding a value; refuse NaN before it."""
    nan = np.isnan(array)  # (N, T, F)
    if np.isinf(array).any():
        i, t, j = (int(v[0]) for v in np.nonzero(np.isinf(array)))
        raise DataError(f"{what}: {names[i]}, step {t}, feature {features[j]!r} is "
                        f"{float(array[i, t, j])}; values must be finite (no inf)")
    step_has_value: npt.NDArray[np.bool_] = ~np.all(nan, axis=2)  # (N, T)
    t = array.shape[1]
    # the last step with a value, + 1; 0 for a sequence with none
    lengths = np.where(step_has_value.any(axis=1), t - np.argmax(step_has_value[:, ::-1], axis=1),
                       0).astype(np.int64)
    if (empty := np.flatnonzero(lengths == 0)).size:
        raise DataError(f"{what}: {names[int(empty[0])]} is all NaN; every sequence needs "
                        "at least one step with values")
    inside = nan & (np.arange(t)[None, :, None] < lengths[:, None, None])  # (N, T, F)
    if inside.any():
        i, step, j = (int(v[0]) for v in np.nonzero(inside))
        raise DataError(f"{what}: {names[i]}, step {step}, feature {features[j]!r} is NaN "
                        f"inside the sequence (it has values up to step {int(lengths[i]) - 1});"
                        " only trailing all-NaN steps are read as padding: impute or drop missing "
                        "values first")
    return lengths


def _float32(array: npt.NDArray[np.float64], what: str, names: list[str], features: list[str]
             ) -> FloatArray:
    with np.errstate(over="ignore"):
        values = array.astype(np.float32)
    too_large = np.isinf(values) & np.isfinite(array)
    if too_large.any():
        i, t, j = (int(v[0]) for v in np.nonzero(too_large))
        raise DataError(f"{what}: {names[i]}, step {t}, feature {features[j]!r} is "
                        f"{array[i, t, j]:g}, "
                        "beyond float32's range; rescale the values")
    return np.nan_to_num(values, nan=0.0, copy=False)


def _from_list(items: list[Any], what: str) -> Collection:
    """A list of (T_i, F) or (T_i,) arrays; every one with the same F."""
    arrays: list[npt.NDArray[np.float64]] = []
    for i, item in enumerate(items):
        a = _numbers(item, f"{what}[{i}]")
        if a.ndim == 1:
            a = a[:, None]  # (T_i,) → (T_i, 1): a univariate sequence
        if a.ndim != 2:
            raise DataError(f"{what}[{i}]: shape {a.shape}; each sequence is a (T_i, F) array "
                            "or a (T_i,) array of one feature")
        if arrays and a.shape[1] != arrays[0].shape[1]:
            raise DataError(f"{what}[{i}]: {a.shape[1]} features, but {what}[0] has "
                            f"{arrays[0].shape[1]}; every sequence needs the same features")
        if a.shape[0] == 0:
            raise DataError(f"{what}[{i}]: no steps; every sequence needs at least one")
        arrays.append(a)
    t_max, f = max(a.shape[0] for a in arrays), arrays[0].shape[1]
    padded = np.full((len(arrays), t_max, f), np.nan)  # (N, T_max, F), NaN = padding
    for i, a in enumerate(arrays):
        padded[i, : a.shape[0]] = a
    return _from_padded(padded, what, "list")  # a sequence's own trailing NaN steps too


def _is_frame(X: Any) -> bool:
    return type(X).__name__ == "DataFrame" and hasattr(X, "columns") and hasattr(X, "index")


def _from_frame(frame: Any, what: str) -> Collection:
    """A long frame: rows grouped into sequences by id (first appearance), sorted by time."""
    import pandas as pd

    if isinstance(frame.index, pd.MultiIndex):
        if frame.index.nlevels != 2:
            raise DataError(f"{what}: a MultiIndex of {frame.index.nlevels} levels; expected "
                            "two, (sequence, time)")
        ids_column = frame.index.get_level_values(0)
        times_column = frame.index.get_level_values(1)
        features = [str(c) for c in frame.columns]
        columns = list(frame.columns)
    elif _ID in frame.columns:
        ids_column = frame[_ID]
        times_column = frame[_TIME] if _TIME in frame.columns else None
        columns = [c for c in frame.columns if c not in (_ID, _TIME)]
        features = [str(c) for c in columns]
    else:
        raise DataError(f"{what}: a DataFrame without an {_ID!r} column or a (sequence, time) "
                        "MultiIndex; a long frame has one row per step (a table of one "
                        "sequence per row is read as a 2-D array: pass frame.to_numpy())")
    if not columns:
        raise DataError(f"{what}: no feature columns besides {_ID!r} and {_TIME!r}")
    if len(frame) == 0:
        raise DataError(f"{what}: no rows; expected one row per step")
    feats = np.empty((len(frame), len(columns)), dtype=np.float64)  # (rows, F)
    for j, name in enumerate(columns):
        column = frame[name]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            raise DataError(f"{what}: column {name!r} holds {column.dtype} values, not numbers; "
                            "leave it out or encode it")
        feats[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    if ids_column.isna().any():
        raise DataError(f"{what}: row {int(np.argmax(ids_column.isna()))} has no sequence id")
    codes, uniques = pd.factorize(ids_column)  # sequences numbered by first appearance
    codes = np.asarray(codes, dtype=np.int64)
    if times_column is None:
        times = np.arange(len(frame))
    else:
        times_index = pd.Index(times_column)
        if times_index.isna().any():
            raise DataError(f"{what}: row {int(np.argmax(times_index.isna()))} has no time")
        times = np.asarray(pd.factorize(times_index, sort=True)[0])  # ranks keep the order
    order = np.lexsort((times, codes))  # by sequence, then time
    seq, times, feats = codes[order], times[order], feats[order]
    same = seq[1:] == seq[:-1]
    if (dup := np.flatnonzero(same & (times[1:] == times[:-1]))).size:
        raise DataError(f"{what}: sequence {uniques[seq[dup[0]]]!r} has two rows for one time; "
                        "keep one row per step")
    lengths = np.bincount(seq, minlength=len(uniques)).astype(np.int64)  # (N,)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    step = np.arange(len(seq)) - starts[seq]
    padded = np.full((len(lengths), int(lengths.max()), len(columns)), np.nan)  # (N, T, F)
    padded[seq, step] = feats
    return _from_padded(padded, what, "frame", [str(u) for u in uniques], features)
