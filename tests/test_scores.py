"""Scores against values worked out by hand."""

from __future__ import annotations

import pytest

from rnntrace.train.scores import confusion_matrix, score


def test_confusion_matrix_rows_are_true_classes() -> None:
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_per_class_scores_by_hand() -> None:
    report = score([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], ["a", "b", "c"])
    assert report.accuracy == pytest.approx(4 / 6)
    a, b, c = report.per_class
    # a: predicted twice (1 right), present twice (1 found)
    assert (a.precision, a.recall, a.f1, a.support) == (0.5, 0.5, 0.5, 2)
    # b: predicted twice (1 right), present once (found)
    assert b.precision == 0.5 and b.recall == 1.0 and b.f1 == pytest.approx(2 / 3)
    # c: predicted twice (both right), present three times
    assert c.precision == 1.0 and c.recall == pytest.approx(2 / 3) and c.support == 3


def test_a_class_never_predicted_scores_zero() -> None:
    report = score([0, 1], [0, 0], ["a", "b"])
    assert report.per_class[1].precision == 0.0 and report.per_class[1].f1 == 0.0
