"""The figures a regression or per-step model is judged by, beside the line it must beat.

Regression: MAE, RMSE and R² in the target's own units, beside always predicting the training
mean (R² is taken against the scored set's own mean, as scikit-learn's r2_score; the mean
predictor's R² is then ≤ 0) and, when a series is in the target's units, its last value.

Per step, the measures of temporal action segmentation (Lea et al., "Temporal Convolutional
Networks for Action Segmentation and Detection", CVPR 2017; the evaluation code of MS-TCN,
Farha & Gall, CVPR 2019): frame accuracy, macro-F1 over the labels present in the truth or the
predictions, segmental F1@k and the edit score. A segment is a maximal run of one label:

    truth      A A A B B B B C C      segments  A[0,3) B[3,7) C[7,9)
    predicted  A A B B B B B C A      segments  A[0,2) B[2,7) C[7,8) A[8,9)

F1@k: a predicted segment is a true positive when its IoU with a not-yet-matched true segment
of the same label is at least k % (the best-overlapping one, as MS-TCN picks it); the rest are
false positives, unmatched true segments false negatives; counts are summed over sequences
before F1 is taken. Edit score: 1 − Levenshtein(predicted segment labels, true segment
labels) / the longer of the two, averaged over sequences. Both ignore how long segments are
and punish over-segmentation (the stray `A` above), which frame accuracy barely sees.
Segments here are half-open [start, end); MS-TCN's code ends the last segment one step short
(its `ends.append(i)` after the loop), which changes IoUs by at most one step per sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

OVERLAPS = (0.10, 0.25, 0.50)
Labels = Sequence[int] | npt.NDArray[np.int64]  # one sequence's label per step


@dataclass(frozen=True)
class Segment:
    label: int
    start: int
    end: int  # exclusive


def segments(labels: Labels) -> list[Segment]:
    """Maximal runs of one label, in order."""
    array = np.asarray(labels)
    if array.size == 0:
        return []
    cuts = np.flatnonzero(array[1:] != array[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [array.size]))
    return [Segment(int(array[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def levenshtein(a: Sequence[int], b: Sequence[int]) -> int:
    """Insertions, deletions and substitutions turning `a` into `b`."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def edit_score(predicted: Labels, truth: Labels) -> float:
    """1 − normalised edit distance between the segment label sequences, in [0, 1]."""
    p = [s.label for s in segments(predicted)]
    t = [s.label for s in segments(truth)]
    longest = max(len(p), len(t))
    return 1.0 - levenshtein(p, t) / longest if longest else 1.0


def _iou(a: Segment, b: Segment) -> float:
    """Steps shared over steps covered; negative when the two are apart (never a match)."""
    return (min(a.end, b.end) - max(a.start, b.start)) / (max(a.end, b.end) - min(a.start, b.start))


def segment_matches(
    predicted: Labels, truth: Labels, overlap: float
) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of predicted segments at IoU ≥ overlap."""
    pred, true = segments(predicted), segments(truth)
    hit = [False] * len(true)
    tp = fp = 0
    for p in pred:
        ious = [_iou(p, t) if t.label == p.label else 0.0 for t in true]
        best = int(np.argmax(ious)) if ious else -1
        if best >= 0 and ious[best] >= overlap and not hit[best]:
            tp, hit[best] = tp + 1, True
        else:
            fp += 1
    return tp, fp, len(true) - sum(hit)


def _f1(tp: float, fp: float, fn: float) -> float:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def step_scores(
    predicted: Sequence[npt.NDArray[np.int64]], truth: Sequence[npt.NDArray[np.int64]]
) -> dict[str, float]:
    """Frame accuracy, macro-F1, F1@10/25/50 and edit score over sequences (real steps only)."""
    flat_p = np.concatenate([np.asarray(p) for p in predicted])
    flat_t = np.concatenate([np.asarray(t) for t in truth])
    labels = np.union1d(flat_p, flat_t)
    per_label = [_f1(float(np.sum((flat_p == c) & (flat_t == c))),
                     float(np.sum((flat_p == c) & (flat_t != c))),
                     float(np.sum((flat_p != c) & (flat_t == c)))) for c in labels]
    scores = {"frame_accuracy": float(np.mean(flat_p == flat_t)),
              "macro_f1": float(np.mean(per_label))}
    for k in OVERLAPS:
        counts = np.array([segment_matches(p, t, k) for p, t in zip(predicted, truth,
                                                                    strict=True)])
        tp, fp, fn = counts.sum(axis=0)
        scores[f"f1@{round(k * 100)}"] = _f1(float(tp), float(fp), float(fn))
    scores["edit"] = float(np.mean([edit_score(p, t) for p, t in zip(predicted, truth,
                                                                     strict=True)]))
    return scores


def regression_scores(
    predicted: npt.ArrayLike, truth: npt.ArrayLike
) -> dict[str, float]:
    """MAE, RMSE and R² over every number of (N, K) predictions against (N, K) truth.

    R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², ȳ the truth's own mean per target, averaged over targets
    (scikit-learn's r2_score, multioutput="uniform_average"); 0 when the truth is constant.
    """
    p = np.asarray(predicted, dtype=np.float64).reshape(len(np.asarray(truth)), -1)
    t = np.asarray(truth, dtype=np.float64).reshape(p.shape)
    error = p - t
    spread = ((t - t.mean(axis=0)) ** 2).sum(axis=0)  # (K,)
    r2 = np.where(spread > 0, 1 - (error**2).sum(axis=0) / np.where(spread > 0, spread, 1), 0.0)
    return {"mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error**2).mean())),
            "r2": float(r2.mean())}


def last_value_meaningful(
    train_values: Sequence[npt.NDArray[np.float32]], train_targets: npt.NDArray[np.float32]
) -> bool:
    """Whether a series' last value may stand for its target: one feature, and the training
    targets within the range the series' values span (the same units, plausibly)."""
    if not train_values or np.asarray(train_values[0]).shape[-1] != 1 or \
            train_targets.shape[1] != 1:
        return False
    values = np.concatenate([np.asarray(v).ravel() for v in train_values])
    low, high = float(values.min()), float(values.max())
    return bool(np.all((train_targets >= low) & (train_targets <= high)))


def majority_steps(truth: Sequence[npt.NDArray[np.int64]], label: int) -> list[npt.NDArray[Any]]:
    """The majority line: one label at every step of every sequence."""
    return [np.full(len(t), label, dtype=np.int64) for t in truth]

