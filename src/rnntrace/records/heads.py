"""What a regression or per-step run adds to its Trace: scores beside their chance lines, one
sequence's prediction, and the pairs and strips its views plot. Plain, JSON-ready values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScoreLine:
    """One predictor's figures on one set: the model, or a line it must beat."""

    name: str  # "model", "training mean", "last value", "majority label"
    scores: dict[str, float]  # mae, rmse, r2 | frame_accuracy, macro_f1, f1@10.., edit


@dataclass
class ScoredSet:
    """The model and its chance lines on one set (held-out or test)."""

    name: str  # "held-out" | "validation" (a --val file) | "test" | "training"
    n_sequences: int
    lines: list[ScoreLine]

    def line(self, name: str) -> ScoreLine | None:
        return next((line for line in self.lines if line.name == name), None)


@dataclass
class HeadExample:
    """One sequence's prediction: a number (or several), or a label per step."""

    sequence_id: str
    length: int
    predicted: list[float]  # regress: (K,) in the target's units; steps: (T,) label codes
    truth: list[float] | None  # the same shape; None when unknown
    # steps: the predicted label's probability at each step, (T,)
    confidence: list[float] = field(default_factory=list)
    # steps: each step's value in the file's time column, as text (T,); empty when the data
    # had none (NumPy, a table in file order), and in older traces
    times: list[str] = field(default_factory=list)


@dataclass
class HeadReport:
    """A regression or per-step run's own section of the Trace (task.py names the task)."""

    task: str  # regress | steps
    sets: list[ScoredSet]  # held-out first, then test when one was scored
    example: HeadExample | None
    target_names: list[str] = field(default_factory=list)  # regress
    target_mean: list[float] = field(default_factory=list)  # training statistics, regress
    target_std: list[float] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)  # steps
    # regress: predicted against actual on the last scored set (first target), for the plots
    actual: list[float] = field(default_factory=list)
    predicted: list[float] = field(default_factory=list)
    # steps: a few sequences of the last scored set as label strips, truth and prediction
    strips: list[HeadExample] = field(default_factory=list)
    direction: str = ""  # steps: what the direction of the layer means for online use
    time_column: str = ""  # steps: the file's time column, which the example's `times` hold
    # regress: whether the last-value line is shown (a series in the target's units)
    last_value: bool = False
    # Why the example was predicted so (attribution/heads.py): regress (T, F) shares of the
    # predicted number in target units; steps (S, T): output steps × input steps.
    attribution: list[list[float]] = field(default_factory=list)
    attribution_rows: list[int] = field(default_factory=list)  # steps: the output steps
    attribution_holds: bool | None = None  # Integrated Gradients' completeness check
    attribution_note: str = ""
    # Where the example (and its attribution and step trace) comes from: "held-out",
    # "validation" (a --val file), or "training" when nothing was held out (the model
    # trained on it); "" in older traces.
    example_set: str = ""
