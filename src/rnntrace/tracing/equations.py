"""nn.RNN, nn.GRU and nn.LSTM recomputed step by step from their own weights, checked against
PyTorch.

The textbook equations (their text is `rnntrace.config.cells`), in PyTorch's documented gate order,
computed in `cell_step`:

    RNN   h_t = act(W_ih·x_t + b_ih + W_hh·h_(t-1) + b_hh)                 act = tanh | relu
    GRU   r_t = σ(W_ir·x_t + b_ir + W_hr·h_(t-1) + b_hr)                   rows  0H..1H
          z_t = σ(W_iz·x_t + b_iz + W_hz·h_(t-1) + b_hz)                   rows  1H..2H
          n_t = tanh(W_in·x_t + b_in + r_t ⊙ (W_hn·h_(t-1) + b_hn))        rows  2H..3H
          h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_(t-1)
    LSTM  i, f, g, o = σ, σ, tanh, σ of (W_i·x_t + b_i + W_h·h_(t-1) + b_h) rows split 4 ways
          c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t
          h_t = o_t ⊙ tanh(c_t)                   with proj_size P:  h_t = W_hr·(o_t ⊙ tanh(c_t))

Shape legend: B batch, T time steps, F features, H hidden size, D directions, G gates (1, 3, 4),
R the width of h: H, or P for an LSTM with proj_size (c stays H wide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntrace.config.cells import GRU, RNN, CellSpec, spec_of_layer
from rnntrace.model.modes import eval_mode
from rnntrace.records import Recomputation
from rnntrace.tracing.explain import check_lengths, run_checked

State = Tensor | tuple[Tensor, Tensor]

def spec_of(rnn: nn.Module) -> CellSpec:
    """The cell specification of a layer or cell; anything but nn.RNN, nn.GRU, nn.LSTM and
    their Cell versions is refused."""
    return spec_of_layer(rnn)


def cell_name(rnn: nn.Module) -> str:
    """rnn | gru | lstm."""
    return spec_of(rnn).name


def activation_name(rnn: nn.Module) -> str:
    return str(getattr(rnn, "nonlinearity", "tanh"))


def proj_size_of(rnn: nn.Module) -> int:
    # 0 for nn.RNN and nn.GRU, which never project, and for the cells, which have no proj_size
    return int(getattr(rnn, "proj_size", 0))


def state_size_of(rnn: nn.RNNBase) -> int:
    """The width of h: proj_size for a projecting LSTM, else hidden_size."""
    return proj_size_of(rnn) or rnn.hidden_size


def equations(rnn: nn.Module) -> list[str]:
    """The equations a layer computes, in symbols."""
    return spec_of(rnn).equations(activation_name(rnn), proj_size_of(rnn))


@dataclass
class Weights:
    """One layer and direction's weights, as PyTorch stores them (gates stacked by rows)."""

    w_ih: Tensor  # (G·H, F_in)
    w_hh: Tensor  # (G·H, R)
    b_ih: Tensor  # (G·H,)
    b_hh: Tensor  # (G·H,)
    w_hr: Tensor | None = None  # (P, H): LSTM with proj_size only

    @classmethod
    def of(cls, rnn: nn.RNNBase, layer: int, direction: int) -> Weights:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        w_ih = getattr(rnn, "weight_ih" + suffix)
        w_hh = getattr(rnn, "weight_hh" + suffix)
        zeros = torch.zeros(w_ih.shape[0], dtype=w_ih.dtype, device=w_ih.device)
        b_ih = getattr(rnn, "bias_ih" + suffix) if rnn.bias else zeros
        b_hh = getattr(rnn, "bias_hh" + suffix) if rnn.bias else zeros
        w_hr = getattr(rnn, "weight_hr" + suffix) if proj_size_of(rnn) else None
        return cls(w_ih, w_hh, b_ih, b_hh, w_hr)

    @classmethod
    def of_cell(cls, cell: nn.RNNCellBase) -> Weights:
        """An nn.RNNCell, nn.GRUCell or nn.LSTMCell's weights: the same rows, no layer suffix."""
        zeros = torch.zeros(
            cell.weight_ih.shape[0], dtype=cell.weight_ih.dtype, device=cell.weight_ih.device
        )
        b_ih = cell.bias_ih if cell.bias else zeros
        b_hh = cell.bias_hh if cell.bias else zeros
        return cls(cell.weight_ih, cell.weight_hh, b_ih, b_hh)


class Step(NamedTuple):
    """What one step computed: the new state and every gate before and after its activation."""

    h: Tensor  # (B, R)
    c: Tensor | None  # (B, H), LSTM only
    pre: dict[str, Tensor]  # gate → (B, H) before the activation
    gates: dict[str, Tensor]  # gate → (B, H) after it


def input_part(w: Weights, x: Tensor) -> Tensor:
    """W_ih·x + b_ih for every gate: (..., F_in) → (..., G·H).

    It does not depend on the state, so a whole sequence's can be computed at once (as PyTorch's
    kernels do), leaving only W_hh·h to the step-by-step loop.
    """
    return x @ w.w_ih.T + w.b_ih


def cell_step(
    spec: CellSpec, act: str, w: Weights, wx: Tensor, h: Tensor, c: Tensor | None = None
) -> Step:
    """One step of the textbook equations: wx = input_part(w, x_t) (B, G·H), h (B, R), c (B, H)."""
    wh = h @ w.w_hh.T + w.b_hh  # (B, G·H)
    if spec is RNN:
        a = wx + wh  # (B, H)
        return Step(torch.tanh(a) if act == "tanh" else torch.relu(a), None, {"a": a}, {})
    if spec is GRU:
        x_r, x_z, x_n = wx.chunk(3, dim=1)  # each (B, H)
        h_r, h_z, h_n = wh.chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n_pre = x_n + r * h_n  # r gates only the hidden part of the candidate
        n = torch.tanh(n_pre)
        h_new = (1 - z) * n + z * h
        pre = {"r": x_r + h_r, "z": x_z + h_z, "n": n_pre}
        return Step(h_new, None, pre, {"r": r, "z": z, "n": n})
    assert c is not None
    pre_i, pre_f, pre_g, pre_o = (wx + wh).chunk(4, dim=1)  # each (B, H)
    i, f = torch.sigmoid(pre_i), torch.sigmoid(pre_f)
    g, o = torch.tanh(pre_g), torch.sigmoid(pre_o)
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)  # (B, H)
    if w.w_hr is not None:
        h_new = h_new @ w.w_hr.T  # (B, P): the projection the next step and h_n see
    pre = {"i": pre_i, "f": pre_f, "g": pre_g, "o": pre_o}
    return Step(h_new, c_new, pre, {"i": i, "f": f, "g": g, "o": o})


class Unrolled(NamedTuple):
    """The recomputed layer's results, in the same layout PyTorch returns them."""

    output: Tensor  # (B, T, D·R) with batch_first, else (T, B, D·R); (T, D·R) unbatched
    h_n: Tensor  # (L·D, B, R); (L·D, R) unbatched
    c_n: Tensor | None  # (L·D, B, H), LSTM only
    # layer → direction → step → (B, R): every state computed, in time order (padding steps hold
    # the state computed there, which nothing downstream uses)
    states: list[list[list[Tensor]]]


def unroll(
    rnn: nn.RNNBase,
    x: Tensor,
    hx: State | None = None,
    lengths: Tensor | list[int] | None = None,
) -> Unrolled:
    """Recompute `rnn(x, hx)` step by step with `cell_step`, keeping autograd's graph.

    `x` is laid out as the layer reads it. With `lengths`, each sequence stops at its own last
    step and the backward direction starts there, as a packed batch would be run. Dropout between
    layers is not applied (the layer in eval mode).
    """
    spec, act = spec_of(rnn), activation_name(rnn)
    d_count = 2 if rnn.bidirectional else 1
    unbatched = x.dim() == 2
    xt = x.unsqueeze(1) if unbatched else (x.transpose(0, 1) if rnn.batch_first else x)  # (T, B, F)
    steps, batch = xt.shape[0], xt.shape[1]
    h0, c0 = _initial(rnn, hx, batch, unbatched, xt)  # (L·D, B, R) and (L·D, B, H)
    live = None
    if lengths is not None:
        lens = torch.as_tensor(lengths, device=x.device).view(1, -1, 1)
        live = torch.arange(steps, device=x.device).view(-1, 1, 1) < lens  # (T, B, 1)

    layer_in, h_last, c_last, states = xt, [], [], []
    for layer in range(rnn.num_layers):
        outs, layer_states = [], []
        for d in range(d_count):
            w = Weights.of(rnn, layer, d)
            h, c = h0[layer * d_count + d], c0[layer * d_count + d] if c0 is not None else None
            per_step: list[Tensor] = [h] * steps
            wx = input_part(w, layer_in)  # (T, B, G·H)
            for t in reversed(range(steps)) if d else range(steps):
                new = cell_step(spec, act, w, wx[t], h, c)
                per_step[t] = new.h
                # A finished (padding) step keeps the state it had, as packing would.
                h = new.h if live is None else torch.where(live[t], new.h, h)
                if c is not None and new.c is not None:
                    c = new.c if live is None else torch.where(live[t], new.c, c)
            out = torch.stack(per_step)  # (T, B, R)
            outs.append(out if live is None else out * live)  # padded outputs are zeros
            layer_states.append(per_step)
            h_last.append(h)
            c_last.append(c)
        layer_in = torch.cat(outs, dim=2)  # (T, B, D·R)
        states.append(layer_states)

    h_n = torch.stack(h_last)  # (L·D, B, R)
    c_n = torch.stack([c for c in c_last if c is not None]) if spec.has_cell_state else None
    output = layer_in
    if unbatched:
        output, h_n = output.squeeze(1), h_n.squeeze(1)  # (T, D·R), (L·D, R)
        c_n = c_n.squeeze(1) if c_n is not None else None
    elif rnn.batch_first:
        output = output.transpose(0, 1)  # (B, T, D·H)
    return Unrolled(output, h_n, c_n, states)


def _initial(
    rnn: nn.RNNBase, hx: State | None, batch: int, unbatched: bool, xt: Tensor
) -> tuple[Tensor, Tensor | None]:
    layers = rnn.num_layers * (2 if rnn.bidirectional else 1)
    if hx is None:
        zeros = xt.new_zeros(layers, batch, rnn.hidden_size)  # (L·D, B, H): c0
        return xt.new_zeros(layers, batch, state_size_of(rnn)), (  # (L·D, B, R): h0
            zeros if spec_of(rnn).has_cell_state else None
        )
    h0, c0 = hx if isinstance(hx, tuple) else (hx, None)
    if unbatched:
        h0 = h0.unsqueeze(1)
        c0 = c0.unsqueeze(1) if c0 is not None else None
    return h0, c0


def run_torch(
    rnn: nn.RNNBase, x: Tensor, hx: State | None = None, lengths: Tensor | list[int] | None = None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """PyTorch's own (output, h_n, c_n) for the same call; packed when lengths are given."""
    if lengths is None or x.dim() == 2:
        (output, state), _ = run_checked(rnn, x, hx, lengths)
    else:
        steps, batch = (x.shape[1], x.shape[0]) if rnn.batch_first else x.shape[:2]
        packed = pack_padded_sequence(
            x,
            check_lengths(lengths, batch, steps).cpu(),
            batch_first=rnn.batch_first,
            enforce_sorted=False,
        )
        (packed_out, state), _ = run_checked(rnn, packed, hx)
        output, _ = pad_packed_sequence(packed_out, rnn.batch_first, total_length=steps)
    if isinstance(state, tuple):
        return output, state[0], state[1]
    return output, state, None


@torch.no_grad()
def recompute(
    rnn: nn.RNNBase,
    x: Tensor,
    hx: State | None = None,
    lengths: Tensor | list[int] | None = None,
    tolerance: float = 1e-5,
) -> Recomputation:
    """Recompute a layer's call by hand and compare every number with PyTorch's.

    `x` is one sequence (T, F) or a batch in the layer's layout; `lengths` runs the batch packed.
    """
    cell = cell_name(rnn)  # refuses a layer that is not nn.RNN/GRU/LSTM before running anything
    with eval_mode(rnn):
        output, h_n, c_n = run_torch(rnn, x, hx, lengths)
        mine = unroll(rnn, x, hx, lengths)
    return Recomputation(
        cell=cell,
        nonlinearity=activation_name(rnn),
        num_layers=rnn.num_layers,
        bidirectional=rnn.bidirectional,
        batch_first=rnn.batch_first,
        input_shape=[int(d) for d in x.shape],
        diff_output=_diff(mine.output, output),
        diff_h_n=_diff(mine.h_n, h_n),
        diff_c_n=_diff(mine.c_n, c_n) if mine.c_n is not None and c_n is not None else None,
        tolerance=tolerance,
        equations=equations(rnn),
    )


def _diff(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0
