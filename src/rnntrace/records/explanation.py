"""The explanation of a model's predictions: plain, JSON-ready dataclasses (no tensors).

attribution/ fills them; the terminal and HTML views read them, so those are testable without a
model. A run keeps them in `explain.json` beside its `trace.json`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from rnntrace._deprecated import warn_renamed
from rnntrace.records.prediction import PredictionTrace
from rnntrace.records.serial import from_dict

EXPLAIN_SCHEMA_VERSION = 1


@dataclass
class PathJump:
    """Where the target's score jumps on the path from the baseline (α = 0) to the input (α = 1)
    within a stretch too narrow for floating point: a change no gradient sees."""

    at: float  # α, to about 1e-6
    size: float  # what the attributions miss there


@dataclass
class Completeness:
    """Integrated Gradients' own check: the attributions sum to f(input) − f(baseline).

    `error` is |sum − (f(input) − f(baseline))| divided by |f(input) − f(baseline)|, or by
    `floor` when that difference is smaller (a near-zero difference has no useful relative error).
    """

    f_input: float  # the target class's logit for the input
    f_baseline: float  # ... and for the baseline
    attribution_sum: float
    error: float
    tolerance: float
    n_steps: int  # gradient evaluations of the last try
    tried: list[int]  # every uniform step count tried, in order
    floor: float = 0.01
    # 1: one Gauss-Legendre rule over the whole path; more: the path was cut into this many
    # pieces where the score jumps (attribution/segmented.py), n_steps counting all of them
    pieces: int = 1
    jumps: list[PathJump] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return self.error <= self.tolerance

    @property
    def error_apart_from_jumps(self) -> float:
        """The error once the jumps are counted: what the gradients left out elsewhere."""
        diff = self.f_input - self.f_baseline
        missed = self.attribution_sum + sum(j.size for j in self.jumps) - diff
        return abs(missed) / max(abs(diff), self.floor)


@dataclass
class StepOcclusion:
    """A model-agnostic check: the target logit's drop when one step is set to the baseline."""

    per_step: list[float]  # f(input) − f(input with step t replaced), real steps only
    # Spearman's rank correlation between these drops and Integrated Gradients' per-step sums
    # (None when the sequence has fewer than 3 steps or one side is constant).
    rank_agreement: float | None


@dataclass
class BaselineCheck:
    """Whether the baseline already scores the explained class about as the input does.

    Integrated Gradients explains f(input) − f(baseline) only. When the baseline is itself
    taken for the explained class (a "mid" sequence explained against a training mean that is a
    mid sequence), that difference is small and the attribution cannot show what makes the input
    that class. Margins are log-odds of the class, log(p / (1 − p)), so they compare across
    classes and models; `close` is the rule the views warn on.
    """

    p_input: float  # P(explained class | input)
    p_baseline: float  # P(explained class | baseline)
    margin_input: float  # log-odds of the class for the input
    margin_baseline: float  # ... and for the baseline
    close: bool  # the baseline is predicted as the class, with at least CLOSE_SHARE of the
    # input's margin: little is left to attribute
    advice: str | None = None  # what to read instead, when close


@dataclass
class DataBaselines:
    """Integrated Gradients averaged over baselines drawn from the training sequences
    (expected gradients, Erion et al. 2021): what the input has that typical sequences lack.

    Its completeness: the attributions sum to f(input) − mean_k f(baseline_k); `completeness`
    holds that check with f_baseline the mean over the baselines.
    """

    values: list[list[float]]  # (T_i, F), the mean over the baselines
    per_step: list[float]  # (T_i,)
    per_feature: list[float]  # (F,)
    n_baselines: int
    baseline: str  # where the baselines come from, in words
    completeness: Completeness
    p_baseline: float  # mean P(explained class | baseline_k)
    holds_each: int  # baselines whose own IG completeness held


@dataclass
class Attribution:
    """How much each (step, feature) of one sequence moved the target class's logit."""

    index: int  # position in the set it was taken from
    sequence_id: str
    length: int
    target: int  # the class explained (the predicted one unless asked otherwise)
    predicted: int
    true_class: int | None  # as PredictionTrace.true_class (explain.json before: "true")
    class_names: list[str]
    feature_names: list[str]
    probabilities: list[float]
    values: list[list[float]]  # (T_i, F), real steps only: padding gets exactly 0 and is left out
    per_step: list[float]  # (T_i,) the sum over features
    per_feature: list[float]  # (F,) the sum over steps
    baseline: str  # what the baseline is, in words
    completeness: Completeness
    occlusion: StepOcclusion | None = None
    method: str = "Integrated Gradients (Captum, Gauss–Legendre)"
    baseline_check: BaselineCheck | None = None  # does the baseline hide the class?
    data_baselines: DataBaselines | None = None  # the same sequence against training sequences

    @property
    def target_name(self) -> str:
        return self.class_names[self.target]

    @property
    def true(self) -> int | None:
        """Deprecated: `true_class`, as everywhere else."""
        warn_renamed("Attribution.true", "Attribution.true_class")
        return self.true_class


@dataclass
class UnitPeak:
    """One place a hidden unit was strongly active: which sequence, which step, what value."""

    sequence_id: str
    step: int  # 1-based
    value: float
    label: str  # the sequence's true class


@dataclass
class UnitResponse:
    """What one hidden unit of the top recurrent layer responds to, over a set of sequences."""

    unit: int  # column of the layer's output (forward units first, then backward)
    name: str  # "h3", or "fwd h3" / "bwd h3"
    peaks: list[UnitPeak]  # where |h| was largest, largest first
    class_means: list[float]  # mean activation over the real steps of each class's sequences
    f_score: float | None  # one-way ANOVA F of per-sequence mean activation by class


@dataclass
class UnitSummary:
    """Every unit of the top recurrent layer, and those that best separate the classes."""

    n_sequences: int
    class_names: list[str]
    statistic: str  # how `f_score` is computed, in words
    units: list[UnitResponse]
    separating: list[int]  # unit indices, best separating first


@dataclass
class GateTerms:
    """One gate's pre-activation for every unit, split by where each part comes from."""

    from_x: list[float]  # W_i· x_t
    from_h: list[float]  # W_h· h_(t−1) (GRU's n gate: r_t ⊙ W_hn· h_(t−1))
    bias: list[float]  # b_i + b_h (GRU's n gate: b_in + r_t ⊙ b_hn)
    pre: list[float]  # the sum of the three
    value: list[float]  # after the gate's activation


@dataclass
class StepTerms:
    """One step of one layer and direction: every gate's terms, then the new state."""

    step: int  # 1-based time step
    gates: dict[str, GateTerms]  # "a" for a plain RNN; r z n (GRU); i f g o (LSTM)
    h: list[float]
    c: list[float] | None = None  # LSTM only


@dataclass
class LayerTerms:
    """Per-unit equation terms of one layer and direction for one sequence."""

    layer: int
    direction: str  # forward | backward
    cell: str
    steps: list[StepTerms]  # in time order, t = 1..T
    max_abs_diff: float  # recomputed h_t against the layer's own output (top layer)


@dataclass
class HardCase:
    """A held-out sequence the model gets most wrong (largest loss), with its own attribution."""

    loss: float
    prediction: PredictionTrace
    attribution: Attribution
    terms: list[LayerTerms] = field(default_factory=list)  # per-unit equation terms


@dataclass
class PlantedClass:
    """One class of the planted-signal self-test: where its attribution went."""

    name: str
    level: float  # the window's level for this class, in multiples of the amplitude
    n_sequences: int  # held-out sequences attributed to (predicted as) this class
    share_mean: float  # mean share of |attribution| inside the window, mean baseline
    share_data: float  # ... baselines drawn from the training data
    warned: int  # sequences whose baseline check said the baseline hides the class


@dataclass
class PlantedCheck:
    """The planted-signal self-test: does attribution find the steps and features that decide?

    One class's level equals the training mean, so the mean baseline is itself a sequence of
    that class: the test shows what that baseline hides and that the data baselines do not."""

    window: list[int]  # [first, last] 1-based steps that carry the signal
    features: list[int]  # feature indices that carry it
    share_trained: float  # mean share of |attribution| inside the window, trained model
    share_untrained: float  # ... same architecture before training
    share_by_chance: float  # the window's share of all (step, feature) cells
    accuracy_trained: float
    accuracy_untrained: float
    n_sequences: int  # held-out sequences attributed
    cell: str
    bidirectional: bool
    completeness_holds: bool
    # share_trained / share_untrained are over the data baselines; per class, both baselines
    classes: list[PlantedClass] = field(default_factory=list)
    share_untrained_mean: float | None = None  # the untrained model against the mean baseline

    @property
    def false_warnings(self) -> int:
        """Warnings on a class the mean baseline cannot be (its level is not the mean's)."""
        return sum(c.warned for c in self.classes if c.level != 0)

    @property
    def warning_right(self) -> bool:
        """The baseline warning fired on most sequences of the class at the mean, none else.

        Whether it fires at the mean depends on the model (how surely it takes the mean for
        that class); a warning elsewhere is always wrong."""
        return self.false_warnings == 0 and all(
            c.warned * 2 >= c.n_sequences for c in self.classes if c.level == 0)

    @property
    def passed(self) -> bool:
        every_class = all(c.share_data >= 0.5 for c in self.classes)
        return (self.share_trained >= 0.5 and self.share_trained > self.share_untrained + 0.2
                and every_class and self.false_warnings == 0)


@dataclass
class NumberAttribution:
    """How much each (step, feature) of one sequence moved one predicted number, in the
    target's own units (a regression model's attribution)."""

    index: int  # position in the set it was taken from
    sequence_id: str
    length: int
    target_name: str
    predicted: float  # in the target's units
    actual: float | None  # the sequence's true number, when the data has it
    feature_names: list[str]
    values: list[list[float]]  # (T_i, F), target units; real steps only
    per_step: list[float]  # (T_i,) the sum over features
    per_feature: list[float]  # (F,) the sum over steps
    baseline: str  # what the baseline is, in words
    completeness: Completeness  # f, the sums and the floor in target units
    occlusion: StepOcclusion | None = None  # the number's drop, target units
    method: str = "Integrated Gradients (Captum, Gauss–Legendre)"


@dataclass
class UnitCorrelation:
    """How closely one hidden unit's mean activation over a sequence follows the true number."""

    unit: int  # column of the top layer's output (forward units first, then backward)
    name: str
    r: float  # Pearson's correlation over the scored sequences


@dataclass
class TargetExplanation:
    """Why a regression model predicts the numbers it does, on a set of sequences."""

    target_name: str
    target: int  # which of the model's n_targets numbers is explained
    n_targets: int
    scored_on: str  # which sequences, in words ("43 held-out sequences")
    n_scored: int
    rmse: float  # the model's, target units
    mean_rmse: float  # always predicting the training mean
    training_mean: float
    attribution: NumberAttribution  # the explained sequence
    largest_errors: list[NumberAttribution]  # the sequences predicted furthest off, furthest first
    units: list[UnitCorrelation]  # the units that follow the true number most closely
    statistic: str  # how `units` are scored, in words


@dataclass
class Explanation:
    """Why a model predicts what it does: one sequence's attribution, the units, hard cases."""

    attribution: Attribution | None  # the traced sequence (or the one asked for)
    terms: list[LayerTerms]  # per-unit equation terms of that sequence
    units: UnitSummary | None
    hard_cases: list[HardCase] = field(default_factory=list)
    planted: PlantedCheck | None = None
    prediction: PredictionTrace | None = None  # of the attributed sequence
    seconds: float = 0.0
    # Of the n_scored sequences the hard cases were chosen from, how many are classified wrong
    # (None: not counted, as in explanations written before it was)
    mistakes: int | None = None
    n_scored: int | None = None
    schema_version: int = EXPLAIN_SCHEMA_VERSION
    # A regression model's explanation (the fields above then stay empty: they speak of classes)
    regression: TargetExplanation | None = None

    @property
    def no_mistake(self) -> bool:
        """Every scored sequence is right: the hard cases are only the least confident."""
        return self.mistakes == 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        # Compact by default: an explanation holds tens of thousands of numbers (per-unit
        # terms), one per line with an indent.
        return json.dumps(self.to_dict(), indent=indent, allow_nan=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Explanation:
        return from_dict(cls, _true_class(raw))

    # Shown through its views in rnntrace.render (a layer below), like the Trace.
    def __str__(self) -> str:
        from rnntrace.render.explain_text import explanation_lines

        return "\n".join(explanation_lines(self))

    def _repr_html_(self) -> str:
        from rnntrace.render.explain_text import explanation_renderables
        from rnntrace.render.notebook import html_of

        return html_of(explanation_renderables(self))

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rnntrace.render.explain_text import explanation_renderables

        yield from explanation_renderables(self)

    @classmethod
    def from_json(cls, text: str) -> Explanation:
        return cls.from_dict(json.loads(text))


def _true_class(raw: Any) -> Any:
    """explain.json before the rename: each attribution's "true" read as "true_class"."""
    if isinstance(raw, list):
        return [_true_class(v) for v in raw]
    if not isinstance(raw, dict):
        return raw
    attribution = "true" in raw and "completeness" in raw
    return {("true_class" if attribution and k == "true" else k): _true_class(v)
            for k, v in raw.items()}
