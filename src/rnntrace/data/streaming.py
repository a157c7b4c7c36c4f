"""Batches streamed from a memory-mapped (N, T, F) array, for data larger than memory.

Each batch's rows are read from the file with positioned reads (rnntrace.data.rowread), in file
order, straight into the batch's buffer, and trimmed to the batch's longest sequence, so an
epoch over a 3 GB file stays a few hundred MB resident.

The file's padding (steps past a sequence's length) may hold anything: the rows read are zeroed
there, so no batch or subset ever carries it (see rnntrace.data.arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from rnntrace.data import missing
from rnntrace.data.batching import Batch, BatchSource, TensorSet
from rnntrace.data.rowread import RowReader, is_memory_mapped
from rnntrace.data.scaling import feature_stats
from rnntrace.data.sequences import IntArray, RowSubset, SequenceSet, read_rows

# Defined beside what they read; re-exported here, where the training loop has always found them.
__all__ = ["RowReader", "RowSubset", "StreamingSet", "batch_source", "feature_stats",
           "is_memory_mapped", "read_rows"]


@dataclass
class StreamingSet:
    """Some rows of a memory-mapped SequenceSet, read batch by batch instead of all at once."""

    values: np.ndarray  # (N_all, T_max, F), memory-mapped
    rows: IntArray  # (N,) rows of `values` in this set
    lengths: Tensor  # (N,)
    y: Tensor  # (N,)
    equal_length: bool
    device: torch.device
    per_step: bool = False  # y holds a label per step: trimmed with the values
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
            y=torch.from_numpy(data.learned()[picked]),
            equal_length=bool(lengths.min() == data.max_length),
            device=device,
            per_step=data.step_labels is not None,
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
        if self.per_step:
            y = y[:, :steps]  # step labels, trimmed as the values were
        if self.device.type == "cuda":
            # Pinned host memory lets the copy overlap with the previous step's kernels.
            x = x.pin_memory().to(self.device, non_blocking=True)
            y = y.pin_memory().to(self.device, non_blocking=True)
            lengths = lengths.to(self.device, non_blocking=True)
        if not batch_first:
            x = x.transpose(0, 1)  # (T, B, F)
        return Batch(x=x, lengths=None if self.equal_length else lengths, y=y)


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
