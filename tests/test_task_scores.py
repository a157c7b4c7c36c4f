"""Regression and per-step scores against numpy, scikit-learn and examples worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rnntrace.train.head_scores import (
    edit_score,
    last_value_meaningful,
    levenshtein,
    regression_scores,
    segment_matches,
    segments,
    step_scores,
)

# Truth A A A B B B B C C against A A B B B B B C A (A=0, B=1, C=2), worked by hand:
#   truth segments A[0,3) B[3,7) C[7,9); predicted A[0,2) B[2,7) C[7,8) A[8,9)
#   IoU: A 2/3, B 4/5, C 1/2; the last A meets no A → 3 TP, 1 FP, 0 FN at 10, 25 and 50 %
#   edit: [A B C A] vs [A B C] = 1 deletion of 4 → 0.75; frames right: 7 of 9
#   per label F1: A 2/3 (TP 2, FP 1, FN 1), B 8/9 (TP 4, FP 1), C 2/3 (TP 1, FN 1)
TRUTH = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
PREDICTED = np.array([0, 0, 1, 1, 1, 1, 1, 2, 0])


def test_segments_are_maximal_runs_half_open():
    assert [(s.label, s.start, s.end) for s in segments(TRUTH)] == [(0, 0, 3), (1, 3, 7), (2, 7, 9)]
    assert segments([]) == []


def test_hand_worked_example():
    scores = step_scores([PREDICTED], [TRUTH])
    assert scores["frame_accuracy"] == pytest.approx(7 / 9)
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 8 / 9 + 2 / 3) / 3)
    for k in (10, 25, 50):  # P = 3/4, R = 1
        assert scores[f"f1@{k}"] == pytest.approx(2 * 0.75 / 1.75)
    assert scores["edit"] == pytest.approx(0.75)


def test_overlap_threshold_decides_a_match():
    truth, predicted = np.zeros(10, dtype=np.int64), np.array([0] * 4 + [1] * 6)
    # A[0,4) against A[0,10): IoU 0.4, a match at 10 % and 25 %, not at 50 %; B is a FP.
    assert segment_matches(predicted, truth, 0.25) == (1, 1, 0)
    assert segment_matches(predicted, truth, 0.50) == (0, 2, 1)
    assert edit_score(predicted, truth) == pytest.approx(0.5)


def test_a_true_segment_is_matched_once():
    # Two predicted A segments overlap the one true A (IoU 1/3 and 1/2): the second is a FP.
    assert segment_matches([0, 0, 1, 0, 0, 0], [0] * 6, 0.25) == (1, 2, 0)


def test_counts_are_summed_over_sequences_before_f1():
    first, second = segment_matches(PREDICTED, TRUTH, 0.5), segment_matches([1, 1], [0, 0], 0.5)
    tp, fp, fn = (a + b for a, b in zip(first, second, strict=True))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    scores = step_scores([PREDICTED, np.array([1, 1])], [TRUTH, np.array([0, 0])])
    assert scores["f1@50"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert scores["edit"] == pytest.approx((0.75 + 0.0) / 2)


def test_levenshtein_classic():
    word = {c: i for i, c in enumerate("kitensgi")}
    assert levenshtein([word[c] for c in "kitten"], [word[c] for c in "sitting"]) == 3


def test_regression_scores_against_numpy_and_sklearn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(0)
    truth = rng.normal(5, 2, size=(40, 2))
    predicted = truth + rng.normal(0, 0.5, size=truth.shape)
    scores = regression_scores(predicted, truth)
    assert scores["mae"] == pytest.approx(np.mean(np.abs(predicted - truth)))
    assert scores["mae"] == pytest.approx(mean_absolute_error(truth, predicted))
    assert scores["rmse"] == pytest.approx(np.sqrt(mean_squared_error(truth, predicted)))
    assert scores["r2"] == pytest.approx(r2_score(truth, predicted))


def test_mean_predictor_chance_line():
    rng = np.random.default_rng(1)
    train, test = rng.normal(3, 1, size=(50, 1)), rng.normal(3.5, 1, size=(20, 1))
    line = regression_scores(np.full_like(test, train.mean()), test)
    assert line["rmse"] == pytest.approx(np.sqrt(np.mean((test - train.mean()) ** 2)))
    assert line["r2"] <= 0  # the training mean is never better than the test set's own mean


def test_last_value_only_when_the_units_can_match():
    series = [np.array([[1.0], [2.0], [3.0]], dtype=np.float32)]
    assert last_value_meaningful(series, np.array([[2.5]], dtype=np.float32))
    assert not last_value_meaningful(series, np.array([[40.0]], dtype=np.float32))
    two = [np.ones((3, 2), dtype=np.float32)]
    assert not last_value_meaningful(two, np.array([[1.0]], dtype=np.float32))
