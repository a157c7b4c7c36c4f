"""A comparison of trained runs on the same held-out sequences: plain, JSON-ready records.

Hidden units are not aligned between models, so nothing here sets one model's unit beside
another's: every per-model view means the same for every model (a class probability, a share
of attribution, a gradient norm per step), and representations are compared as wholes (CKA).
experiment.comparison fills these; render.compare_text and render.compare_html show them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from rnntrace.records.serial import from_dict
from rnntrace.records.shown import Shown


@dataclass
class ModelResult:
    """One run on the common held-out sequences, and what it cost to train."""

    name: str  # the run directory's name
    path: str
    cell: str  # RNN | GRU | LSTM
    description: str  # e.g. "GRU(8), 1 layer"
    seed: int
    group: str  # runs whose settings differ only by the seed share a group
    parameters: int
    epochs: int  # trained
    best_epoch: int | None  # lowest held-out loss during training (None without one)
    epoch_seconds: float | None  # mean training seconds per epoch
    accuracy: float  # on the common held-out sequences
    loss: float
    # After each step in `Comparison.steps`: the mean probability of the true class, over the
    # sequences that reach that step (the model's prediction had the sequence ended there).
    true_class_probability: list[float]
    # The share of sequences whose prediction at that step is already the final one.
    decided: list[float]
    # Mean share of |Integrated Gradients| (true class) on each step of `Comparison.steps`.
    attribution: list[float]
    attribution_error: float  # largest IG completeness error (relative) among those sequences
    # ‖∂loss/∂h_t‖ of the top layer's forward direction at each step 1..T (the memory view).
    gradient: list[float]
    predictions: list[int] = field(default_factory=list)  # per common sequence


@dataclass
class GroupResult:
    """Runs that differ only by seed: their metrics as mean ± standard deviation."""

    name: str
    runs: list[str]
    accuracy_mean: float
    accuracy_std: float
    loss_mean: float
    loss_std: float
    parameters: int
    epoch_seconds_mean: float | None
    best_epoch_mean: float | None


@dataclass
class StepThrough:
    """One model on one sequence: its prediction after every step and its hidden states."""

    model: str
    predicted: int
    probabilities: list[list[float]]  # (S, C) after each step in Comparison.steps
    hidden: list[list[float]]  # (T, H') the top layer's h_t at each real step (units capped)


@dataclass
class Disagreement:
    """A held-out sequence on which the models do not all predict the same class."""

    sequence_id: str
    true_class: int
    length: int
    steps: list[int]  # the steps its step-throughs show (1-based)
    models: list[StepThrough]


@dataclass
class Comparison(Shown):
    """Every run on the same held-out sequences (see the module docstring)."""

    source: str  # the data the runs were trained on
    class_names: list[str]
    sequences: int  # common held-out sequences compared on
    held_out: str  # how they were chosen
    steps: list[int]  # the steps (1-based) of the per-step views
    models: list[ModelResult]
    groups: list[GroupResult]
    # Linear CKA (Kornblith et al. 2019) between every pair of models, (M, M): of the summary
    # each model's head reads, and of the top layer's h_t over every real step.
    similarity_summary: list[list[float]]
    similarity_states: list[list[float]]
    disagreements: list[Disagreement]
    disagreeing: int  # sequences on which the models disagree (disagreements shows the first)
    attribution_sequences: int  # sequences the attribution view is averaged over

    def _renderables(self) -> list[Any]:
        from rnntrace.render.compare_text import comparison_renderables

        return comparison_renderables(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Comparison:
        return from_dict(cls, raw)
