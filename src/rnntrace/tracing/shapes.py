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

from rnntrace.config import CELLS, NONLINEARITIES
from rnntrace.errors import ConfigError, ShapeError
from rnntrace.records import Finding, ShapeLine, ShapeReport
from rnntrace.tracing.explain import TORCH_SHAPE_ERRORS, explain_call, layer_label, reading

_CLASSES: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES = {"rnn": 1, "gru": 3, "lstm": 4}
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
) -> ShapeReport:
    """Build the layer, run it on zeros of `input_shape`, and explain each shape it returns.

    `input_size` defaults to the input's last dimension; a different value is the classic
    mistake, raised as an explained ShapeError (PyTorch's own error kept as the cause).
    """
    shape = [int(d) for d in input_shape]
    cell = cell.lower()
    if cell not in CELLS:
        raise ConfigError(f"unknown cell {cell!r}: choose one of {', '.join(CELLS)}")
    if nonlinearity not in NONLINEARITIES or (cell != "rnn" and nonlinearity != "tanh"):
        raise ConfigError(f"nonlinearity {nonlinearity!r} applies only to cell 'rnn' (tanh|relu)")
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ShapeError(
            "input shape must have 2 or 3 positive sizes, e.g. 4,7,5, got "
            + ",".join(map(str, shape))
        )
    for name, value in (("hidden size", hidden_size), ("layers", num_layers)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    in_size = shape[-1] if input_size is None else input_size
    if in_size < 1:
        raise ConfigError(f"input size must be at least 1, got {in_size}")
    kwargs: dict[str, Any] = dict(
        num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    if cell == "rnn":
        kwargs["nonlinearity"] = nonlinearity
    with torch.device("meta"):  # weights without values: shapes and counts are all it needs
        rnn = _CLASSES[cell](in_size, hidden_size, **kwargs)  # type: ignore[arg-type]
    measured, warnings = _measure(rnn, shape)
    output, h_n, *c_n = measured

    lines = [ShapeLine("input", shape, *_input_formula(shape, batch_first))]
    lines.append(ShapeLine("output", output, *_output_formula(shape, rnn)))
    lines.append(ShapeLine("h_n", h_n, *_state_formula(shape, rnn)))
    if c_n:
        lines.append(ShapeLine("c_n", c_n[0], *_state_formula(shape, rnn)))
    params = {name: list(p.shape) for name, p in rnn.named_parameters()}
    return ShapeReport(
        cell=cell,
        layer=layer_label(rnn),
        input_shape=shape,
        reading=reading(rnn, shape),
        lines=lines,
        n_parameters=sum(p.numel() for p in rnn.parameters()),
        parameters=params,
        parameter_formula=parameter_formula(cell, in_size, hidden_size, num_layers, bidirectional),
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


def _output_formula(shape: list[int], rnn: nn.RNNBase) -> tuple[list[str], list[int]]:
    """output: every step's top-layer state, both directions side by side (D·H)."""
    d, h = (2 if rnn.bidirectional else 1), rnn.hidden_size
    last = f"D·H = {d}·{h} = {d * h}" if d > 1 else f"H = {h}"
    if len(shape) == 2:
        return [f"T = {shape[0]}", last], [shape[0], d * h]
    first, second = ("B", "T") if rnn.batch_first else ("T", "B")
    return [f"{first} = {shape[0]}", f"{second} = {shape[1]}", last], [shape[0], shape[1], d * h]


def _state_formula(shape: list[int], rnn: nn.RNNBase) -> tuple[list[str], list[int]]:
    """h_n / c_n: the last state of every layer and direction; batch_first never applies to it."""
    d, h, n_layers = (2 if rnn.bidirectional else 1), rnn.hidden_size, rnn.num_layers
    rows = f"L·D = {n_layers}·{d} = {n_layers * d}" if n_layers * d > 1 else "L·D = 1"
    if len(shape) == 2:
        return [rows, f"H = {h}"], [n_layers * d, h]
    batch = shape[0] if rnn.batch_first else shape[1]
    return [rows, f"B = {batch} (always second, even with batch_first)", f"H = {h}"], [
        n_layers * d,
        batch,
        h,
    ]


def parameter_formula(
    cell: str, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool
) -> str:
    """How the parameter count arises, layer by layer: G·H·(F_in + H + 2) per direction."""
    g, h, d = _GATES[cell], hidden_size, (2 if bidirectional else 1)
    parts, total = [], 0
    for layer in range(num_layers):
        f_in = input_size if layer == 0 else d * h
        per = g * h * (f_in + h + 2)
        total += d * per
        direction = f"{d}·" if d > 1 else ""
        parts.append(f"layer {layer}: {direction}{g}·{h}·({f_in} + {h} + 2) = {d * per}")
    gates = {"rnn": "1 block", "gru": "3 gates (r, z, n)", "lstm": "4 gates (i, f, g, o)"}[cell]
    return (
        f"{gates} × H rows of W_ih (F_in), W_hh (H), b_ih and b_hh per direction; "
        + "; ".join(parts)
        + f"; total {total}"
    )
