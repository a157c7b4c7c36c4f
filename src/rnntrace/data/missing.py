"""Missing values (NaN, ±inf) in padded sequences: find them, drop their sequences, or fill them.

Only the real steps of each sequence are read; padding past a sequence's length is not data.
Arrays are scanned in blocks of sequences, so a memory-mapped file is never loaded whole.

    nan="error"  stop at the first non-finite value and name it (the default)
    nan="drop"   leave out every sequence that holds one
    nan="fill"   carry the last finite value forward within the sequence, then 0 for a
                 sequence that starts with missing values (before its first finite value)

Messages name both spellings of the policy: readers serve the CLI (--nan drop) and Python
(nan="drop") alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from rnntrace.config.settings import NAN_POLICIES as POLICIES
from rnntrace.data.rowread import read_block
from rnntrace.errors import ConfigError, DataError

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HINT = ("clean the file, or pass --nan drop to leave out such sequences or --nan fill to carry "
        "the last value forward (nan='drop' or nan='fill' in Python)")
_BLOCK_BYTES = 32 * 2**20  # per block read from a memory map: small enough to stay cheap


def check_policy(nan: str) -> str:
    """The policy name, or a ConfigError naming the choices."""
    if nan not in POLICIES:
        raise ConfigError(f"unknown nan policy {nan!r}: choose one of {', '.join(POLICIES)}")
    return nan


def _blocks(values: npt.NDArray[np.generic]) -> Iterator[tuple[int, int]]:
    n = values.shape[0]
    per_row = max(1, int(np.prod(values.shape[1:])) * values.dtype.itemsize)
    step = max(1, _BLOCK_BYTES // per_row)
    for start in range(0, n, step):
        yield start, min(n, start + step)


def _valid(lengths: IntArray, t_max: int) -> BoolArray:
    return np.arange(t_max)[None, :] < lengths[:, None]  # (N, T): True on real steps


def first_nonfinite(values: FloatArray, lengths: IntArray) -> tuple[int, int, int] | None:
    """(sequence, step, feature) of the first NaN or inf on a real step, or None."""
    for a, b in _blocks(values):
        block = read_block(values, a, b)  # (n, T, F)
        bad = ~np.isfinite(block) & _valid(lengths[a:b], block.shape[1])[:, :, None]
        if bad.any():
            i, t, f = (int(x[0]) for x in np.nonzero(bad))
            return a + i, t, f
    return None


def nonfinite_sequences(values: FloatArray, lengths: IntArray) -> BoolArray:
    """(N,) True for each sequence with a NaN or inf on one of its real steps."""
    out = np.zeros(values.shape[0], dtype=bool)
    for a, b in _blocks(values):
        block = read_block(values, a, b)
        bad = ~np.isfinite(block) & _valid(lengths[a:b], block.shape[1])[:, :, None]
        out[a:b] = bad.any(axis=(1, 2))
    return out


def fill_forward(values: FloatArray, lengths: IntArray) -> FloatArray:
    """A new array: each missing value replaced by the last finite one before it, else 0."""
    out = np.empty(values.shape, dtype=np.float32)
    for a, b in _blocks(values):
        block = np.asarray(read_block(values, a, b), dtype=np.float32)  # (n, T, F)
        valid = _valid(lengths[a:b], block.shape[1])[:, :, None]  # (n, T, 1)
        finite = np.isfinite(block) & valid
        steps = np.arange(block.shape[1])[None, :, None]  # (1, T, 1)
        source = np.maximum.accumulate(np.where(finite, steps, -1), axis=1)  # (n, T, F)
        filled = np.take_along_axis(block, np.maximum(source, 0), axis=1)
        out[a:b] = np.where((source >= 0) & valid, filled, 0.0)
    return out


def zero_padding(values: FloatArray, lengths: IntArray) -> None:
    """Set every step past a sequence's length to 0, in place (values must be writable)."""
    for a, b in _blocks(values):
        values[a:b][~_valid(lengths[a:b], values.shape[1])] = 0.0


def apply(
    values: FloatArray,
    lengths: IntArray,
    nan: str,
    source: str,
    describe: Callable[[int, int, int], str],
) -> tuple[FloatArray, IntArray | None]:
    """(values, kept sequence indices or None when all are kept) under the policy `nan`.

    `source` names the file; `describe(sequence, step, feature)` names a place for the error,
    e.g. "walks.npz: sequence 3, step 7, feature 'x'". Clean values come back untouched (a
    memmap stays one).
    """
    # The policy was checked once, where the reader was called (rnntrace.data.readers.read).
    if nan == "error":
        where = first_nonfinite(values, lengths)
        if where is not None:
            value = float(values[where])
            shown = "NaN (missing)" if np.isnan(value) else str(value)
            raise DataError(f"{describe(*where)} is {shown}; {HINT}")
        return values, None
    if nan == "drop":
        bad = nonfinite_sequences(values, lengths)
        if not bad.any():
            return values, None
        if bad.all():
            raise DataError(
                f"{source}: every sequence has a NaN or inf, so --nan drop (nan='drop' in "
                "Python) leaves nothing; clean the file or pass --nan fill (nan='fill')"
            )
        keep = np.flatnonzero(~bad).astype(np.int64)
        kept = np.ascontiguousarray(values[keep])
        zero_padding(kept, lengths[keep])  # a memory-mapped X may hold anything there
        return kept, keep
    if first_nonfinite(values, lengths) is None:
        return values, None
    return fill_forward(values, lengths), None


def left_out(ids: list[str], keep: IntArray | None) -> list[str]:
    """The ids of the sequences `apply` did not keep."""
    if keep is None:
        return []
    kept = set(keep.tolist())
    return [name for i, name in enumerate(ids) if i not in kept]
