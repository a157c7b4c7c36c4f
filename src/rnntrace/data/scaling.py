"""Feature statistics over real time steps only, so padding never shifts the mean."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from rnntrace.data.rowread import is_memory_mapped
from rnntrace.data.sequences import FloatArray, IntArray, RowSubset, SequenceSet, read_rows

_CHUNK = 4096  # sequences per pass, so statistics never need the whole data set at once


def stats_of_chunks(
    chunks: Iterable[tuple[npt.NDArray[np.floating], IntArray]], n_features: int
) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of each feature over the real steps of (values, lengths) chunks.

    Sums and sums of squares are kept in float64 across chunks, so chunking changes nothing.
    """
    total = np.zeros(n_features, dtype=np.float64)
    total_sq = np.zeros(n_features, dtype=np.float64)
    count = 0
    for values, lengths in chunks:
        real = np.arange(values.shape[1])[None, :] < lengths[:, None]  # (n, T)
        picked = np.asarray(values, dtype=np.float64)[real]  # (steps, F)
        total += picked.sum(axis=0)
        total_sq += (picked**2).sum(axis=0)
        count += picked.shape[0]
    mean = total / count
    var = np.maximum(total_sq / count - mean**2, 0.0)
    return mean.astype(np.float32), np.sqrt(var).astype(np.float32)


def feature_stats(
    data: SequenceSet | RowSubset, chunk: int = _CHUNK
) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of each feature over every real step of every sequence.

    A memory-mapped set (or some rows of one) is read `chunk` sequences at a time with file
    reads (rnntrace.data.rowread): touching the mapping would keep the whole file resident.
    """
    base, rows = (data.data, data.rows) if isinstance(data, RowSubset) else (data, None)
    if rows is None and not is_memory_mapped(base.values):
        chunks: Iterable[tuple[npt.NDArray[np.floating], IntArray]] = (
            (base.values[start : start + chunk], base.lengths[start : start + chunk])
            for start in range(0, len(base), chunk)
        )
        return stats_of_chunks(chunks, base.n_features)
    picked = np.arange(len(base)) if rows is None else rows
    parts = (read_rows(base, picked[start : start + chunk])
             for start in range(0, len(picked), chunk))
    return stats_of_chunks(((p.values, p.lengths) for p in parts), base.n_features)
