"""refit.py: the epoch chosen from a held-out pass, by loss or by accuracy, the first best."""

from __future__ import annotations

import numpy as np

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.records import EpochRecord, History
from rnntrace.train.refit import best_epoch, choose_epochs, held_out_pass


def _history(*rows: tuple[float | None, float | None, float]) -> History:
    return History(records=[
        EpochRecord(epoch=i + 1, loss=1.0, accuracy=acc, val_loss=vl, val_accuracy=va,
                    grad_norm=0.1, lr=0.01)
        for i, (vl, va, acc) in enumerate(rows)
    ])


def test_best_epoch_is_the_first_best_by_loss_or_by_accuracy() -> None:
    history = _history((0.9, 0.5, 0.5), (0.4, 0.8, 0.7), (0.5, 0.9, 0.9), (0.4, 0.9, 1.0))
    assert best_epoch(history, "loss") == 2  # 0.4 first at epoch 2 (again at 4)
    assert best_epoch(history, "accuracy") == 3  # 0.9 first at epoch 3 (again at 4)
    # Without a held-out score, accuracy falls back to training accuracy; loss to epoch 1.
    unscored = _history((None, None, 0.5), (None, None, 0.8), (None, None, 0.6))
    assert best_epoch(unscored, "accuracy") == 2 and best_epoch(unscored, "loss") == 1


def test_choose_epochs_reads_the_held_out_pass_it_shares_with_choose() -> None:
    rng = np.random.default_rng(0)
    labels = np.arange(30) % 2
    values = (rng.normal(0, 1, (30, 6, 1)) + labels[:, None, None]).astype(np.float32)
    data = SequenceSet(values, np.full(30, 6), labels, ["a", "b"], ["x"],
                       [str(i) for i in range(30)], "two")
    model_config = ModelConfig(n_features=1, n_classes=2, hidden_size=4, cell="gru")
    config = TrainConfig(epochs=4, batch_size=8, seed=3, threads=1)
    picked = choose_epochs(model_config, data, config)
    _, history = held_out_pass(model_config, data, config)  # the same seeded pass again
    assert picked.ran == len(history.records)
    assert picked.epochs == best_epoch(history, "accuracy")
    assert picked.val_accuracy == history.records[picked.epochs - 1].val_accuracy
