"""Weight averaging after training (stochastic weight averaging, Izmailov et al. 2018).

On a few dozen training sequences the weights after any one epoch carry that epoch's noise:
which few sequences the last steps happened to fit. So after training has converged, the model
trains SWA_EPOCHS more epochs at a constant small lr and ends on the mean of the weights after
each of them: nearer the middle of the region those epochs wander in, and still ONE model of
the same shape, traced, explained and saved like any other. The no-flag defaults (search.py)
use it in both passes: each candidate is scored as the averaged model it would become, and the
final model ends the same way. Averaging the last half of a cosine schedule's own epochs
instead was measured and dropped: its early epochs are not yet trained, and the mean of them
scored lower than the last weights (PickupGestureWiimoteZ, 9 of 12 candidate-seed pairs).

Buffers are averaged too (BatchNorm's running statistics, as AveragedModel with
use_buffers=True); integer buffers (BatchNorm's batch counter) keep the last epoch's value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from torch import Tensor, nn

from rnntrace.config.settings import TrainConfig
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import EpochEnd, EpochRecord, History
from rnntrace.train.loop import Data, train_epochs

SWA_EPOCHS = 20  # epochs averaged after training has converged
SWA_LR = 1e-3  # constant: large enough to move between nearby solutions, small enough to stay


class EpochWeights:
    """An `on_epoch_end` that keeps a copy of the model's state after every epoch, by epoch."""

    def __init__(self, model: nn.Module, then: Callable[[EpochEnd], Any] | None = None) -> None:
        self.model = model
        self.then = then
        self.states: dict[int, dict[str, Tensor]] = {}

    def __call__(self, end: EpochEnd) -> None:
        self.states[end.record.epoch] = {
            k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.then is not None:
            self.then(end)

    def average(self, first: int, last: int) -> dict[str, Tensor]:
        """The mean state of epochs first…last (those kept); integer tensors: the last one's."""
        kept = [self.states[e] for e in range(first, last + 1) if e in self.states]
        if not kept:
            raise ValueError(f"no epochs kept between {first} and {last}")
        mean: dict[str, Tensor] = {}
        for key, value in kept[-1].items():
            if value.is_floating_point():
                total = value.double().clone()
                for state in kept[:-1]:
                    total += state[key].double()
                mean[key] = (total / len(kept)).to(value.dtype)
            else:
                mean[key] = value.clone()
        return mean


def averaged_continuation(
    model: SequenceClassifier, data: Data, config: TrainConfig,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None, *, after: int = 0,
) -> History:
    """Train `model` on `data` for `config.average_epochs` (else SWA_EPOCHS) more epochs at the
    constant SWA_LR (no held-out part, no early stopping) and end on the mean of its weights
    after each of them.

    The epochs are numbered on from `after` (the epochs trained before), in the History returned
    and in what `on_epoch_end` receives, so they continue a run's log rather than restart it.
    """
    epochs = config.average_epochs or SWA_EPOCHS

    def renumbered(end: EpochEnd) -> None:
        _renumber(end.record, after, epochs)
        if on_epoch_end is not None:
            on_epoch_end(replace(end, epochs=after + epochs, phase="averaging"))

    kept = EpochWeights(model, renumbered)
    more = replace(config, epochs=epochs, average_epochs=0,
                   lr=SWA_LR, lr_schedule="none", patience=None, val_fraction=0.0,
                   checkpoint=False)
    history = train_epochs(model, data, None, more, checkpoints=None, on_epoch_end=kept)
    if history.stop_reason is None and history.records:
        model.load_state_dict(kept.average(1, len(history.records)))  # kept by their own count
    return history


def _renumber(record: EpochRecord, after: int, epochs: int) -> None:
    k = record.epoch  # 1…epochs as the continuation's own fit counts
    record.epoch = after + k
    # The fit's own observation would read this as a run's k-th epoch; it is not one.
    record.observation = (f"averaging {k} of {epochs}: these weights join the mean the model "
                          f"ends on")
