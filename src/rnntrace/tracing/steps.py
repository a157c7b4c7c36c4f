"""One sequence through a recurrent layer, step by step: the equations with their numbers.

Each StepRecord holds x_t, h_(t-1) (and c_(t-1)), every gate, h_t recomputed and h_t as PyTorch
computed it, so the terminal and the HTML step-through can show the arithmetic of every step.
Steps are numbered from 1; h_0 is the initial state, as in PyTorch's `h0` argument.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnntrace.errors import ConfigError, ShapeError
from rnntrace.records import StepRecord
from rnntrace.tracing.equations import (
    GATES,
    State,
    Weights,
    activation_name,
    cell_name,
    cell_step,
    input_part,
    unroll,
)
from rnntrace.tracing.explain import explain_call

_MAX_SHOWN = 8  # vector entries written into an equation line before "…"
_DIGITS = 4
_GATE_ACT = {"r": "σ", "z": "σ", "n": "tanh", "i": "σ", "f": "σ", "g": "tanh", "o": "σ"}


@torch.no_grad()
def explain_steps(
    rnn: nn.RNNBase,
    sequence: Tensor,
    hx: State | None = None,
    *,
    layer: int = 0,
    direction: str = "forward",
) -> list[StepRecord]:
    """Every step of one layer and direction reading one sequence (T, F), in reading order.

    `hx` is the initial state for the whole layer stack, unbatched: (L·D, H), or (h_0, c_0) for
    an LSTM. For layer k > 0, x_t is the layer below's output at t (both directions joined).
    """
    cell, act = cell_name(rnn), activation_name(rnn)
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
    was_training = rnn.training
    rnn.eval()
    try:
        mine = unroll(rnn, sequence, hx)
        torch_out = _torch_layer_outputs(rnn, sequence, hx)
    finally:
        rnn.train(was_training)

    d = 1 if direction == "backward" else 0
    d_count = 2 if rnn.bidirectional else 1
    index = layer * d_count + d
    # The layer's input: the sequence, or the recomputed output of the layer below.
    below = [torch.stack(states) for states in mine.states[layer - 1]] if layer else []
    x_in = torch.cat(below, dim=-1).squeeze(1) if layer else sequence  # (T, F_in)
    torch_in = torch_out[layer - 1] if layer else sequence  # (T, F_in), PyTorch's
    h0, c0 = _initial_of(rnn, hx, index, sequence)
    w = Weights.of(rnn, layer, d)
    h_size = rnn.hidden_size
    steps = sequence.shape[0]
    torch_c = _torch_cell_states(rnn, torch_in, hx, layer, d) if cell == "lstm" else []
    # W_ih·x_t for the whole sequence in one product, laid out (T, 1, F_in) exactly as `unroll`
    # does: one step's product alone rounds differently (~1e-7), which made the step table
    # differ from PyTorch where the whole-layer check, on the same sequence, found no difference.
    wx = input_part(w, x_in.unsqueeze(1))  # (T, 1, G·H)
    records: list[StepRecord] = []
    h, c = h0, c0
    for order, t in enumerate(reversed(range(steps)) if d else range(steps), start=1):
        out = cell_step(cell, act, w, wx[t], h.unsqueeze(0), None if c is None else c.unsqueeze(0))
        h_torch = torch_out[layer][t, d * h_size : (d + 1) * h_size]  # (H,)
        c_torch = torch_c[t] if torch_c else None
        h_new = out.h[0]
        c_new = out.c[0] if out.c is not None else None
        diff = _diff(h_new, h_torch)
        if c_new is not None and c_torch is not None:
            diff = max(diff, _diff(c_new, c_torch))
        names = _Names(t + 1, d)
        lines, numbers = _lines(
            cell, act, names, w, x_in[t], h, c, out.pre, out.gates, h_new, c_new
        )
        records.append(
            StepRecord(
                step=t + 1,
                order=order,
                layer=layer,
                direction=direction,
                cell=cell,
                x=_list(x_in[t]),
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
        )
        h, c = h_new, c_new
    return records


class _Names:
    """Symbols for step t of one direction: h_3 and h_2 forward, h←_3 and h←_4 backward."""

    def __init__(self, t: int, direction: int) -> None:
        arrow = "←" if direction else ""
        prev = t + 1 if direction else t - 1
        self.x = f"x_{t}"
        self.h, self.h_prev = f"h{arrow}_{t}", f"h{arrow}_{prev}"
        self.c, self.c_prev = f"c{arrow}_{t}", f"c{arrow}_{prev}"
        self.t = t


def _lines(
    cell: str,
    act: str,
    n: _Names,
    w: Weights,
    x: Tensor,
    h: Tensor,
    c: Tensor | None,
    pre: dict[str, Tensor],
    gates: dict[str, Tensor],
    h_new: Tensor,
    c_new: Tensor | None,
) -> tuple[list[str], list[str]]:
    """The step's equations in symbols and with numbers, one gate per line."""
    wx = w.w_ih @ x  # (G·H,)
    wh = w.w_hh @ h  # (G·H,)
    k = len(GATES[cell])
    wx_g, wh_g = wx.chunk(k), wh.chunk(k)
    bi_g, bh_g = w.b_ih.chunk(k), w.b_hh.chunk(k)
    sym: list[str] = []
    num: list[str] = []
    if cell == "rnn":
        sym.append(f"{n.h} = {act}(W_ih·{n.x} + b_ih + W_hh·{n.h_prev} + b_hh)")
        num.append(
            f"{n.h} = {act}(W_ih·{n.x} {_v(wx)} + b_ih {_v(w.b_ih)} + W_hh·{n.h_prev} {_v(wh)}"
            f" + b_hh {_v(w.b_hh)}) = {act}({_v(pre['a'][0])}) = {_v(h_new)}"
        )
        return sym, num
    for g_index, g in enumerate(GATES[cell]):
        f_act = _GATE_ACT[g]
        gt = f"{g}_{n.t}"
        terms = (
            f"W_i{g}·{n.x} {_v(wx_g[g_index])} + b_i{g} {_v(bi_g[g_index])}",
            f"W_h{g}·{n.h_prev} {_v(wh_g[g_index])} + b_h{g} {_v(bh_g[g_index])}",
        )
        if cell == "gru" and g == "n":
            sym.append(f"{gt} = tanh(W_in·{n.x} + b_in + r_{n.t} ⊙ (W_hn·{n.h_prev} + b_hn))")
            middle = f"{terms[0]} + r_{n.t} {_v(gates['r'][0])} ⊙ ({terms[1]})"
        else:
            sym.append(f"{gt} = {f_act}(W_i{g}·{n.x} + b_i{g} + W_h{g}·{n.h_prev} + b_h{g})")
            middle = f"{terms[0]} + {terms[1]}"
        num.append(f"{gt} = {f_act}({middle}) = {f_act}({_v(pre[g][0])}) = {_v(gates[g][0])}")
    if cell == "gru":
        z, nn_ = gates["z"][0], gates["n"][0]
        sym.append(f"{n.h} = (1 − z_{n.t}) ⊙ n_{n.t} + z_{n.t} ⊙ {n.h_prev}")
        num.append(f"{n.h} = (1 − {_v(z)}) ⊙ {_v(nn_)} + {_v(z)} ⊙ {_v(h)} = {_v(h_new)}")
        return sym, num
    assert c is not None and c_new is not None
    i, f, g_, o = (gates[k_][0] for k_ in "ifgo")
    sym.append(f"{n.c} = f_{n.t} ⊙ {n.c_prev} + i_{n.t} ⊙ g_{n.t}")
    num.append(f"{n.c} = {_v(f)} ⊙ {_v(c)} + {_v(i)} ⊙ {_v(g_)} = {_v(c_new)}")
    sym.append(f"{n.h} = o_{n.t} ⊙ tanh({n.c})")
    num.append(f"{n.h} = {_v(o)} ⊙ tanh({_v(c_new)}) = {_v(h_new)}")
    return sym, num


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
    one_way = nn.LSTM(below.shape[-1], rnn.hidden_size, 1, bias=rnn.bias)
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
        _, state = one_way(below[t : t + 1], state)  # (1, F_in) in, state (1, H) each
        cells[t] = state[1][0]
    return cells


def _single_layer(rnn: nn.RNNBase, layer: int) -> nn.RNNBase:
    in_size = rnn.input_size if layer == 0 else rnn.hidden_size * (2 if rnn.bidirectional else 1)
    kwargs: dict[str, object] = dict(bias=rnn.bias, bidirectional=rnn.bidirectional)
    if isinstance(rnn, nn.RNN):
        kwargs["nonlinearity"] = rnn.nonlinearity
    single = type(rnn)(in_size, rnn.hidden_size, 1, **kwargs)  # type: ignore[arg-type]
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
    is_lstm = isinstance(rnn, nn.LSTM)
    if hx is None:
        zeros = sequence.new_zeros(rnn.hidden_size)  # (H,)
        return zeros, (zeros if is_lstm else None)
    if isinstance(hx, tuple):
        return hx[0][index], hx[1][index]
    return hx[index], None


def _diff(a: Tensor, b: Tensor) -> float:
    """Largest |a − b|, in float64 as `recompute` measures it."""
    return float((a.double() - b.double()).abs().max())


def _list(t: Tensor) -> list[float]:
    return [float(v) for v in t.detach().cpu().double()]


def _v(t: Tensor) -> str:
    values = [f"{float(v):.{_DIGITS}f}" for v in t.reshape(-1)[:_MAX_SHOWN]]
    more = ", …" if t.numel() > _MAX_SHOWN else ""
    return "[" + ", ".join(values) + more + "]"
