"""The regression search's rules on small sets, against hand-worked values: folds that hold
every sequence out once, the epoch of lowest mean held-out loss, budgets in updates."""

from __future__ import annotations

import numpy as np
import pytest

from rnntrace.config.settings import TrainConfig
from rnntrace.data.sequences import stratified_folds
from rnntrace.records import CandidateScore
from rnntrace.train import search
from rnntrace.train.search import HeldOut


def test_folds_hold_every_index_out_once_with_each_class_spread():
    labels = np.array([0] * 7 + [1] * 5 + [2] * 8)  # 20 sequences, three strata
    folds = stratified_folds(labels, 5, seed=3)
    together = np.sort(np.concatenate(folds))
    assert np.array_equal(together, np.arange(20))  # each index exactly once
    assert sorted(len(f) for f in folds) == [4, 4, 4, 4, 4]
    for c in (0, 1, 2):  # each stratum spread: its counts per fold differ by at most one
        counts = [int((labels[f] == c).sum()) for f in folds]
        assert max(counts) - min(counts) <= 1
    assert all(np.array_equal(a, b) for a, b in
               zip(folds, stratified_folds(labels, 5, seed=3), strict=True))  # seeded
    assert any(not np.array_equal(a, b) for a, b in
               zip(folds, stratified_folds(labels, 5, seed=4), strict=True))


def _score(best: int) -> CandidateScore:
    return CandidateScore(name="gru+last", settings={}, val_accuracy=0.5, val_loss=1.0,
                          best_epoch=best, epochs_run=6, seconds=1.0)


def test_epochs_from_the_mean_curve_not_the_median_best():
    # Three folds' held-out losses per epoch; the third stopped after 4 epochs (patience).
    curves = [[1.0, 0.9, 0.5, 0.6, 0.7, 0.8],
              [1.0, 0.3, 0.8, 0.7, 0.6, 0.9],
              [1.0, 0.8, 0.4, 0.9]]
    # Its last loss, 0.9, stands in for epochs 5 and 6. Means by hand:
    # e1 1.0, e2 2.0/3, e3 1.7/3, e4 2.2/3, e5 2.2/3, e6 2.6/3: lowest at epoch 3.
    merged = search._mean_score([(_score(3), HeldOut(curves[0], 4, 0.5, 0.5)),
                                 (_score(2), HeldOut(curves[1], 4, 0.5, 0.5)),
                                 (_score(3), HeldOut(curves[2], 4, 0.5, 0.5))])
    assert merged.best_epoch == 3 and merged.seconds == pytest.approx(3.0)
    lone = _score(2)
    assert search._mean_score([(lone, HeldOut(curves[1], 4, 0.5, 0.5))]) is lone


def test_r2_pooled_over_folds_by_hand():
    # Fold A: SSE 1.0 over 4 numbers, spread 10 (R² 0.9); fold B: SSE 2.0, spread 2.5 (R² 0.2).
    a = HeldOut([0.3], 4, loss=0.25, score=0.9)
    b = HeldOut([0.6], 4, loss=0.5, score=0.2)
    assert a.spread() == pytest.approx(10.0) and b.spread() == pytest.approx(2.5)
    merged = search._mean_score([(_score(1), a), (_score(1), b)])
    assert merged.val_accuracy == pytest.approx(1 - 3.0 / 12.5)  # 0.76, not the mean 0.55
    assert merged.val_loss == pytest.approx(3.0 / 8)


def test_small_sets_get_their_budget_and_patience_in_updates():
    config = TrainConfig(epochs=search.MAX_EPOCHS, batch_size=8, patience=search.PATIENCE)
    tiny = search._in_updates(config, 16)  # 2 updates an epoch
    assert (tiny.epochs, tiny.patience) == (search.MIN_UPDATES // 2,
                                            search.PATIENCE_UPDATES // 2)
    odd = search._in_updates(config, 17)  # 3 updates an epoch (8 + 8 + 1): rounded up
    assert (odd.epochs, odd.patience) == (-(-search.MIN_UPDATES // 3),
                                          -(-search.PATIENCE_UPDATES // 3))
    big = search._in_updates(TrainConfig(epochs=100, batch_size=32, patience=25), 138)
    assert (big.epochs, big.patience) == (100, 25)  # 5 updates an epoch: as for classifiers


def test_standard_error_and_the_one_standard_error_rule_by_hand():
    a = HeldOut([0.3], 4, loss=0.25, score=0.9)  # SSE 1.0, spread 10
    b = HeldOut([0.6], 4, loss=0.5, score=0.2)  # SSE 2.0, spread 2.5
    # Shares of the error: 2·1/12.5 = 0.16 and 2·2/12.5 = 0.32 (mean 0.24 = 1 − pooled R²);
    # their sample sd is 0.08·√2, over √2: 0.08.
    assert search.standard_error([a, b]) == pytest.approx(0.08)
    assert search.standard_error([a]) == 0.0
    scores = [CandidateScore("gru+last", {}, 0.60, 1.0, 5, 9, 1.0),
              CandidateScore("gru+max", {}, 0.66, 1.0, 5, 9, 1.0),
              CandidateScore("conv+gru+max", {}, 0.70, 1.0, 5, 9, 1.0)]
    assert search.within_one_se(scores, [0.0, 0.0, 0.03]) == 2  # bar 0.67: only the best
    assert search.within_one_se(scores, [0.0, 0.0, 0.08]) == 1  # bar 0.62: 0.66 comes first
    assert search.within_one_se(scores, [0.0, 0.0, 0.12]) == 0  # bar 0.58: the first one
