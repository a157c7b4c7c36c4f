"""Classification scores: accuracy, per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rnntrace.records import ClassScore, TestReport


def confusion_matrix(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n_classes: int
) -> npt.NDArray[np.int64]:
    """Counts (C, C): row i, column j = sequences of true class i predicted as class j."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    flat = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def score(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, labels: list[str], loss: float | None = None
) -> TestReport:
    """The test report; a class never predicted (or never present) scores 0, not NaN."""
    cm = confusion_matrix(y_true, y_pred, len(labels))
    hits = np.diag(cm)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    per_class = []
    for i, label in enumerate(labels):
        precision = hits[i] / predicted[i] if predicted[i] else 0.0
        recall = hits[i] / actual[i] if actual[i] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(
            ClassScore(label, float(precision), float(recall), float(f1), int(actual[i]))
        )
    total = int(cm.sum())
    return TestReport(
        accuracy=float(hits.sum() / total) if total else 0.0,
        per_class=per_class,
        confusion_matrix=cm.tolist(),
        labels=list(labels),
        n_sequences=total,
        loss=loss,
    )
