"""The planted-signal self-test: attribution finds the window that decides the class."""

from __future__ import annotations

import numpy as np
import pytest

from rnntrace.attribution.planted import planted_self_test, planted_signal
from rnntrace.errors import ConfigError


def test_only_the_window_tells_the_classes_apart() -> None:
    data = planted_signal(200, 12, 2, window=(4, 7), features=(1,), amplitude=3.0, seed=0)
    up, down = data.values[data.labels == 1], data.values[data.labels == 0]
    gap = up.mean(axis=0) - down.mean(axis=0)  # (T, F): class mean difference per cell
    assert gap[3:7, 1].min() > 5.0  # 2 × amplitude, less the noise of 100 samples
    outside = np.ones_like(gap, dtype=bool)
    outside[3:7, 1] = False
    assert np.abs(gap[outside]).max() < 0.6
    assert np.bincount(data.labels).tolist() == [100, 100]


def test_a_window_outside_the_sequence_is_refused() -> None:
    with pytest.raises(ConfigError, match="window"):
        planted_signal(10, 5, window=(4, 6))
    with pytest.raises(ConfigError, match="features"):
        planted_signal(10, 5, 2, window=(1, 2), features=(2,))


def test_a_trained_model_puts_most_attribution_in_the_window_an_untrained_one_does_not() -> None:
    check = planted_self_test("gru", n_sequences=300, epochs=8, attributed=16, seed=0)
    assert check.completeness_holds
    assert check.accuracy_trained > 0.9 and check.accuracy_untrained < 0.7
    assert check.share_trained > 0.5  # measured 0.62
    assert check.share_untrained < 0.2  # measured 0.07
    assert check.share_by_chance == pytest.approx(4 / 24)
    assert check.passed
