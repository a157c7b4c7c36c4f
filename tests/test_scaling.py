"""Feature statistics count real steps only."""

from __future__ import annotations

import numpy as np

from rnntrace.data.scaling import feature_stats
from rnntrace.data.sequences import SequenceSet


def test_stats_ignore_padding() -> None:
    rng = np.random.default_rng(0)
    seqs = [rng.normal(3.0, 2.0, (t, 4)).astype(np.float32) for t in (5, 9, 2, 7)]
    data = SequenceSet.from_sequences(seqs, [0, 1, 0, 1], ["a", "b"])
    mean, std = feature_stats(data)
    steps = np.concatenate(seqs)
    np.testing.assert_allclose(mean, steps.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std, steps.std(axis=0), rtol=1e-4)
