"""`fit`: the one owner of a training run's split, statistics and weight averaging.

fit(model, data) → hold out a stratified seeded part (or take `val`, or a `Split`) → set the
model's standardisation from the training part → the training loop (loop.py) → with
`average_epochs`, more epochs at a constant small lr and the mean of their weights
(averaging.py). The History says what ran and what was averaged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from rnntrace.config.settings import TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset, feature_stats
from rnntrace.errors import DataError
from rnntrace.model.classifier import SequenceClassifier, Standardize
from rnntrace.records import Averaging, EpochEnd, History
from rnntrace.train.averaging import SWA_LR, averaged_continuation
from rnntrace.train.checkpoint import Checkpoint
from rnntrace.train.loop import Data, evaluate, train_epochs
from rnntrace.train.split import Split, split_validation


def fit(
    model: SequenceClassifier,
    train: Data | Split,
    val: Data | None = None,
    config: TrainConfig | None = None,
    *,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    checkpoints: Path | None = None,
    resume: Checkpoint | None = None,
    **overrides: Any,
) -> History:
    """Train `model` on `train`, scoring `val` after each epoch; keyword overrides patch `config`.

    Without `val`, a stratified seeded `config.val_fraction` of `train` is held out (20 % by
    default; 0 trains on all of it). A model whose standardisation was never set takes its
    statistics from the training split. Given a `Split` (see `split`), fit trains on its parts
    and always takes its statistics: the way to know the split and statistics a fit used.

    With `config.average_epochs`, training then goes on for that many epochs at a constant small
    lr and the model ends on the mean of their weights (stochastic weight averaging); those
    epochs reach `on_epoch_end` with `phase="averaging"`, and `History.averaging` holds them and
    the averaged model's training scores. A run that diverged is not averaged.

    A non-finite loss stops training and restores the weights from before that epoch. With
    `checkpoints`, the state after each epoch is saved there (rank 0 only); `resume` continues
    from such a checkpoint and ends with the weights an uninterrupted run would have. Under
    torchrun (WORLD_SIZE > 1) the ranks train one model together with DDP.
    """
    config = replace(config or TrainConfig(), **overrides)
    train, val = _parts(model, train, val, config)
    more = config.average_epochs

    def planned(end: EpochEnd) -> None:  # the averaging's epochs are planned too
        if on_epoch_end is not None:
            on_epoch_end(replace(end, epochs=end.epochs + more))

    history = train_epochs(model, train, val, config, checkpoints=checkpoints, resume=resume,
                           on_epoch_end=planned if more else on_epoch_end)
    if more and not (history.stop_reason or "").startswith("non-finite"):
        continued = averaged_continuation(
            model, train, config, on_epoch_end,
            after=history.records[-1].epoch if history.records else 0)
        if continued.stop_reason is None:
            loss, accuracy = evaluate(model, train, config.batch_size)
            history.averaging = Averaging(SWA_LR, continued.records, loss, accuracy)
    return history


def _parts(model: SequenceClassifier, train: Data | Split, val: Data | None,
           config: TrainConfig) -> tuple[Data, Data | None]:
    """The training and held-out data, with the model's standardisation set from training."""
    if isinstance(train, Split):  # the split and statistics its caller took from split()
        model.standardize.set_statistics(torch.from_numpy(train.mean),
                                         torch.from_numpy(train.std))
        if model.target_scale is not None:  # a regression target's, from the same part
            _set_target_scale(model, train.train)
        return train.train, train.held_out
    if val is None and isinstance(train, SequenceSet):
        train, val = split_validation(train, None, config)
    if isinstance(train, SequenceSet | RowSubset) and _identity(model.standardize):
        mean, std = feature_stats(train)  # the training split's own, as a run's are
        model.standardize.set_statistics(torch.from_numpy(mean), torch.from_numpy(std))
    if model.target_scale is not None and _identity(model.target_scale):
        _set_target_scale(model, train)
    return train, val


def _identity(standardize: Standardize) -> bool:
    """Whether no statistics were set yet (a fresh model's mean 0 and std 1)."""
    return bool(torch.all(standardize.mean == 0) and torch.all(standardize.std == 1))


def _set_target_scale(model: SequenceClassifier, train: Data) -> None:
    """A regression model's target statistics, from the training part only (as the features')."""
    data = train.data if isinstance(train, RowSubset) else train
    targets = getattr(data, "targets", None)
    if targets is None:
        raise DataError("a regression model needs numeric targets (SequenceSet.targets)")
    if isinstance(train, RowSubset):
        targets = targets[train.rows]
    mean, std = targets.mean(axis=0), targets.std(axis=0)  # (K,), (K,)
    model.target_scale.set_statistics(  # type: ignore[union-attr]
        torch.from_numpy(mean.astype("float32")), torch.from_numpy(std.astype("float32")))
