"""What each hidden unit of the top recurrent layer responds to, over a set of sequences.

LSTMVis's question, answered offline: per unit, the (sequence, step) places where it is most
strongly active, its mean activation per class, and how well it separates the classes.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from rnntrace.attribution.capture import batches, catch
from rnntrace.data.sequences import SequenceSet
from rnntrace.records.explanation import UnitPeak, UnitResponse, UnitSummary

STATISTIC = (
    "one-way ANOVA F of each sequence's mean activation over its real steps, grouped by true "
    "class: between-class variance over within-class variance"
)


def unit_names(width: int, bidirectional: bool) -> list[str]:
    """h1…hH, or fwd h1…/bwd h1… when the layer reads both directions (width = 2H)."""
    if not bidirectional:
        return [f"h{i + 1}" for i in range(width)]
    half = width // 2
    return [f"fwd h{i + 1}" for i in range(half)] + [f"bwd h{i + 1}" for i in range(half)]


def unit_responses(
    model: nn.Module, data: SequenceSet, *, peaks: int = 3, separating: int = 3
) -> UnitSummary:
    """Every unit of the top recurrent layer over all of `data` (real steps only)."""
    seq_means: list[np.ndarray] = []  # (B, U) per batch
    sums = np.zeros((data.n_classes, 0))
    counts = np.zeros(data.n_classes)
    best: list[list[tuple[float, int, int, float]]] = []  # per unit: (|h|, sequence, step, h)
    bidirectional = False
    for index in batches(len(data)):
        caught = catch(model, data, index)
        bidirectional = bool(caught.top.bidirectional)
        h = caught.top_output.double().numpy()  # (B, T, U)
        lengths = caught.lengths.numpy()
        real = np.arange(h.shape[1])[None, :] < lengths[:, None]  # (B, T)
        h = np.where(real[:, :, None], h, 0.0)
        if not best:
            best = [[] for _ in range(h.shape[2])]
            sums = np.zeros((data.n_classes, h.shape[2]))
        seq_means.append(h.sum(1) / lengths[:, None])  # (B, U)
        labels = data.labels[index]
        for c in range(data.n_classes):
            sums[c] += h[labels == c].sum(axis=(0, 1))
            counts[c] += lengths[labels == c].sum()
        magnitude = np.where(real[:, :, None], np.abs(h), -1.0)  # (B, T, U)
        for u in range(h.shape[2]):
            flat = np.argsort(magnitude[:, :, u], axis=None)[::-1][:peaks]
            rows, steps = np.unravel_index(flat, magnitude.shape[:2])
            best[u].extend((float(magnitude[r, t, u]), int(index[r]), int(t), float(h[r, t, u]))
                           for r, t in zip(rows, steps, strict=True))
    means = np.concatenate(seq_means)  # (N, U)
    f_scores = [_anova_f(means[:, u], data.labels, data.n_classes) for u in range(means.shape[1])]
    names = unit_names(means.shape[1], bidirectional)
    units = []
    for u in range(means.shape[1]):
        top = sorted(best[u], reverse=True)[:peaks]
        units.append(UnitResponse(
            unit=u,
            name=names[u],
            peaks=[UnitPeak(sequence_id=data.ids[s], step=t + 1, value=v,
                            label=data.class_names[int(data.labels[s])]) for _, s, t, v in top],
            class_means=[float(sums[c, u] / counts[c]) if counts[c] else float("nan")
                         for c in range(data.n_classes)],
            f_score=f_scores[u],
        ))
    ranked = sorted(range(len(units)), key=lambda u: -(f_scores[u] or 0.0))
    return UnitSummary(n_sequences=len(data), class_names=list(data.class_names),
                       statistic=STATISTIC, units=units, separating=ranked[:separating])


def _anova_f(values: np.ndarray, labels: np.ndarray, n_classes: int) -> float | None:
    groups = [values[labels == c] for c in range(n_classes) if (labels == c).any()]
    k, n = len(groups), len(values)
    if k < 2 or n <= k:
        return None
    grand = values.mean()
    between = sum(len(g) * (g.mean() - grand) ** 2 for g in groups) / (k - 1)
    within = sum(((g - g.mean()) ** 2).sum() for g in groups) / (n - k)
    if within <= 0:
        return None
    return float(between / within)
