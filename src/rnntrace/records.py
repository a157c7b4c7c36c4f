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

from rnntrace._deprecated import renamed_getattr, warn_renamed
from rnntrace.config import RunConfig, drop_later_defaults

# 2: data_flow → stages, modules → module_calls, prediction.true → true_class, and `config` is
# the run's settings alone (threads and device moved to `meta`). Version 1 files still load.
SCHEMA_VERSION = 2

Nested = Any  # nested lists of floats: a few real values sampled from a tensor


class Shown:
    """Printed as the terminal view, shown as HTML in Jupyter and as rich renderables.

    The views live in rnntrace.render, a layer above; they are looked up by name when shown.
    """

    def __str__(self) -> str:
        return str(_view("text_of")(self))

    def _repr_html_(self) -> str:
        return str(_view("html_of")(self))

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from _view("renderables_of")(self)


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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> History:
        records = [EpochRecord(**r) for r in raw["records"]]
        return cls(**{**raw, "records": records})


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


@dataclass
class Choice:
    """How `train` chose the settings the user left open, from the training file alone."""

    chosen: str  # the winning candidate's name
    settings: dict[str, Any]  # the settings the final model used
    user_settings: dict[str, Any]  # what the user's flags fixed (they override every candidate)
    candidates: list[CandidateScore]
    held_out: int  # training sequences held out to score the candidates
    reason: str
    seconds: float = 0.0


@dataclass
class Trace:
    """Everything about one run: configuration, stages, training, a prediction, an insight."""

    # The run's settings; None for a user's own model traced with rt.trace (module_calls and
    # layers describe it). Runtime facts (threads, device, times) are in meta.
    config: RunConfig | None
    stages: list[Stage]  # the classifier's pipeline, stage by stage
    training: list[EpochRecord]
    prediction: PredictionTrace | None
    insight: str
    test: TestReport | None = None  # only when a test file was scored
    # Every submodule call of the model on the traced batch (hooks), in call order.
    module_calls: ModuleCalls | None = None
    # The traced sequence through the first layer, one record per step, equations with numbers.
    steps: list[StepRecord] = field(default_factory=list)
    # The whole layer recomputed by hand for the traced sequence and compared with PyTorch.
    recomputation: Recomputation | None = None
    # Saturated units and ‖∂loss/∂h_t‖ per step over held-out sequences: vanishing gradients.
    dynamics: Dynamics | None = None
    # Questions about this run's own configuration, each key proved by running PyTorch.
    quiz: list[Question] = field(default_factory=list)
    # Every recurrent layer of the model, each call recomputed from its weights (rt.trace).
    layers: list[RecurrentLayer] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    # How `train` chose its settings (None when they were given, as for the lesson).
    choice: Choice | None = None
    # Run-specific facts that differ between identical runs (times, paths, versions).
    meta: dict[str, Any] = field(default_factory=dict)
    # Text runs only: the texts in tokens, coloured by a unit's activation (and attribution).
    tokens: TokenTrace | None = None
    # The epochs trained after `training` whose mean weights the model ends on, when it does.
    averaging: Averaging | None = None
    # rt.trace of an encoder–decoder: the decoder's steps and attention (tracing/decoding.py).
    decoder: DecoderTrace | None = None

    @property
    def data_flow(self) -> list[Stage]:
        """Deprecated: `stages`."""
        warn_renamed("Trace.data_flow", "Trace.stages")
        return self.stages

    @property
    def modules(self) -> ModuleCalls | None:
        """Deprecated: `module_calls`."""
        warn_renamed("Trace.modules", "Trace.module_calls")
        return self.module_calls

    @property
    def largest_difference(self) -> float | None:
        """The largest |hand − PyTorch| of the traced sequence, whole-layer check and steps.

        The step records also compare c_t and lower layers' h_t, which the whole-layer check
        (output, h_n, c_n) does not see; taking both, no figure shown beside it is larger.
        """
        if self.recomputation is None:
            return None
        return max([self.recomputation.max_abs_diff, *(s.max_abs_diff for s in self.steps)])

    def to_dict(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        if raw["tokens"] is None:  # written only for text, so a numeric trace reads as before
            del raw["tokens"]
        if self.config is not None and not self.config.model.vocab_size:  # the text settings too
            for key in ("vocab_size", "embedding_dim", "embedding_dropout"):
                del raw["config"]["model"][key]
            del raw["config"]["data"]["vocabulary"]
        if raw["prediction"] is not None and not raw["prediction"]["tokens"]:
            del raw["prediction"]["tokens"]
        # Optional parts added later are left out when absent: a lesson's trace reads as before.
        if raw["config"] is not None:
            drop_later_defaults(raw["config"]["model"])
        for later in ("choice", "averaging", "decoder"):
            if raw[later] is None:
                del raw[later]
        if raw["module_calls"] is not None and not raw["module_calls"]["notes"]:
            del raw["module_calls"]["notes"]  # rt.trace's alone: a lesson's trace reads as before
        if raw["prediction"] is not None:
            for later in ("summary", "head", "step_probabilities"):
                if not raw["prediction"][later]:
                    del raw["prediction"][later]
        return raw

    # The views live in rnntrace.render, a layer above; they are looked up by name when shown.
    def __str__(self) -> str:
        return str(_view("trace_text")(self))

    def _repr_html_(self) -> str:
        return str(_view("trace_html")(self))

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from _view("trace_renderables")(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Trace:
        """A Trace from its JSON form, of this schema version or of version 1."""
        return from_dict(cls, upgrade(raw))

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))


def _view(name: str) -> Any:
    """A view function of rnntrace.render.notebook, imported when a record is first shown.

    Imported by name because records sit below render in the layers: records must load without
    the views, and the views read records.
    """
    import importlib

    return getattr(importlib.import_module("rnntrace.render.notebook"), name)


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A version 1 trace's keys under their version 2 names (a newer dict is returned as is)."""
    if raw.get("schema_version", 1) >= 2:
        return raw
    renamed = {"data_flow": "stages", "modules": "module_calls"}
    new = {renamed.get(k, k): v for k, v in raw.items()}
    config = new.get("config")
    if isinstance(config, dict):  # threads and device were runtime facts; meta holds them
        new["config"] = {k: v for k, v in config.items() if k not in ("threads", "device")}
    prediction = new.get("prediction")
    if isinstance(prediction, dict) and "true" in prediction:
        new["prediction"] = {("true_class" if k == "true" else k): v
                             for k, v in prediction.items()}
    new["schema_version"] = SCHEMA_VERSION
    return new


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


@dataclass
class TensorInfo:
    """One tensor (or PackedSequence) that a module call took or gave."""

    name: str  # where it sits: "input", "h_0", "output", "h_n", "c_n", "output[1]", ...
    shape: list[int]  # for a PackedSequence: the shape of its .data, (sum of lengths, F)
    dtype: str
    sample: Nested = None  # a few real values (the first sequence's leading corner)
    packed: bool = False
    batch_sizes: list[int] | None = None  # packed: how many sequences are still running per step
    lengths: list[int] | None = None  # packed: each sequence's real length, in input order


@dataclass
class ModuleCall:
    """One call of one submodule during a traced forward pass, in the order the calls began."""

    index: int
    name: str  # qualified name in the model, "" for the model itself
    type: str  # class name, e.g. "LSTM"
    depth: int  # 0 for the model, 1 for its children, ...
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    n_parameters: int  # parameters of this module and its children
    reading: str = ""  # recurrent layers: how the input was read, e.g. "batch 32 × 10 steps × 5"
    note: str = ""  # e.g. the call raised, or an input that is not a tensor


@dataclass
class ModuleCalls(Shown):
    """Every submodule call of one forward pass of any nn.Module, with real shapes and samples."""

    model_type: str
    calls: list[ModuleCall]
    n_parameters: int
    n_trainable: int
    # Likely mistakes PyTorch accepted during the pass (e.g. output[:, -1] of a bidirectional RNN).
    findings: list[Finding] = field(default_factory=list)
    # How the pass ran (rt.trace): the mode it was traced in, whether the forward is
    # deterministic.
    notes: list[str] = field(default_factory=list)


@dataclass
class StepRecord:
    """One step of one recurrent layer recomputed by hand, with the numbers that went in and out.

    Steps are numbered from 1 and h_0 is the initial state, as in PyTorch's h0 argument. The
    backward direction reads steps T..1 and its previous state is h_(t+1), starting at h_(T+1).
    """

    step: int  # 1-based time step t
    order: int  # 1-based position in the order this direction reads the steps
    layer: int
    direction: str  # forward | backward
    cell: str  # rnn | gru | lstm
    x: list[float]  # x_t: the input features (layer 0) or the layer below's output at t
    h_prev: list[float]
    h: list[float]  # h_t recomputed
    h_torch: list[float]  # h_t as PyTorch computed it
    max_abs_diff: float  # largest |recomputed - PyTorch| over h_t (and c_t)
    pre_activation: dict[str, list[float]]  # per gate ("a" for a plain RNN) before its activation
    gates: dict[str, list[float]]  # per gate after its activation (GRU r z n, LSTM i f g o)
    equations: list[str]  # the equations in symbols, one per line
    with_numbers: list[str]  # the same lines with this step's vectors in place of the symbols
    c_prev: list[float] | None = None  # LSTM only
    c: list[float] | None = None
    c_torch: list[float] | None = None


@dataclass
class Recomputation(Shown):
    """A recurrent layer recomputed from its own weights with the textbook equations, vs PyTorch."""

    cell: str
    nonlinearity: str
    num_layers: int
    bidirectional: bool
    batch_first: bool
    input_shape: list[int]
    diff_output: float  # largest absolute difference over the output tensor
    diff_h_n: float
    diff_c_n: float | None  # LSTM only
    tolerance: float
    equations: list[str]  # the equations used, once

    @property
    def max_abs_diff(self) -> float:
        return max(self.diff_output, self.diff_h_n, self.diff_c_n or 0.0)

    @property
    def matches(self) -> bool:
        return self.max_abs_diff <= self.tolerance


@dataclass
class RecurrentLayer:
    """One call of one recurrent layer of a user's model, recomputed from its own weights."""

    name: str  # qualified name in the model, e.g. "encoder.lstm"
    label: str  # the layer as constructed, e.g. "nn.LSTM(5, 8, batch_first=True)"
    reading: str  # how it read its input, e.g. "batch 4 × 7 steps × 5 features"
    recomputation: Recomputation
    proj_size: int = 0  # LSTM with proj_size: the width of h
    # layer: one call of a fused layer | cell loop: a cell called once per step in a Python loop
    # | step loop: a fused layer called on one step at a time (one record for all its calls)
    kind: str = "layer"
    calls: int = 1  # the module's calls this record covers (the loop's steps)
    # linear loop (an nn.Linear fed its own output): what was and was not recomputed, and its
    # output at each step for sequence 0, (T, H); no equations of a known cell to step through
    note: str = ""
    step_values: list[list[float]] = field(default_factory=list)


@dataclass
class DecoderStep:
    """One step of an encoder–decoder's decoder, for sequence 0 (tracing/decoding.py)."""

    step: int  # from 1
    token: int | None  # the token id it read (looked up in an nn.Embedding); None: not a token
    read: str  # where that token came from, e.g. "the token it emitted at the step before"
    emitted: int | None  # the argmax of the scores it produced; None when none were found
    probability: float | None  # softmax probability of `emitted`


@dataclass
class DecoderTrace:
    """The decoder loop of an encoder–decoder: each step, and its attention where computed."""

    name: str  # the decoder's recurrent module, e.g. "decoder.gru"
    steps: list[DecoderStep]
    attention: list[list[float]]  # (decoder steps, encoder steps) for sequence 0; [] if none
    encoder_steps: int


@dataclass
class Finding:
    """A mistake (or a likely one) in how a tensor is fed to a recurrent layer, explained."""

    kind: str  # input_size | hidden_shape | unbatched | padded_unpacked | bidirectional_last_step
    severity: str  # error: PyTorch refuses it | warning: PyTorch accepts it, likely not as meant
    layer: str  # which layer, e.g. "rnn" or "LSTM(5 → 8)"
    expected: str
    arrived: str
    how_read: str  # how PyTorch reads what arrived
    fix: str

    @property
    def message(self) -> str:
        return (
            f"{self.layer}: expected {self.expected}, got {self.arrived}; "
            f"PyTorch {self.how_read}. Fix: {self.fix}"
        )


@dataclass
class ShapeLine:
    """One shape, measured by running the layer, with how each of its numbers arises."""

    name: str  # output | h_n | c_n | input
    shape: list[int]
    formula: list[str]  # per dimension, e.g. ["B = 4", "T = 7", "D·H = 1·3"]
    formula_shape: list[int]  # what the formula gives; always equal to `shape` (tests check it)


@dataclass
class ShapeReport:
    """The shapes a recurrent layer gives for an input shape, measured by running it on zeros."""

    cell: str
    layer: str  # the layer as constructed, e.g. "nn.LSTM(5, 3, batch_first=True)"
    input_shape: list[int]
    reading: str  # how the layer reads the input
    lines: list[ShapeLine]
    n_parameters: int
    parameters: dict[str, list[int]]  # each weight and bias by name with its shape
    parameter_formula: str  # how the count arises
    findings: list[Finding] = field(default_factory=list)  # warnings, e.g. an unbatched input


@dataclass
class Dynamics:
    """How the top recurrent layer's hidden state behaves over time for one batch of a model.

    `saturated` is the share of units with |h| > threshold per step (tanh-bounded cells), or the
    share of units at exactly 0 for a ReLU RNN. `grad_norm[d][t]` is the norm of ∂loss/∂h_t for
    direction d: shrinking towards early steps is the vanishing gradient made visible.
    """

    cell: str
    measure: str  # "|h| > 0.95" or "h = 0 (ReLU)"
    steps: int
    saturated: list[float]  # per step, over real (unpadded) steps only
    grad_norm: list[list[float]]  # (D, T)
    loss: float
    logits_diff: float  # recomputed logits vs the model's own: checks the unrolled graph


# --- Quiz ------------------------------------------------------------------------------------
# Appended by the quiz branch: a question is a plain record so a Trace can hold a quiz and the
# HTML report can render it; rnntrace.quiz builds them and proves each key with PyTorch.

QUIZ_LEVELS = ("easy", "medium", "hard")


@dataclass
class Question(Shown):
    """One multiple-choice question about a configuration, with its key proved by PyTorch."""

    id: str  # unique within a quiz: "<number>-<template>"
    template: str  # the template it came from, e.g. "output_shape"
    level: str  # easy | medium | hard
    prompt: str
    code: str  # a snippet shown under the prompt; "" when there is none
    options: list[str]  # four distinct choices
    answer: int  # index of the key in options
    hint: str  # one line that points the way without giving the answer
    solution: list[str]  # worked steps: "Step 1: …", …, "Final answer: …"
    verified_by: str  # what was run to prove the key, or why it is reasoning only
    # The configuration the question is about: cell, sizes, layout and input shape.
    setting: dict[str, Any] = field(default_factory=dict)
    options_are_code: bool = False  # render the options as code

    @property
    def answer_letter(self) -> str:
        return "ABCD"[self.answer]

    @property
    def answer_text(self) -> str:
        return self.options[self.answer]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Question:
        return from_dict(cls, raw)


__getattr__ = renamed_getattr(__name__, {"DataFlow": "ModuleCalls"}, globals())
