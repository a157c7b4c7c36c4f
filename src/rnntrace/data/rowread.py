"""Rows of a memory-mapped (N, T, F) array read with positioned file reads, not through the map.

Touching a mapping keeps every page it reads resident in this process; reading the same bytes
with preadv leaves them in the kernel's page cache instead, so a scan or an epoch over a file
larger than memory stays small. Every reader of memory-mapped rows goes through RowReader:
the NaN scan (rnntrace.data.missing), statistics (rnntrace.data.scaling) and batches
(rnntrace.data.streaming).

    file      row 0 | row 1 | row 2 | row 3 | row 4 | ...      (each row T × F float32)
    read      rows [3, 0, 4]  → read 0, 3, 4 in file order → place them at 1, 0, 2
"""

from __future__ import annotations

import mmap
import os

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def is_memory_mapped(values: np.ndarray) -> bool:
    """Whether an array is backed by a file mapping rather than memory it owns."""
    base: object = values
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap) or isinstance(base.base, mmap.mmap):
            return True
        base = base.base
    return False


class RowReader:
    """Positioned reads of whole or leading parts of rows of a C-ordered (N, T, F) .npy/.bin."""

    def __init__(self, values: np.memmap) -> None:
        self.path = str(values.filename)
        self.offset = int(values.offset)
        self.row_bytes = int(values.strides[0])
        self.step_bytes = int(values.strides[1])
        self.shape = values.shape
        self._fd = os.open(self.path, os.O_RDONLY)

    @classmethod
    def open(cls, values: np.ndarray) -> RowReader | None:
        """A reader for a memmap over a whole file array (not a slice of one), else None."""
        if (
            isinstance(values, np.memmap)
            and isinstance(values.base, mmap.mmap)
            and values.filename is not None
            and values.flags.c_contiguous
            and values.dtype == np.float32
            and values.ndim == 3
        ):
            return cls(values)
        return None

    def read(self, rows: IntArray, steps: int) -> FloatArray:
        """Rows `rows` (any order), their first `steps` steps, as a new (n, steps, F) array."""
        out = np.empty((len(rows), steps, self.shape[2]), dtype=np.float32)
        nbytes = steps * self.step_bytes
        for pos in np.argsort(rows, kind="stable"):  # file order: sequential reads
            at = self.offset + int(rows[pos]) * self.row_bytes
            got = os.preadv(self._fd, [memoryview(out[pos]).cast("B")], at)
            if got != nbytes:
                raise OSError(f"{self.path}: short read at row {rows[pos]} (file truncated?)")
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


def read_block(values: npt.NDArray[np.generic], a: int, b: int) -> npt.NDArray[np.generic]:
    """Rows a..b as an in-memory array: read from the file when `values` is a file mapping."""
    reader = RowReader.open(values)
    if reader is None:
        return np.asarray(values[a:b])
    try:
        return reader.read(np.arange(a, b, dtype=np.int64), values.shape[1])
    finally:
        reader.close()
