"""The shapes a recurrent layer gives for an input shape, measured by running it on zeros and
explained number by number.

The layer and its input live on PyTorch's `meta` device: tensors there have shapes but no
storage, and nn.RNN/LSTM/GRU run there through the same forward (its checks, its default h_0, the
kernels' shape rules), so an input of any size is measured without allocating it — a
100000×1000×100 input on the CPU alone would take 40 GB. The tests check every shape and
parameter count against the same layer run on real tensors.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.config.cells import NONLINEARITIES, cell_spec
from rnntrace.errors import ConfigError, ShapeError
from rnntrace.model.classifier import layer_class
from rnntrace.records import Finding, ShapeLine, ShapeReport
from rnntrace.tracing.explain import TORCH_SHAPE_ERRORS, explain_call, layer_label, reading

# Steps × layers × directions run at the input's own length; longer inputs are measured on 2 and
# 3 steps (see _measure). 512 keeps the slowest case, an LSTM, to about a second.
_MAX_CELL_STEPS = 512


def layer_shapes(
    input_shape: tuple[int, ...] | list[int],
    hidden_size: int,
    cell: str = "rnn",
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = True,
    input_size: int | None = None,
    nonlinearity: str = "tanh",
    proj_size: int = 0,
) -> ShapeReport:
    """Build the layer, run it on zeros of `input_shape`, and explain each shape it returns.

    `input_size` defaults to the input's last dimension; a different value is the classic
    mistake, raised as an explained ShapeError (PyTorch's own error kept as the cause).
    `proj_size` (LSTM only) makes output and h_n proj_size wide; c_n stays hidden_size wide.
    """
    shape = [int(d) for d in input_shape]
    spec = cell_spec(cell)
    cell = spec.name
    if nonlinearity not in NONLINEARITIES or (
        not spec.has_nonlinearity and nonlinearity != "tanh"
    ):
        raise ConfigError(f"nonlinearity {nonlinearity!r} applies only to cell 'rnn' (tanh|relu)")
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ShapeError(
            "input shape must have 2 or 3 positive sizes, e.g. 4,7,5, got "
            + ",".join(map(str, shape))
        )
    for name, value in (("hidden size", hidden_size), ("layers", num_layers)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    spec.validate(nonlinearity, proj_size, hidden_size)
    in_size = shape[-1] if input_size is None else input_size
    if in_size < 1:
        raise ConfigError(f"input size must be at least 1, got {in_size}")
    kwargs: dict[str, Any] = dict(
        num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
        **spec.layer_kwargs(nonlinearity, proj_size),
    )
    with torch.device("meta"):  # weights without values: shapes and counts are all it needs
        rnn = layer_class(spec)(in_size, hidden_size, **kwargs)
    measured, warnings = _measure(rnn, shape)
    output, h_n, *c_n = measured

    lines = [ShapeLine("input", shape, *_input_formula(shape, batch_first))]
    lines.append(ShapeLine("output", output, *_output_formula(shape, rnn)))
    lines.append(ShapeLine("h_n", h_n, *_state_formula(shape, rnn)))
    if c_n:
        lines.append(ShapeLine("c_n", c_n[0], *_state_formula(shape, rnn, cell_state=True)))
    params = {name: list(p.shape) for name, p in rnn.named_parameters()}
    return ShapeReport(
        cell=cell,
        layer=layer_label(rnn),
        input_shape=shape,
        reading=reading(rnn, shape),
        lines=lines,
        n_parameters=sum(p.numel() for p in rnn.parameters()),
        parameters=params,
        parameter_formula=spec.parameter_formula(
            in_size, hidden_size, num_layers, bidirectional, proj_size
        ),
        findings=warnings,
    )


@torch.no_grad()
def _measure(rnn: nn.RNNBase, shape: list[int]) -> tuple[list[list[int]], list[Finding]]:
    """[output, h_n(, c_n)] shapes of `rnn` run on meta zeros of `shape`, and the warnings.

    On meta the kernels still step through time one step at a time (about 1-3 ms per step,
    layer and direction), so a long input would take minutes. Past _MAX_CELL_STEPS the layer
    runs twice, on 2 and on 3 steps of the input: a dimension that went 2 → 3 follows the
    number of steps and takes the input's own; every other one came out the same both times.
    """
    steps_at = 0 if len(shape) == 2 or not rnn.batch_first else 1
    _addressable("input", shape)
    x = torch.zeros(*shape, device="meta")
    findings = explain_call(rnn, x)  # reads the shape only: x has no values on meta
    runs_per_step = rnn.num_layers * (2 if rnn.bidirectional else 1)
    counts = [shape[steps_at]] if shape[steps_at] * runs_per_step <= _MAX_CELL_STEPS else [2, 3]
    try:
        runs = [_result_shapes(rnn(_with_steps(x, steps_at, n))) for n in counts]
    except TORCH_SHAPE_ERRORS as exc:
        errors = [f for f in findings if f.severity == "error"]
        if errors:  # explained for the input as given, PyTorch's own error kept as the cause
            raise ShapeError(errors[0].message) from exc
        raise
    warnings = [f for f in findings if f.severity == "warning"]
    if len(runs) == 1:
        return runs[0], warnings
    measured = []
    for name, two, three in zip(("output", "h_n", "c_n"), *runs, strict=False):
        if any(a != b and (a, b) != (2, 3) for a, b in zip(two, three, strict=True)):
            raise RuntimeError(f"shapes {two} and {three} do not follow the steps 2 and 3")
        measured.append([shape[steps_at] if a != b else a for a, b in zip(two, three, strict=True)])
        _addressable(name, measured[-1])
    return measured, warnings


def _addressable(name: str, size: list[int]) -> None:
    """A tensor PyTorch could hold at all: it counts a tensor's bytes in a signed 64-bit int."""
    values = math.prod(size)
    if values * 4 > 2**63 - 1:
        raise ShapeError(
            f"{name} of shape {tuple(size)} would hold {values:.3g} float32 values, more bytes "
            f"than PyTorch can count in one tensor (2^63 - 1): no layer can be run on it"
        )


def _with_steps(x: Tensor, steps_at: int, n: int) -> Tensor:
    size = list(x.shape)
    size[steps_at] = n
    return x.new_zeros(size) if size != list(x.shape) else x


def _result_shapes(result: tuple[Tensor, Tensor | tuple[Tensor, Tensor]]) -> list[list[int]]:
    output, state = result
    states = state if isinstance(state, tuple) else (state,)
    return [list(output.shape), *(list(t.shape) for t in states)]


def _input_formula(shape: list[int], batch_first: bool) -> tuple[list[str], list[int]]:
    if len(shape) == 2:
        return [f"T = {shape[0]}", f"F = {shape[1]}"], shape
    names = ["B", "T", "F"] if batch_first else ["T", "B", "F"]
    return [f"{n} = {d}" for n, d in zip(names, shape, strict=True)], shape


def _width(rnn: nn.RNNBase, cell_state: bool = False) -> tuple[str, int]:
    """What h (or c) is as wide as: H, or P = proj_size for the h of a projecting LSTM."""
    proj = int(rnn.proj_size)
    if proj and not cell_state:
        return "P", proj
    return "H", rnn.hidden_size


def _output_formula(shape: list[int], rnn: nn.RNNBase) -> tuple[list[str], list[int]]:
    """output: every step's top-layer state, both directions side by side (D·H, or D·P)."""
    d, (name, h) = (2 if rnn.bidirectional else 1), _width(rnn)
    last = f"D·{name} = {d}·{h} = {d * h}" if d > 1 else f"{name} = {h}"
    if name == "P":
        last += " (proj_size: h_t = W_hr·(o_t ⊙ tanh(c_t)))"
    if len(shape) == 2:
        return [f"T = {shape[0]}", last], [shape[0], d * h]
    first, second = ("B", "T") if rnn.batch_first else ("T", "B")
    return [f"{first} = {shape[0]}", f"{second} = {shape[1]}", last], [shape[0], shape[1], d * h]


def _state_formula(
    shape: list[int], rnn: nn.RNNBase, cell_state: bool = False
) -> tuple[list[str], list[int]]:
    """h_n / c_n: the last state of every layer and direction; batch_first never applies to it."""
    d, n_layers = (2 if rnn.bidirectional else 1), rnn.num_layers
    name, h = _width(rnn, cell_state)
    width = f"{name} = {h}"
    if name == "P":
        width += f" (proj_size: h is projected from H = {rnn.hidden_size})"
    elif cell_state and rnn.proj_size:
        width += " (hidden_size: the cell state is not projected)"
    rows = f"L·D = {n_layers}·{d} = {n_layers * d}" if n_layers * d > 1 else "L·D = 1"
    if len(shape) == 2:
        return [rows, width], [n_layers * d, h]
    batch = shape[0] if rnn.batch_first else shape[1]
    return [rows, f"B = {batch} (always second, even with batch_first)", width], [
        n_layers * d,
        batch,
        h,
    ]


def parameter_formula(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    proj_size: int = 0,
) -> str:
    """How the parameter count arises, layer by layer: G·H·(F_in + H + 2) per direction."""
    return cell_spec(cell).parameter_formula(
        input_size, hidden_size, num_layers, bidirectional, proj_size
    )
