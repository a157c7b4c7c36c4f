"""The Trace and its parts: plain, JSON-ready dataclasses (no tensors, no torch).

Everything rnntrace learns about a run ends up here; the terminal, JSON and HTML views are
functions of a Trace. `docs/trace.md` documents the schema.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

SCHEMA_VERSION = 1

Nested = Any  # nested lists of floats: a few real values sampled from a tensor


@dataclass
class Stage:
    """One stage of the data flow, with the shapes it takes and gives."""

    name: str
    input_shape: list[int]
    output_shape: list[int]
    description: str
    sample: Nested = None  # a few real values of the output
    # Other tensors the stage returns or reads, by name: e.g. {"h_n": [1, 1000, 8]}.
    extra_shapes: dict[str, list[int]] = field(default_factory=dict)


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
    predicted: int
    true: int | None

    @property
    def predicted_label(self) -> str:
        return self.class_names[self.predicted]

    @property
    def true_label(self) -> str | None:
        return None if self.true is None else self.class_names[self.true]


@dataclass
class Trace:
    """Everything about one run: configuration, data flow, training, a prediction, an insight."""

    config: dict[str, Any]
    data_flow: list[Stage]
    training: list[EpochRecord]
    prediction: PredictionTrace | None
    insight: str
    schema_version: int = SCHEMA_VERSION
    # Run-specific facts that differ between identical runs (times, paths, versions).
    meta: dict[str, Any] = field(default_factory=dict)
    # ─── report (issue 7): what the HTML page shows beyond the above; empty when not computed ───
    test: TestReport | None = None  # only when a test file was scored
    quiz: list[QuizItem] = field(default_factory=list)
    steps: list[StepDetail] = field(default_factory=list)  # the traced sequence, step by step

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Trace:
        return from_dict(cls, raw)

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))


T = TypeVar("T")


def from_dict(cls: type[T], raw: Any) -> T:
    """Rebuild a dataclass (and the dataclasses nested in it) from `dataclasses.asdict` output."""
    return typing.cast(T, _convert(cls, raw))


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return [_convert(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp) or (Any, Any)
        return {k: _convert(item, v) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _convert(hints[k], v) for k, v in value.items() if k in names})
    return value


# ─── Report (issue 7): the test-set scores, quiz items and recurrent steps the HTML page shows.
# Plain records as above; the trainer, quiz and step recomputation fill them. ───


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


@dataclass
class QuizItem:
    """One multiple-choice question about the run, with its answer and worked solution."""

    prompt: str
    options: list[str]
    answer: int  # index into options
    hint: str
    solution: list[str]  # the worked solution, one line each
    level: str  # e.g. beginner | intermediate | advanced
    topic: str  # e.g. shapes | equations | training


@dataclass
class StepDetail:
    """One time step of one recurrent layer for the traced sequence, with its numbers.

    `t` counts from 1 and `h_prev` of t = 1 is the initial state h_0, as in the textbook
    equations; the backward direction's previous state is h_(t+1).
    """

    t: int
    x: list[float]  # x_t: the input features (layer 0) or the layer below's output
    h_prev: list[float]
    h: list[float]
    equation: list[str]  # the equation lines with this step's numbers in place of the symbols
    gates: dict[str, list[float]]  # per gate after its activation (GRU r z n, LSTM i f g o)
    c_prev: list[float] | None = None  # LSTM only
    c: list[float] | None = None
    layer: int = 0
    direction: str = "forward"  # forward | backward
