"""How many epochs to train on all the data: chosen on a held-out split, then trained again.

Text sets are small, and holding a fifth out for early stopping costs the final model a fifth
of its examples. So the epoch count is chosen the usual way (early stopping on a stratified
held-out split, by held-out accuracy, the first best epoch), and the run then trains a fresh
model on every training example for that many epochs:

    pass 1   80 % train ──► epochs 1…k, held-out accuracy peaks at epoch e   (model discarded)
    pass 2  100 % train ──► epochs 1…e                                        (the run's model)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from rnntrace.config import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.model import SequenceClassifier
from rnntrace.train import fit


@dataclass
class EpochChoice:
    """The epochs chosen on the held-out split, and what the held-out data said."""

    epochs: int
    ran: int  # epochs pass 1 ran before it stopped
    val_accuracy: float

    def note(self) -> str:
        return (f"held-out accuracy peaked at {self.val_accuracy:.1%} in epoch {self.epochs} of "
                f"{self.ran}; the run trains on all the training data for {self.epochs} epochs")


def choose_epochs(
    model_config: ModelConfig, data: SequenceSet, config: TrainConfig
) -> EpochChoice:
    """Pass 1: early stopping on `config.val_fraction` of `data`; the epoch of best accuracy."""
    torch.manual_seed(config.seed)
    model = SequenceClassifier.from_config(model_config)
    history = fit(model, data, None, replace(config, checkpoint=False), checkpoints=None)
    accuracies = [r.val_accuracy if r.val_accuracy is not None else r.accuracy
                  for r in history.records]
    best = max(range(len(accuracies)), key=lambda i: (accuracies[i], -i))
    return EpochChoice(best + 1, len(accuracies), float(accuracies[best]))
