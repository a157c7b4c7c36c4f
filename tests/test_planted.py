"""The planted-signal self-test: attribution finds the window that decides the class."""

from __future__ import annotations

import numpy as np
import pytest

from rnntrace.attribution.planted import planted_self_test, planted_signal
from rnntrace.errors import ConfigError


def test_only_the_window_tells_the_classes_apart() -> None:
    data = planted_signal(300, 12, 2, window=(4, 7), features=(1,), amplitude=3.0, seed=0)
    assert data.class_names == ["low", "mid", "high"]
    means = np.stack([data.values[data.labels == c].mean(axis=0) for c in range(3)])  # (C, T, F)
    assert np.abs(means[1, 3:7, 1]).max() < 0.5  # "mid": the window sits at the mean
    assert np.allclose(means[:, 3:7, 1].mean(axis=1), [-3, 0, 3], atol=0.3)
    outside = np.ones(means.shape[1:], dtype=bool)
    outside[3:7, 1] = False
    assert np.abs(means[:, outside]).max() < 0.6  # noise everywhere else, in every class
    assert np.bincount(data.labels).tolist() == [100, 100, 100]
    # The training mean of the window is the "mid" level: the mean baseline is a mid sequence.
    assert abs(data.values[:, 3:7, 1].mean()) < 0.2


def test_a_window_outside_the_sequence_is_refused() -> None:
    with pytest.raises(ConfigError, match="window"):
        planted_signal(10, 5, window=(4, 6))
    with pytest.raises(ConfigError, match="features"):
        planted_signal(10, 5, 2, window=(1, 2), features=(2,))


def test_a_trained_model_puts_most_attribution_in_the_window_an_untrained_one_does_not() -> None:
    check = planted_self_test("gru", seed=0)
    assert check.completeness_holds
    assert check.accuracy_trained > 0.95 and check.accuracy_untrained < 0.6
    assert check.share_trained > 0.5  # measured 0.79, baselines drawn from the data
    assert check.share_untrained < 0.2  # measured 0.05
    assert check.share_by_chance == pytest.approx(4 / 24)
    by_name = {c.name: c for c in check.classes}
    assert sum(c.n_sequences for c in check.classes) == check.n_sequences
    for name in ("low", "high"):  # the mean baseline sees them: 77 %, 86 %; no warning
        assert by_name[name].share_mean > 0.5 and by_name[name].share_data > 0.5
        assert by_name[name].warned == 0
    mid = by_name["mid"]
    assert mid.share_mean < 0.3  # measured 0.11: the mean baseline hides the mid class ...
    assert mid.share_data >= 0.5  # ... measured 0.79: the data baselines find its window
    assert mid.warned == mid.n_sequences  # and the warning says so on every one
    assert check.warning_right and check.passed


def test_the_self_test_fails_when_a_class_is_not_found() -> None:
    from rnntrace.records.explanation import PlantedCheck, PlantedClass

    found = [PlantedClass("low", -1, 10, 0.8, 0.8, 0), PlantedClass("mid", 0, 10, 0.1, 0.7, 10)]
    check = PlantedCheck(window=[4, 7], features=[1], share_trained=0.75, share_untrained=0.05,
                         share_by_chance=0.17, accuracy_trained=1, accuracy_untrained=0.3,
                         n_sequences=20, cell="gru", bidirectional=False,
                         completeness_holds=True, classes=found)
    assert check.passed and check.warning_right
    found[1].share_data = 0.45  # the mid window no longer found, though the mean share is high
    assert not check.passed
    found[1].share_data, found[0].warned = 0.7, 1  # a warning on a class away from the mean
    assert not check.passed and not check.warning_right
    found[0].warned, found[1].warned = 0, 4  # silent on most of the class at the mean
    assert check.passed and not check.warning_right
