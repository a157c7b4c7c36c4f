"""Feature statistics over real time steps only, so padding never shifts the mean."""

from __future__ import annotations

import numpy as np

from rnntrace.data.sequences import FloatArray, SequenceSet

_CHUNK = 4096  # sequences per pass, so memory-mapped data is read in slices, never whole


def feature_stats(data: SequenceSet) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of each feature over every real step of every sequence."""
    f = data.n_features
    total = np.zeros(f, dtype=np.float64)
    total_sq = np.zeros(f, dtype=np.float64)
    count = 0
    for start in range(0, len(data), _CHUNK):
        values = np.asarray(data.values[start : start + _CHUNK], dtype=np.float64)  # (n, T, F)
        lengths = data.lengths[start : start + _CHUNK]
        real = np.arange(values.shape[1])[None, :] < lengths[:, None]  # (n, T)
        picked = values[real]  # (steps, F)
        total += picked.sum(axis=0)
        total_sq += (picked**2).sum(axis=0)
        count += picked.shape[0]
    mean = total / count
    var = np.maximum(total_sq / count - mean**2, 0.0)
    return mean.astype(np.float32), np.sqrt(var).astype(np.float32)
