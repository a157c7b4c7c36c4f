"""Long epoch tables condensed: runs of epochs that say the same thing fold, nothing is lost."""

from __future__ import annotations

import math

from rnntrace.records import EpochRecord
from rnntrace.render.condense import FOLD_MIN, condense, kind_of
from rnntrace.train.observations import observe


def converging(n: int = 100) -> list[EpochRecord]:
    """A run that learns for a while, then sits at a near-zero loss with everything right."""
    records = []
    for i in range(n):
        loss = 1.1 * math.exp(-i / 6) + 2e-4 * (1 + 0.001 * (i % 3))
        accuracy = min(1.0, 0.4 + i / 20)
        records.append(EpochRecord(epoch=i + 1, loss=loss, accuracy=accuracy, val_loss=None,
                                   val_accuracy=None, grad_norm=0.1, lr=0.01))
    for record, text in zip(records, observe(records, n_classes=3), strict=True):
        record.observation = text
    return records


def test_every_epoch_stays_in_order_and_runs_fold() -> None:
    records = converging()
    rows = condense(records)
    shown = [r.record.epoch for r in rows if r.record is not None]
    assert shown == list(range(1, 101))  # nothing dropped, nothing repeated
    lines = [r for r in rows if r.record is None]
    assert lines  # this run has long runs of one kind
    for line in lines:
        inner = [r.record for r in rows if r.fold == line.fold and r.record is not None]
        assert len(inner) >= FOLD_MIN - 2
        kinds = {kind_of(r.observation) for r in inner}
        assert len(kinds) == 1 and next(iter(kinds)) in line.summary
        assert line.summary.startswith(f"epochs {inner[0].epoch}–{inner[-1].epoch}: "
                                       f"{len(inner)} more")
    # The converged tail: its first and last epoch stay in view around the fold.
    last_fold = lines[-1].fold
    visible = [r.record.epoch for r in rows if r.record is not None and r.fold is None]
    folded = [r.record.epoch for r in rows if r.fold == last_fold and r.record is not None]
    assert folded[0] - 1 in visible and folded[-1] + 1 in visible
    assert kind_of(records[folded[0] - 1].observation) == "converged"


def test_a_run_one_short_of_the_threshold_stays_open() -> None:
    records = converging(8)
    for r in records:
        r.observation = "Loss fell 1% (…): learning."
    assert all(r.fold is None for r in condense(records, fold_min=9))
    rows = condense(records, fold_min=8)
    assert [r.record.epoch for r in rows if r.record is not None and r.fold is None] == [1, 8]


def test_sentences_of_no_known_kind_are_never_folded_together() -> None:
    records = converging(10)
    for i, r in enumerate(records):
        r.observation = f"something else {i}"
    assert all(r.fold is None for r in condense(records))
