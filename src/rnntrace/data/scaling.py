"""Feature statistics over real time steps only, so padding never shifts the mean."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from rnntrace.data.sequences import FloatArray, IntArray, SequenceSet

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


def feature_stats(data: SequenceSet) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of each feature over every real step of every sequence."""
    chunks = (
        (data.values[start : start + _CHUNK], data.lengths[start : start + _CHUNK])
        for start in range(0, len(data), _CHUNK)
    )
    return stats_of_chunks(chunks, data.n_features)
