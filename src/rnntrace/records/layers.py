"""What a model's layers did: data-flow stages, module calls, per-step records, the recomputation
by hand, findings, shapes and dynamics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnntrace.records.serial import Nested
from rnntrace.records.shown import Shown


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

    def _renderables(self) -> list[Any]:
        from rnntrace.render.notebook import module_calls_renderables

        return module_calls_renderables(self)


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

    def _renderables(self) -> list[Any]:
        from rnntrace.render.notebook import recomputation_renderables

        return recomputation_renderables(self)


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
    # | linear loop: an nn.Linear whose output feeds its own next call (tracing/linear_loops.py)
    kind: str = "layer"
    calls: int = 1  # the module's calls this record covers (the loop's steps)
    # linear loop: what was and was not recomputed, and its output at each step for sequence 0,
    # (T, H); no equations of a known cell to step through
    note: str = ""
    step_values: list[list[float]] = field(default_factory=list)


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
