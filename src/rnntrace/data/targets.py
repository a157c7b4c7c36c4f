"""Labels that are numbers: read as targets to regress on, or as classes, and which was chosen.

A reader returns labels as text (class names) with a code per sequence; a regression target is
the same text read as a number. So a set read as classes becomes a regression set losslessly
(`as_regression`), and the decision can wait until the task is known:

    --task regress     every label must be a number: the targets
    --task classify    the labels are classes, even when they are numbers
    no --task          `infer_task` decides from the labels and says what it decided and why

A numeric label column is never turned into classes without a word: labels with fractions or
more than MAX_NUMBERED_CLASSES whole numbers become targets, and the reason is printed; 11 to 20
whole numbers stay classes, and that is printed too; a few codes (0/1, 1..10) stay classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import DataError

# Whole numbers with at most this many distinct values read as classes (gesture 1..10, digits
# 0..9, ratings 1..5); more than this, or any fraction, read as a quantity.
MAX_NUMBERED_CLASSES = 20
# ...and from this many distinct whole numbers on, reading them as classes is said (ages 0-15
# could be a quantity); two to ten codes (0/1, gestures 1..10) are read as classes silently.
SAY_CLASSES_FROM = 11
STRATA = 5  # quantile bins of the target that a held-out split keeps in proportion


@dataclass(frozen=True)
class Inferred:
    """The task chosen for a file's labels when none was given, and the sentence why."""

    task: str  # classify | regress
    reason: str  # "" when nothing needed saying (labels that are words)


def _numbers(names: list[str]) -> npt.NDArray[np.float64] | None:
    """The class names as numbers, or None when any is not a finite number."""
    try:
        values = np.array([float(n) for n in names], dtype=np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def infer_task(data: SequenceSet) -> Inferred:
    """classify or regress for labels read as classes, with the reason when they are numbers."""
    values = _numbers(list(data.class_names))
    if values is None:
        return Inferred("classify", "")
    distinct = len(values)
    whole = bool(np.all(values == np.round(values)))
    if not whole:
        return Inferred("regress", (
            f"the labels are numbers with fractions ({distinct} distinct values, e.g. "
            f"{_examples(data.class_names)}): read as a quantity to predict (regression); "
            "--task classify reads them as classes"))
    if distinct > MAX_NUMBERED_CLASSES:
        return Inferred("regress", (
            f"the labels are {distinct} distinct whole numbers (more than "
            f"{MAX_NUMBERED_CLASSES}): read as a quantity to predict (regression); "
            "--task classify reads them as classes"))
    if distinct < SAY_CLASSES_FROM:
        return Inferred("classify", "")
    return Inferred("classify", (
        f"the labels are {distinct} whole numbers ({_examples(data.class_names)}): read as "
        "classes; --task regress predicts them as numbers"))


def step_numbers_note(data: SequenceSet) -> str:
    """With --task steps, step labels that read as a quantity (infer_task's rule): each of
    their values becomes a class of its own, which is said, for a number per step is not a
    task here; "" for labels that are words or a few codes."""
    if data.step_labels is None or infer_task(data).task != "regress":
        return ""
    return (f"the step labels are {len(data.class_names)} distinct numbers (e.g. "
            f"{_examples(data.class_names)}): --task steps reads each value as a class of its "
            "own; a number per step is not predicted as a quantity (--task regress predicts "
            "one number per sequence)")


def _examples(names: list[str], n: int = 3) -> str:
    shown = ", ".join(names[:n])
    return shown + (", …" if len(names) > n else "")


def strata(values: npt.NDArray[np.float32], bins: int = STRATA) -> npt.NDArray[np.int64]:
    """Quantile bins of the first target, so a held-out split spans the target's range."""
    first = np.asarray(values, dtype=np.float64).reshape(len(values), -1)[:, 0]
    bins = max(1, min(bins, len(first) // 2))
    edges = np.quantile(first, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, first, side="right").astype(np.int64)


def require_spread(data: SequenceSet) -> None:
    """Refuse a regression set with a target that is one number on every sequence: there is
    nothing to learn, and its std of 0 (replaced by 1 to standardise it) would scale the
    head's noise into predictions off the constant."""
    if data.targets is None:
        return
    targets = np.asarray(data.targets).reshape(len(data.targets), -1)  # (N, K)
    flat = np.flatnonzero(np.ptp(targets, axis=0) == 0)
    if not flat.size:
        return
    k = int(flat[0])
    where = data.source or "the data"
    if targets.shape[1] == 1:
        raise DataError(f"{where}: every target is the same number ({targets[0, 0]:g}); there "
                        "is nothing to learn")
    raise DataError(f"{where}: target {data.target_names[k]!r} is the same number "
                    f"({targets[0, k]:g}) on every sequence; there is nothing to learn from it: "
                    "leave it out of the targets")


def as_regression(data: SequenceSet, name: str = "target") -> SequenceSet:
    """The set with its labels read as numbers: targets (N, 1); a DataError if one is not."""
    if data.targets is not None:
        return data
    if data.step_labels is not None:
        raise DataError(f"{data.source or 'the data'}: a label per step is a class per step; "
                        "regression predicts one number per sequence")
    values = _numbers(list(data.class_names))
    if values is None:
        bad = next(n for n in data.class_names if _numbers([n]) is None)
        raise DataError(f"{data.source or 'the data'}: label {bad!r} is not a number; "
                        "regression (--task regress) needs a numeric target on every sequence")
    targets = values[data.labels].astype(np.float32)[:, None]  # (N, 1)
    return SequenceSet(values=data.values, lengths=data.lengths, labels=strata(targets),
                       class_names=[], feature_names=list(data.feature_names),
                       ids=list(data.ids), source=data.source, dropped=list(data.dropped),
                       targets=targets, target_names=[name])
