"""One sequence followed to its prediction: the prediction trace, summaries, text tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

from rnntrace._deprecated import warn_renamed


@dataclass
class PredictionTrace:
    """One sequence through every layer, with the values each layer produced."""

    sequence_id: str
    length: int
    feature_names: list[str]
    inputs: list[list[float]]  # (T, F)
    # The top layer's output at each real step, (T, H × directions); for a bidirectional layer
    # the first H are the forward direction and the last H the backward one.
    hidden_states: list[list[float]]
    last_hidden: list[float]  # what feeds the classifier, (H × directions,)
    logits: list[float]  # (C,)
    probabilities: list[float]  # softmax(logits), (C,)
    class_names: list[str]
    predicted: int  # index into class_names
    true_class: int | None  # index into class_names; None when the label is unknown
    # Text runs: the token read at each step (the inputs are then token ids), (T,).
    tokens: list[str] = field(default_factory=list)
    # How the summary read the steps (max: the step of each unit's value; attention: each step's
    # weight); None for the last state, so a lesson's trace reads as before.
    summary: SummaryTrace | None = None
    # A user's model (rt.trace): what its output is and how it was read (tracing/heads.py), e.g.
    # probabilities already, shown as they are; "" for rnntrace's own classifier.
    head: str = ""
    # A head with one row of scores per step: sequence 0's probabilities at each step, (T', C);
    # the fields above then hold the last step's.
    step_probabilities: list[list[float]] = field(default_factory=list)

    @property
    def predicted_label(self) -> str:
        return self.class_names[self.predicted]

    @property
    def true_label(self) -> str | None:
        return None if self.true_class is None else self.class_names[self.true_class]

    @property
    def true(self) -> int | None:
        """Deprecated: `true_class`."""
        warn_renamed("PredictionTrace.true", "PredictionTrace.true_class")
        return self.true_class


@dataclass
class TokenExample:
    """One text read token by token: what the chosen unit did at each token, and the verdict."""

    text: str
    tokens: list[str]  # one per step, as the vocabulary reads them (<unk> where unknown)
    predicted: str
    probability: float  # of the predicted class
    true_label: str | None  # None when the label is unknown
    activations: list[float]  # the chosen unit's h_t at each step, (T,)
    # Each token's share of the prediction, when an attribution method is given (else None).
    attribution: list[float] | None = None


@dataclass
class TokenTrace:
    """A text run in tokens: the vocabulary's facts and held-out texts coloured unit by unit."""

    vocab_size: int
    embedding_dim: int
    padding_index: int
    unknown_index: int
    unit: int  # the top layer's unit whose activation colours the letters
    unit_reason: str
    examples: list[TokenExample] = field(default_factory=list)
    # False when no sequence was held out (a text run refit on all its data): the texts shown
    # are then training texts, and the page says so.
    held_out: bool = True


@dataclass
class SummaryTrace:
    """What the summary took from the traced sequence's steps (steps of the recurrent layer,
    counted after any front end)."""

    kind: str  # mean | max | attention
    steps: int  # recurrent steps the summary read
    # max: for each unit (D·H), the step its value came from.
    argmax_steps: list[int] | None = None
    # attention: the weight of every step, summing to 1.
    weights: list[float] | None = None
