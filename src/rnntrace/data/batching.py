"""Batches sliced from contiguous tensors: seeded shuffles, length buckets, no per-sample collate.

A variable-length batch is trimmed to its own longest sequence and carries its lengths:

    all data (T_max = 6)        batch of 3 (trimmed to 4 steps)     lengths
    seq 7   a a a a · ·    →    a a a a                              4
    seq 2   b b · · · ·         b b · ·                              2
    seq 9   c c c · · ·         c c c ·                              3

Bucketing sorts each chunk of shuffled indices by length before cutting batches, so sequences of
similar length travel together and little time is spent on padding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from rnntrace.data.sequences import SequenceSet

# Batches per bucketing chunk: large enough to group similar lengths, small enough to keep
# the order of batches random from epoch to epoch. A chunk is also at most a quarter of the
# epoch: a chunk of the whole set sorts it by length, and then the same sequences share a batch
# every epoch (on 40 gestures of 29–361 steps that cost 0.2 of test accuracy).
_BUCKET_CHUNK = 50


@dataclass
class Batch:
    """One batch in the model's layout: x is (B, T, F), or (T, B, F) when not batch_first."""

    x: Tensor
    lengths: Tensor | None  # (B,); None when every sequence fills all T steps
    y: Tensor  # (B,) labels; (B, K) regression targets; (B, T) step labels, trimmed as x

    def __len__(self) -> int:
        return int(self.y.shape[0])


class BatchSource(Protocol):
    """What batches are cut from: in-memory tensors (TensorSet) or a memory-mapped file."""

    lengths: Tensor  # (N,), on the host
    y: Tensor  # (N,) labels
    equal_length: bool

    def __len__(self) -> int: ...

    def take(self, index: Tensor, batch_first: bool = True) -> Batch:
        """The sequences at `index`, in that order, trimmed to their longest."""
        ...


@dataclass
class TensorSet:
    """A SequenceSet as tensors, ready to be sliced into batches."""

    x: Tensor  # (N, T_max, F), on the training device
    lengths: Tensor  # (N,), on the host: trimming a batch reads them without a device sync
    y: Tensor  # (N,) labels, (N, K) targets or (N, T_max) step labels, on the device
    equal_length: bool
    per_step: bool = False  # y holds a label per step: trimmed with x

    @classmethod
    def from_sequences(cls, data: SequenceSet, device: torch.device | str = "cpu") -> TensorSet:
        """The whole set in memory (on a GPU when `device` is one); see streaming for memmaps."""
        # torch.from_numpy shares memory with the array: no copy for in-memory data on the CPU.
        return cls(
            x=torch.from_numpy(data.values).to(device),
            lengths=torch.from_numpy(data.lengths),
            y=torch.from_numpy(data.learned()).to(device),
            equal_length=data.equal_length,
            per_step=data.step_labels is not None,
        )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, index: Tensor, batch_first: bool = True) -> Batch:
        on_device = index.to(self.x.device, non_blocking=True)
        y = self.y[on_device]  # (B,)
        if self.equal_length:
            x, lengths = self.x[on_device], None  # (B, T, F)
        else:
            lengths = self.lengths[index]  # (B,)
            x = self.x[on_device, : int(lengths.max())]  # (B, t, F)
            if self.per_step:
                y = y[:, : x.shape[1]]  # (B, t): the labels of the steps kept
            lengths = lengths.to(self.x.device, non_blocking=True)
        if not batch_first:
            x = x.transpose(0, 1)  # (T, B, F)
        return Batch(x=x, lengths=lengths, y=y)


def batch_order(
    data: BatchSource,
    batch_size: int,
    *,
    generator: torch.Generator | None = None,
    bucket: bool = True,
) -> list[Tensor]:
    """Index tensors, one per batch: shuffled when a generator is given, else in order."""
    n = len(data)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    if bucket and not data.equal_length:
        chunk = batch_size * min(_BUCKET_CHUNK, max(1, n // batch_size // 4))
        lengths = data.lengths
        parts = []
        for start in range(0, n, chunk):
            idx = order[start : start + chunk]
            parts.append(idx[torch.argsort(lengths[idx], stable=True)])
        order = torch.cat(parts)
    groups = list(torch.split(order, batch_size))
    if bucket and not data.equal_length and generator is not None:
        # Sorted chunks would otherwise feed short batches first, then long ones, every epoch.
        groups = [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]
    return groups


def make_batch(data: BatchSource, index: Tensor, batch_first: bool = True) -> Batch:
    """Gather one batch and trim it to its longest sequence."""
    return data.take(index, batch_first)


def batches(
    data: BatchSource,
    batch_size: int,
    *,
    batch_first: bool = True,
    generator: torch.Generator | None = None,
    bucket: bool = True,
) -> Iterator[Batch]:
    """Iterate over batches; shuffled (seeded) when a generator is given."""
    for index in batch_order(data, batch_size, generator=generator, bucket=bucket):
        yield data.take(index, batch_first)
