"""One sequence through a recurrent layer, step by step: the equations with their numbers.

Each StepRecord holds x_t, h_(t-1) (and c_(t-1)), every gate, h_t recomputed and h_t as PyTorch
computed it, so the terminal and the HTML step-through can show the arithmetic of every step.
Steps are numbered from 1; h_0 is the initial state, as in PyTorch's `h0` argument.
"""

from __future__ import annotations

import re

import torch
from torch import Tensor, nn

from rnntrace.config.cells import CellSpec, at_step
from rnntrace.errors import ConfigError, ShapeError
from rnntrace.model.classifier import layer_class
from rnntrace.model.modes import eval_mode
from rnntrace.records import StepRecord
from rnntrace.tracing.equations import (
    State,
    Step,
    Weights,
    activation_name,
    cell_step,
    equations,
    input_part,
    proj_size_of,
    spec_of,
    state_size_of,
    unroll,
)
from rnntrace.tracing.explain import explain_call

_MAX_SHOWN = 8  # vector entries written into an equation line before "…"
_DIGITS = 4
# In a gate's line: a product W·v, a bias b_i?/b_h?, or another gate (GRU's r_t ⊙ …).
_TERM = re.compile(r"(W_\w+·)([a-z])_(\(t-1\)|t)|\b(b_([ih])\w+)|\b([a-z])_t\b")
# In a state update: any step symbol, replaced by its numbers.
_SYMBOL = re.compile(r"\b([a-z])_(\(t-1\)|t)(?![a-z0-9_])")


@torch.no_grad()
def explain_steps(
    rnn: nn.RNNBase,
    sequence: Tensor,
    hx: State | None = None,
    *,
    layer: int = 0,
    direction: str = "forward",
    first_step: int = 1,
) -> list[StepRecord]:
    """Every step of one layer and direction reading one sequence (T, F), in reading order.

    `hx` is the initial state for the whole layer stack, unbatched: (L·D, H), or (h_0, c_0) for
    an LSTM. For layer k > 0, x_t is the layer below's output at t (both directions joined).
    `first_step` numbers the steps on from an earlier call (a layer fed one step at a time).
    """
    spec, act = spec_of(rnn), activation_name(rnn)
    if sequence.dim() != 2:
        raise ShapeError(
            f"explain_steps takes one sequence (steps, features), got shape "
            f"{tuple(sequence.shape)}; pick one, e.g. x[0] for batch_first input"
        )
    errors = [f for f in explain_call(rnn, sequence, hx) if f.severity == "error"]
    if errors:
        raise ShapeError(errors[0].message)
    if not 0 <= layer < rnn.num_layers:
        raise ConfigError(f"layer must be 0..{rnn.num_layers - 1}, got {layer}")
    if direction not in ("forward", "backward") or (
        direction == "backward" and not rnn.bidirectional
    ):
        raise ConfigError(
            f"direction must be 'forward'{' or backward' if rnn.bidirectional else ''}, "
            f"got {direction!r}"
        )
    with eval_mode(rnn):
        mine = unroll(rnn, sequence, hx)
        torch_out = _torch_layer_outputs(rnn, sequence, hx)

    d = 1 if direction == "backward" else 0
    d_count = 2 if rnn.bidirectional else 1
    index = layer * d_count + d
    # The layer's input: the sequence, or the recomputed output of the layer below.
    below = [torch.stack(states) for states in mine.states[layer - 1]] if layer else []
    x_in = torch.cat(below, dim=-1).squeeze(1) if layer else sequence  # (T, F_in)
    torch_in = torch_out[layer - 1] if layer else sequence  # (T, F_in), PyTorch's
    h0, c0 = _initial_of(rnn, hx, index, sequence)
    w = Weights.of(rnn, layer, d)
    r_size = state_size_of(rnn)
    steps = sequence.shape[0]
    torch_c = _torch_cell_states(rnn, torch_in, hx, layer, d) if spec.has_cell_state else []
    # W_ih·x_t for the whole sequence in one product, laid out (T, 1, F_in) exactly as `unroll`
    # does: one step's product alone rounds differently (~1e-7), which made the step table
    # differ from PyTorch where the whole-layer check, on the same sequence, found no difference.
    wx = input_part(w, x_in.unsqueeze(1))  # (T, 1, G·H)
    records: list[StepRecord] = []
    h, c = h0, c0
    for order, t in enumerate(reversed(range(steps)) if d else range(steps), start=1):
        out = cell_step(spec, act, w, wx[t], h.unsqueeze(0), None if c is None else c.unsqueeze(0))
        h_torch = torch_out[layer][t, d * r_size : (d + 1) * r_size]  # (R,)
        c_torch = torch_c[t] if torch_c else None
        records.append(step_record(
            rnn, w, out, x_in[t], h, c, h_torch, c_torch,
            step=t + 1 + first_step - 1, order=order + first_step - 1, layer=layer,
            direction=direction,
        ))
        h = out.h[0]
        c = out.c[0] if out.c is not None else None
    return records


def step_record(
    rnn: nn.Module, w: Weights, out: Step, x: Tensor, h: Tensor, c: Tensor | None,
    h_torch: Tensor, c_torch: Tensor | None, *, step: int, order: int, layer: int = 0,
    direction: str = "forward",
) -> StepRecord:
    """One step of sequence 0 as a record: `out` is `cell_step` on a batch whose row 0 is it.

    `rnn` is a layer or a cell (nn.LSTMCell ...): its spec and activation name the equations;
    x (F_in,), h and c are the step's input and previous state, h_torch and c_torch PyTorch's.
    """
    spec = spec_of(rnn)
    backward = direction == "backward"
    h_new = out.h[0]
    c_new = out.c[0] if out.c is not None else None
    diff = _diff(h_new, h_torch)
    if c_new is not None and c_torch is not None:
        diff = max(diff, _diff(c_new, c_torch))
    values = {"x_t": x, "h_(t-1)": h, "c_(t-1)": c, "h_t": h_new, "c_t": c_new}
    values |= {f"{g}_t": v[0] for g, v in out.gates.items()}
    lines = [at_step(line, step, backward) for line in equations(rnn)]
    numbers = [
        at_step(line, step, backward)
        for line in with_numbers(spec, rnn, w, values, {k: v[:1] for k, v in out.pre.items()})
    ]
    return StepRecord(
        step=step,
        order=order,
        layer=layer,
        direction=direction,
        cell=spec.name,
        x=_list(x),
        h_prev=_list(h),
        h=_list(h_new),
        h_torch=_list(h_torch),
        max_abs_diff=diff,
        pre_activation={k: _list(v[0]) for k, v in out.pre.items()},
        gates={k: _list(v[0]) for k, v in out.gates.items()},
        equations=lines,
        with_numbers=numbers,
        c_prev=None if c is None else _list(c),
        c=None if c_new is None else _list(c_new),
        c_torch=None if c_torch is None else _list(c_torch),
    )


def with_numbers(
    spec: CellSpec,
    rnn: nn.Module,
    w: Weights,
    values: dict[str, Tensor | None],
    pre: dict[str, Tensor],
) -> list[str]:
    """The step's equations with their numbers, still in the canonical t / (t-1) symbols.

    A gate's line shows each product and bias, then the activation of their sum; a state
    update shows its symbols replaced by their values. Both come from the spec's own text.
    """
    x, h = values["x_t"], values["h_(t-1)"]
    assert x is not None and h is not None
    k, act = spec.n_gates, activation_name(rnn)
    wx, wh = (w.w_ih @ x).chunk(k), (w.w_hh @ h).chunk(k)  # G × (H,)
    bias = {"i": w.b_ih.chunk(k), "h": w.b_hh.chunk(k)}
    lines = []
    for line in equations(rnn):
        lhs, rhs = line.split(" = ", 1)
        gate = next((i for i, g in enumerate(spec.gates) if f"{g.output}_t" == lhs), None)
        if gate is None:
            rhs = _SYMBOL.sub(lambda m: _v(_value(values, m.group(0))), rhs)
            lines.append(f"{lhs} = {rhs} = {_v(_value(values, lhs))}")
            continue

        def term(m: re.Match[str], i: int = gate) -> str:
            if m.group(1):  # W·v: the product's own values for this gate
                part = wx[i] if m.group(2) == "x" else wh[i]
                return f"{m.group(0)} {_v(part)}"
            if m.group(4):
                return f"{m.group(4)} {_v(bias[m.group(5)][i])}"
            return f"{m.group(0)} {_v(_value(values, m.group(0)))}"

        g = spec.gates[gate]
        f_act = g.activation.format(act=act)
        result = _v(_value(values, lhs))
        lines.append(f"{lhs} = {_TERM.sub(term, rhs)} = {f_act}({_v(pre[g.symbol][0])}) = {result}")
    return lines


def _value(values: dict[str, Tensor | None], symbol: str) -> Tensor:
    value = values[symbol]
    assert value is not None, symbol
    return value


def _torch_layer_outputs(rnn: nn.RNNBase, sequence: Tensor, hx: State | None) -> list[Tensor]:
    """PyTorch's own output of every layer, (T, D·H) each: a one-layer copy per layer.

    PyTorch returns only the top layer's output, so each layer is rebuilt alone with its own
    weights and fed the PyTorch output of the layer below.
    """
    d_count = 2 if rnn.bidirectional else 1
    outputs, layer_in = [], sequence
    for layer in range(rnn.num_layers - 1):
        single = _single_layer(rnn, layer)
        h0 = _layer_state(hx, layer, d_count)
        out, _ = single(layer_in, h0)
        outputs.append(out)  # (T, D·H)
        layer_in = out
    # The top layer's steps are compared with the very output `recompute` checks, so the step
    # table can never show a larger difference than the whole-layer figure.
    top, _ = rnn(sequence, hx)  # (T, D·H)
    outputs.append(top)
    return outputs


def _torch_cell_states(
    rnn: nn.RNNBase, below: Tensor, hx: State | None, layer: int, d: int
) -> list[Tensor]:
    """PyTorch's c_t at every step t for one LSTM layer and direction, (H,) each.

    PyTorch returns only the last cell state, so this direction's weights go into a one-way,
    one-layer nn.LSTM that is fed one step at a time, in reading order, keeping its own (h, c).
    """
    suffix = f"_l{layer}" + ("_reverse" if d else "")
    one_way = nn.LSTM(below.shape[-1], rnn.hidden_size, 1, bias=rnn.bias,
                      proj_size=proj_size_of(rnn))
    one_way.load_state_dict(
        {
            name.replace(suffix, "_l0"): p
            for name, p in rnn.named_parameters()
            if name.endswith(suffix)
        }
    )
    one_way = one_way.to(below.device).eval()
    index = layer * (2 if rnn.bidirectional else 1) + d
    state = None if hx is None else (hx[0][index : index + 1], hx[1][index : index + 1])
    cells = [below.new_zeros(0)] * below.shape[0]
    for t in reversed(range(below.shape[0])) if d else range(below.shape[0]):
        _, state = one_way(below[t : t + 1], state)  # (1, F_in) in, state (1, R) and (1, H)
        cells[t] = state[1][0]
    return cells


def _single_layer(rnn: nn.RNNBase, layer: int) -> nn.RNNBase:
    in_size = rnn.input_size if layer == 0 else state_size_of(rnn) * (2 if rnn.bidirectional else 1)
    spec = spec_of(rnn)
    kwargs = spec.layer_kwargs(activation_name(rnn), proj_size_of(rnn))
    single = layer_class(spec)(
        in_size, rnn.hidden_size, 1, bias=rnn.bias, bidirectional=rnn.bidirectional, **kwargs
    )
    own = {
        name.replace(f"_l{layer}", "_l0"): p
        for name, p in rnn.named_parameters()
        if name.endswith((f"_l{layer}", f"_l{layer}_reverse"))
    }
    single.load_state_dict(own)
    return single.to(device=next(rnn.parameters()).device).eval()


def _layer_state(hx: State | None, layer: int, d_count: int) -> State | None:
    if hx is None:
        return None
    rows = slice(layer * d_count, (layer + 1) * d_count)
    if isinstance(hx, tuple):
        return hx[0][rows], hx[1][rows]
    return hx[rows]


def _initial_of(
    rnn: nn.RNNBase, hx: State | None, index: int, sequence: Tensor
) -> tuple[Tensor, Tensor | None]:
    if hx is None:
        c0 = sequence.new_zeros(rnn.hidden_size)  # (H,)
        return sequence.new_zeros(state_size_of(rnn)), (c0 if spec_of(rnn).has_cell_state else None)
    if isinstance(hx, tuple):
        return hx[0][index], hx[1][index]
    return hx[index], None


def _diff(a: Tensor, b: Tensor) -> float:
    """Largest |a − b|, in float64 as `recompute` measures it."""
    return float((a.double() - b.double()).abs().max())


def _list(t: Tensor) -> list[float]:
    values: list[float] = t.detach().cpu().double().tolist()  # one copy, not one per value
    return values


def _v(t: Tensor) -> str:
    values = [f"{v:.{_DIGITS}f}" for v in t.reshape(-1)[:_MAX_SHOWN].tolist()]
    more = ", …" if t.numel() > _MAX_SHOWN else ""
    return "[" + ", ".join(values) + more + "]"
