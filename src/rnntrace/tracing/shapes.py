"""The shapes a recurrent layer gives for an input shape, measured by running it on zeros and
explained number by number.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnntrace.config import CELLS, NONLINEARITIES
from rnntrace.errors import ConfigError, ShapeError
from rnntrace.records import ShapeLine, ShapeReport
from rnntrace.tracing.explain import layer_label, reading, run_checked

_CLASSES: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


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
    torch.manual_seed(0)  # the weights do not matter for shapes, but keep runs identical
    rnn = _CLASSES[cell](in_size, hidden_size, **kwargs)  # type: ignore[arg-type]
    with torch.no_grad():
        (output, state), warnings = run_checked(rnn, torch.zeros(*shape))
    h_n, c_n = state if isinstance(state, tuple) else (state, None)

    lines = [ShapeLine("input", shape, *_input_formula(shape, batch_first))]
    lines.append(ShapeLine("output", list(output.shape), *_output_formula(shape, rnn)))
    lines.append(ShapeLine("h_n", list(h_n.shape), *_state_formula(shape, rnn)))
    if c_n is not None:
        lines.append(ShapeLine("c_n", list(c_n.shape), *_state_formula(shape, rnn)))
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
