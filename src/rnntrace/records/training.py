"""What training did: one record per epoch, the History of a fit, averaging, test scores, the
no-flag choice of settings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rnntrace.records.shown import Shown


@dataclass
class EpochRecord:
    """What one epoch of training did, in numbers, plus a sentence about them."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    grad_norm: float  # mean over the epoch's steps of the gradient norm before clipping
    lr: float
    observation: str = ""


@dataclass
class Averaging:
    """The epochs after training whose weights the model ends on the mean of (averaging.py)."""

    lr: float  # constant over these epochs
    # Each epoch with its own weights, numbered on from the training epochs; no held-out part.
    records: list[EpochRecord]
    loss: float  # the mean weights' loss on the training data: the model the run keeps
    accuracy: float


@dataclass
class EpochEnd:
    """What `on_epoch_end` receives after each epoch."""

    record: EpochRecord
    epochs: int  # planned in total
    train_seconds: float
    seqs_per_s: float
    # "training", or "averaging" for the epochs whose mean weights the model ends on.
    phase: str = "training"


@dataclass
class History(Shown):
    """Per-epoch records of a fit, plus their timings and why training stopped."""

    records: list[EpochRecord] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    seqs_per_s: list[float] = field(default_factory=list)
    stop_reason: str | None = None  # None: all epochs ran
    threads: int = 1
    device: str = "cpu"
    world_size: int = 1  # processes that trained together (torchrun)
    # The epochs after training whose mean weights the model ends on (TrainConfig.average_epochs)
    averaging: Averaging | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> History:
        records = [EpochRecord(**r) for r in raw["records"]]
        averaging = raw.get("averaging")
        if isinstance(averaging, dict):
            averaging = Averaging(**{**averaging, "records": [
                EpochRecord(**r) for r in averaging["records"]]})
        return cls(**{**raw, "records": records, "averaging": averaging})

    def _renderables(self) -> list[Any]:
        from rnntrace.render.notebook import history_renderables

        return history_renderables(self)


@dataclass
class CandidateScore:
    """One candidate configuration of the settings search, scored on held-out training data."""

    name: str
    settings: dict[str, Any]
    val_accuracy: float
    val_loss: float
    best_epoch: int
    epochs_run: int
    seconds: float


# How the search's text names whoever fixed the settings it did not choose (train/search.py).
FIXED_BY_FLAGS = "your flags"


@dataclass
class Choice:
    """How `train` chose the settings the user left open, from the training file alone."""

    chosen: str  # the winning candidate's name
    settings: dict[str, Any]  # the settings the final model used
    user_settings: dict[str, Any]  # what the user fixed (they override every candidate)
    candidates: list[CandidateScore]
    held_out: int  # training sequences held out to score the candidates
    reason: str
    seconds: float = 0.0
    # What each candidate's val_accuracy holds: accuracy, or the task's score (config/task.py:
    # R² for regression, frame accuracy per step); left out of trace.json when "accuracy".
    score: str = "accuracy"
    # Who fixed user_settings, as the views say it ("Fixed by your flags: ..."): the command
    # line's flags, or an estimator's parameters (rnntrace.sklearn); left out of trace.json
    # when the flags.
    fixed_by: str = FIXED_BY_FLAGS

    def fixed_by_other(self, who: str) -> Choice:
        """This choice as made for a caller whose settings are not flags: the same choice,
        with `who` named wherever the search wrote "your flags"."""
        return dataclasses.replace(self, fixed_by=who,
                                   reason=self.reason.replace(FIXED_BY_FLAGS, who))


@dataclass
class ClassScore:
    """Precision, recall and F1 of one class on the test set."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int  # test sequences whose true class this is


@dataclass
class TestReport:
    """How the trained model does on a test file it never saw during training."""

    accuracy: float
    per_class: list[ClassScore]
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted class
    labels: list[str]
    n_sequences: int = 0
    loss: float | None = None


# ─── Tracing and explaining recurrent layers (tracing/: hooks, equations, steps, explain,
# shapes, dynamics). Plain records as above: tracing fills them, the renderers read them. ───
