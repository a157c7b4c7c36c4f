"""How many epochs to train on all the data: chosen on a held-out split, then trained again.

Small sets pay for a held-out fifth with a fifth of their examples. So the epoch count is chosen
the usual way (early stopping on a stratified held-out split, keeping the best weights), and the
final model is a fresh one trained on every training example for that many epochs:

    pass 1   80 % train ──► epochs 1…k, the held-out score is best at epoch e   (model scored)
    pass 2  100 % train ──► epochs 1…e                                          (the run's model)

Both users of this rule share pass 1 and the choice of e from here: `train --text` (e by
held-out accuracy, choose_epochs) and the no-flag defaults (search.py: e by held-out loss, and
each candidate's pass-1 model scored on the held-out part to choose between candidates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import EpochEnd, History
from rnntrace.train.averaging import SWA_EPOCHS
from rnntrace.train.fit import fit
from rnntrace.train.split import Split


@dataclass
class EpochChoice:
    """The epochs chosen on the held-out split, and what the held-out data said."""

    epochs: int
    ran: int  # epochs pass 1 ran before it stopped
    val_accuracy: float

    def note(self) -> str:
        return (f"held-out accuracy peaked at {self.val_accuracy:.1%} in epoch {self.epochs} of "
                f"{self.ran}; the run trains on all the training data for {self.epochs} epochs")


def held_out_pass(
    model_config: ModelConfig,
    data: SequenceSet | Split,
    config: TrainConfig,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    *,
    average: bool = False,
) -> tuple[SequenceClassifier, History]:
    """Pass 1: a fresh model, seeded as a run seeds it, trained with early stopping on the
    held-out part (a Split's, or `config.val_fraction` of `data`); it ends on its best weights,
    or with `average` (a Split only) on the weights averaged over more epochs from there
    (averaging.averaged_continuation), as the refit will end."""
    model = SequenceClassifier.from_config(model_config, seed=config.seed)  # as a run's
    averaged = (config.average_epochs or SWA_EPOCHS) if average and isinstance(data, Split) else 0
    history = fit(model, data, None, replace(config, checkpoint=False, average_epochs=averaged),
                  checkpoints=None, on_epoch_end=on_epoch_end)
    return model, history


def best_epoch(history: History, by: str) -> int:
    """The first epoch (from 1) of lowest held-out loss (`by="loss"`) or highest held-out
    accuracy (`by="accuracy"`; training accuracy for epochs without a held-out score)."""
    records = history.records
    if not records:
        return 1
    if by == "loss":
        losses = [(r.val_loss, i) for i, r in enumerate(records) if r.val_loss is not None]
        return 1 + min(losses)[1] if losses else 1
    accuracies = [r.val_accuracy if r.val_accuracy is not None else r.accuracy for r in records]
    return 1 + max(range(len(accuracies)), key=lambda i: (accuracies[i], -i))


def choose_epochs(
    model_config: ModelConfig, data: SequenceSet, config: TrainConfig
) -> EpochChoice:
    """Pass 1 on `config.val_fraction` of `data`; the first epoch of best held-out accuracy."""
    _, history = held_out_pass(model_config, data, config)
    epoch = best_epoch(history, "accuracy")
    record = history.records[epoch - 1]
    accuracy = record.val_accuracy if record.val_accuracy is not None else record.accuracy
    return EpochChoice(epoch, len(history.records), float(accuracy))
