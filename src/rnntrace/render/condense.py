"""Long epoch tables condensed: runs of epochs that say the same thing folded into one line.

A 100-epoch run whose last 28 epochs all say "converged" shows its first and last epoch of
that run, and one line in between that opens the 26 others:

    epoch 72   … converged …
    ▸ epochs 73–98: 26 more, converged; loss 0.00031 → 0.00019      (opens the rows)
    epoch 99   … converged …

Nothing is dropped: the folded rows stay in the page (and in trace.json), hidden until opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rnntrace.records import EpochRecord

FOLD_MIN = 5  # a run this long or longer keeps its first and last epoch and folds the rest
# What an observation says, by the words observations.py writes for it; earlier entries win
# (an overfitting epoch's sentence also says "fell", a wobble's also says "learning").
KINDS: tuple[tuple[str, str], ...] = (
    ("stopped", "Training stopped"),
    ("exploding", "exploding"),
    ("vanishing", "vanishing"),
    ("diverging", "diverging"),
    ("overfitting", "overfitting"),
    ("wobble", "wobble"),
    ("converged", "converged"),
    ("plateau", "plateau"),
    ("noise", "noise"),
    ("learning", "learning"),
)


@dataclass
class EpochRow:
    """One row of the condensed table: an epoch, or the line that opens a folded run."""

    record: EpochRecord | None  # None for the line that opens a fold
    fold: int | None = None  # which fold the row belongs to (hidden until opened)
    summary: str = ""  # the opening line's words


def kind_of(observation: str) -> str:
    """What an epoch's observation says, in one word ("" when it names none of the kinds)."""
    for kind, words in KINDS:
        if words in observation:
            return kind
    return ""


def condense(records: Sequence[EpochRecord], fold_min: int = FOLD_MIN) -> list[EpochRow]:
    """Every epoch, in order, with runs of `fold_min` or more epochs of one kind folded."""
    rows: list[EpochRow] = []
    folds = 0
    start = 0
    while start < len(records):
        kind = kind_of(records[start].observation)
        end = start
        while kind and end + 1 < len(records) and kind_of(records[end + 1].observation) == kind:
            end += 1
        run = records[start : end + 1]
        if len(run) < fold_min:
            rows += [EpochRow(r) for r in run]
        else:
            inner = run[1:-1]
            rows.append(EpochRow(run[0]))
            rows.append(EpochRow(None, fold=folds, summary=_summary(inner, kind)))
            rows += [EpochRow(r, fold=folds) for r in inner]
            rows.append(EpochRow(run[-1]))
            folds += 1
        start = end + 1
    return rows


def _summary(inner: Sequence[EpochRecord], kind: str) -> str:
    first, last = inner[0], inner[-1]
    held = ""
    if first.val_accuracy is not None and last.val_accuracy is not None:
        held = f", held-out accuracy {first.val_accuracy:.3f} → {last.val_accuracy:.3f}"
    return (f"epochs {first.epoch}–{last.epoch}: {len(inner)} more, each {kind}; loss "
            f"{_num(first.loss)} → {_num(last.loss)}{held}")


def _num(x: float) -> str:
    return f"{x:.3f}" if x == 0 or abs(x) >= 0.01 else f"{x:.2g}"
