"""Batches streamed from a memory-mapped (N, T, F) array, for data larger than memory.

Each batch's rows are read from the file with positioned reads, in file order, straight into the
batch's buffer, and trimmed to the batch's longest sequence:

    file      row 0 | row 1 | row 2 | row 3 | row 4 | ...      (each row T × F float32)
    batch     index [3, 0, 4]  → read rows 0, 3, 4 in file order → place them at 1, 0, 2

Reading (instead of touching the mapping) keeps the pages in the kernel's cache rather than in
this process's resident memory, so an epoch over a 3 GB file stays a few hundred MB resident.

The file's padding (steps past a sequence's length) may hold anything: the rows read are zeroed
there, so no batch or subset ever carries it (see rnntrace.data.arrays).
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from rnntrace.data import missing
from rnntrace.data.batching import Batch, BatchSource, TensorSet
from rnntrace.data.sequences import FloatArray, IntArray, SequenceSet


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


@dataclass
class StreamingSet:
    """Some rows of a memory-mapped SequenceSet, read batch by batch instead of all at once."""

    values: np.ndarray  # (N_all, T_max, F), memory-mapped
    rows: IntArray  # (N,) rows of `values` in this set
    lengths: Tensor  # (N,)
    y: Tensor  # (N,)
    equal_length: bool
    device: torch.device
    _reader: RowReader | None = field(default=None, repr=False)

    @classmethod
    def from_sequences(
        cls, data: SequenceSet, device: torch.device, rows: IntArray | None = None
    ) -> StreamingSet:
        picked = np.arange(len(data)) if rows is None else np.asarray(rows, dtype=np.int64)
        lengths = data.lengths[picked]
        return cls(
            values=data.values,
            rows=picked,
            lengths=torch.from_numpy(lengths),
            y=torch.from_numpy(data.labels[picked]),
            equal_length=bool(lengths.min() == data.max_length),
            device=device,
            _reader=RowReader.open(data.values),
        )

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def take(self, index: Tensor, batch_first: bool = True) -> Batch:
        idx = index.cpu().numpy()
        lengths = self.lengths[index]  # (B,)
        steps = self.values.shape[1] if self.equal_length else int(lengths.max())
        rows = self.rows[idx]
        if self._reader is not None:
            array = self._reader.read(rows, steps)  # (B, t, F)
        else:
            # Not a plain file mapping: fancy indexing, in file order, still reads only these rows.
            order = np.argsort(rows, kind="stable")
            array = np.empty((len(rows), steps, self.values.shape[2]), dtype=np.float32)
            array[order] = self.values[rows[order], :steps]
        if not self.equal_length:
            missing.zero_padding(array, lengths.numpy())
        x = torch.from_numpy(array)  # (B, t, F)
        y = self.y[index]
        if self.device.type == "cuda":
            # Pinned host memory lets the copy overlap with the previous step's kernels.
            x = x.pin_memory().to(self.device, non_blocking=True)
            y = y.pin_memory().to(self.device, non_blocking=True)
            lengths = lengths.to(self.device, non_blocking=True)
        if not batch_first:
            x = x.transpose(0, 1)  # (T, B, F)
        return Batch(x=x, lengths=None if self.equal_length else lengths, y=y)


@dataclass
class RowSubset:
    """Some rows of a memory-mapped SequenceSet, chosen without copying its values.

    A train/held-out split of a file larger than memory is two of these over one mapping.
    """

    data: SequenceSet
    rows: IntArray  # (N,) indices into data

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def head(self, n: int) -> SequenceSet:
        """The first n sequences, read into memory (for showing, not for training)."""
        return read_rows(self.data, self.rows[:n])


def read_rows(data: SequenceSet, rows: IntArray) -> SequenceSet:
    """The sequences at `rows` as an in-memory SequenceSet, read without touching the mapping."""
    reader = RowReader.open(data.values)
    if reader is None:
        return data.subset(rows)
    try:
        values = reader.read(np.asarray(rows, dtype=np.int64), data.max_length)
    finally:
        reader.close()
    missing.zero_padding(values, data.lengths[rows])
    return SequenceSet(
        values,
        data.lengths[rows],
        data.labels[rows],
        list(data.class_names),
        feature_names=list(data.feature_names),
        ids=[data.ids[i] for i in rows],
        source=data.source,
    )


def feature_stats(
    data: SequenceSet | RowSubset, chunk: int = 4096
) -> tuple[FloatArray, FloatArray]:
    """Per-feature mean and std over real steps; memory-mapped data is read chunk by chunk.

    In-memory data goes straight to scaling.feature_stats; a mapping is read with file reads
    (touching it through the mapping would keep the whole file resident).
    """
    from rnntrace.data import scaling

    if isinstance(data, SequenceSet) and not is_memory_mapped(data.values):
        return scaling.feature_stats(data)
    base, rows = (data.data, data.rows) if isinstance(data, RowSubset) else (data, None)
    picked = np.arange(len(base)) if rows is None else rows
    starts = range(0, len(picked), chunk)
    parts = (read_rows(base, picked[start : start + chunk]) for start in starts)
    return scaling.stats_of_chunks(((p.values, p.lengths) for p in parts), base.n_features)


def batch_source(
    data: SequenceSet | RowSubset, device: torch.device | str = "cpu", rows: IntArray | None = None
) -> BatchSource:
    """Tensors in memory for ordinary data; streamed reads when `data.values` is memory-mapped.

    `rows` (or a RowSubset) picks a subset of a memory-mapped set without copying it.
    """
    device = torch.device(device)
    if isinstance(data, RowSubset):
        rows = data.rows if rows is None else data.rows[rows]
        data = data.data
    if is_memory_mapped(data.values):
        return StreamingSet.from_sequences(data, device, rows)
    if rows is not None:
        data = data.subset(rows)
    return TensorSet.from_sequences(data, device)
