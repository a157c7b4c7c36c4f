"""Observations are written from the numbers: crafted histories, one per situation."""

from __future__ import annotations

import math

from rnntrace.records import EpochRecord
from rnntrace.train.observations import observe, observe_forgetting


def history(*rows: tuple[float, float, float | None, float | None, float]) -> list[EpochRecord]:
    return [
        EpochRecord(epoch=i + 1, loss=loss, accuracy=acc, val_loss=vl, val_accuracy=va,
                    grad_norm=g, lr=0.01)
        for i, (loss, acc, vl, va, g) in enumerate(rows)
    ]


def test_first_epoch_compares_with_chance() -> None:
    (text,) = observe(history((0.9, 0.55, 0.8, 0.6, 0.5)), n_classes=3)
    assert text.startswith("First epoch")
    assert "0.900" in text and "55%" in text and "33%" in text and "1.10" in text
    (text,) = observe(history((1.2, 0.3, 1.2, 0.3, 0.5)), n_classes=3)
    assert "not yet below" in text


def test_falling_loss_is_learning_with_its_numbers() -> None:
    texts = observe(history((1.0, 0.5, 0.9, 0.55, 0.5), (0.6, 0.8, 0.5, 0.82, 0.4)))
    assert "fell 40%" in texts[1] and "1.000 → 0.600" in texts[1]
    assert "rose to 82%" in texts[1] and "learning" in texts[1]


def test_plateau() -> None:
    texts = observe(history((0.5, 0.8, 0.5, 0.8, 0.3), (0.498, 0.8, 0.5, 0.8, 0.3)))
    assert "plateau" in texts[1] and "-0.4%" in texts[1]


def test_overfitting_when_held_out_loss_rises_as_training_loss_falls() -> None:
    texts = observe(history((0.4, 0.9, 0.35, 0.9, 0.3), (0.2, 0.95, 0.45, 0.88, 0.3)))
    assert "overfitting" in texts[1] and "0.350 → 0.450" in texts[1]


def test_diverging_when_training_loss_rises() -> None:
    texts = observe(history((0.5, 0.8, 0.5, 0.8, 0.3), (0.9, 0.6, 0.9, 0.6, 0.3)))
    assert "diverging" in texts[1] and "80%" in texts[1]


def test_nan_loss() -> None:
    texts = observe(history((0.5, 0.8, 0.5, 0.8, 0.3), (math.nan, 0.3, math.nan, 0.3, math.nan)))
    assert "NaN" in texts[1] and "epoch 2" in texts[1] and "weights of epoch 1" in texts[1]
    texts = observe(history((math.inf, 0.3, None, None, 2.0)))
    assert "infinite" in texts[0] and "before any epoch ended well" in texts[0]


def test_exploding_and_vanishing_gradients() -> None:
    texts = observe(history((0.5, 0.8, 0.5, 0.8, 2.0), (0.45, 0.8, 0.5, 0.8, 60.0)))
    assert "exploding" in texts[1] and "60" in texts[1]
    texts = observe(history((1.0986, 0.33, 1.0986, 0.33, 3e-6)))
    assert "vanishing" in texts[0]


def test_observations_change_with_the_numbers() -> None:
    a = observe(history((1.0, 0.5, 0.9, 0.55, 0.5), (0.6, 0.8, 0.5, 0.82, 0.4)))
    b = observe(history((1.0, 0.5, 0.9, 0.55, 0.5), (0.7, 0.7, 0.6, 0.72, 0.4)))
    assert a[1] != b[1]


def test_tiny_rise_late_in_training_is_noise_not_divergence() -> None:
    # The real run's numbers (BasicMotions, GRU 32): +8 % relative, but 0.001 on a start of 1.386.
    texts = observe(history(
        (1.386, 0.30, None, None, 0.5), (0.0094, 1.0, None, None, 0.05),
        (0.0101, 1.0, None, None, 0.05),
    ))
    assert "diverging" not in texts[2]
    assert "rose slightly" in texts[2] and "mini-batch noise" in texts[2]
    assert "0.0094 → 0.0101" in texts[2] and "+7%" in texts[2]
    # (0.0101 - 0.0094) / 1.386 = 0.05 % of the first epoch's loss, written to one decimal
    assert "0.1% of the first epoch's 1.386" in texts[2]
    assert "train accuracy unchanged at 100%" in texts[2]


def test_noise_reports_how_accuracy_moved() -> None:
    texts = observe(history(
        (1.1, 0.40, 0.9, 0.60, 0.5), (0.05, 0.99, 0.06, 0.97, 0.1), (0.06, 0.98, 0.065, 0.97, 0.1),
    ))
    assert "mini-batch noise" in texts[2] and "0.050 → 0.060" in texts[2]
    assert "train accuracy fell 99% → 98%" in texts[2]
    assert "held-out accuracy unchanged at 97%" in texts[2]


def test_a_real_divergence_late_in_training_is_still_flagged() -> None:
    # From a low loss back up by a tenth of where training started: not a wobble.
    texts = observe(history(
        (1.386, 0.30, None, None, 0.5), (0.05, 0.99, None, None, 0.1),
        (0.20, 0.93, None, None, 3.0),
    ))
    assert "diverging" in texts[2] and "0.050 → 0.200" in texts[2] and "300%" in texts[2]
    # (0.20 - 0.05) / 1.386 = 10.8 %
    assert "11% of the first epoch's 1.386" in texts[2]


def test_the_noise_threshold_is_relative_to_the_start() -> None:
    # The same +0.03 rise: noise for a run that started at 2.0 (1.5 %), divergence from 1.0 (3 %).
    rise = ((0.10, 0.95, None, None, 0.1), (0.13, 0.95, None, None, 0.1))
    from_two = observe(history((2.0, 0.2, None, None, 0.5), *rise))
    from_one = observe(history((1.0, 0.2, None, None, 0.5), *rise))
    assert "mini-batch noise" in from_two[2] and "diverging" in from_one[2]
    # Under 5 % relative but 3.2 % of the start: not divergence, yet more than a wobble.
    (*_, text) = observe(history((1.0, 0.2, None, None, 0.5), (0.80, 0.7, None, None, 0.3),
                                 (0.832, 0.7, None, None, 0.3)))
    assert "0.800 → 0.832, +4.0%" in text and "worth watching" in text and "noise" in text


def test_a_small_held_out_wobble_after_convergence_is_not_overfitting() -> None:
    converged = history((1.1, 0.4, 1.0, 0.4, 0.5), (0.05, 1.0, 0.050, 0.95, 0.1),
                        (0.04, 1.0, 0.058, 0.95, 0.1))
    text = observe(converged)[2]
    assert "overfitting" not in text and "learning" in text  # +16 %, but 0.8 % of the start
    rising = history((1.1, 0.4, 1.0, 0.4, 0.5), (0.05, 1.0, 0.050, 0.95, 0.1),
                     (0.04, 1.0, 0.300, 0.85, 0.1))
    assert "overfitting" in observe(rising)[2]


def test_a_held_out_fall_within_chance_is_a_wobble_not_overfitting() -> None:
    # The demo's epoch 5: held-out loss 0.082 → 0.091 (1.4 % of its first 0.643) while held-out
    # accuracy went 199 → 196 of 201 sequences: 3 flips, a sign test's p = 0.125.
    rows = ((0.829, 0.58, 0.643, 0.64, 0.5), (0.071, 0.99, 0.082, 199 / 201, 0.4))
    demo = history(*rows, (0.042, 0.99, 0.091, 196 / 201, 0.3))
    text = observe(demo, n_held_out=201)[2]
    assert "overfitting" not in text and "wobble" in text
    assert "0.082 → 0.091, 1.4% of its first 0.643" in text and "3 of 201 sequences" in text
    # Five sequences fewer (p = 0.03) is evidence, as is any fall when the size is unknown.
    five = history(*rows, (0.042, 0.99, 0.091, 194 / 201, 0.3))
    assert "overfitting" in observe(five, n_held_out=201)[2]
    assert "overfitting" in observe(demo)[2]
    # A large loss rise is overfitting even with accuracy held.
    large = history(*rows, (0.042, 0.99, 0.120, 199 / 201, 0.3))  # +0.038: 5.9 % of 0.643
    assert "overfitting" in observe(large, n_held_out=201)[2]


def test_the_last_state_forgetting_the_start_is_named_with_its_numbers() -> None:
    records = history((1.1, 0.34, 1.1, 0.33, 0.5), (1.09, 0.36, 1.1, 0.35, 0.5))
    grads = [1e-9 * 10 ** (t / 20) for t in range(200)] + [0.02]
    text = observe_forgetting(records, grads, n_classes=3)
    assert text is not None
    assert "35% is at chance (33%)" in text and "these 201-step sequences" in text
    assert "5.0e-08 of the last step's" in text and "--summary max" in text
    assert observe_forgetting(records, grads, 3, summary="max") is None  # every step is read
    learned = history((1.1, 0.34, 1.1, 0.33, 0.5), (0.3, 0.9, 0.3, 0.9, 0.5))
    assert observe_forgetting(learned, grads, 3) is None  # it learned: nothing to explain
    assert observe_forgetting(records, [0.5] * 201, 3) is None  # the start is reached
