"""Each hidden unit's equation at each step, term by term: from x_t, from h_(t−1), the bias.

The recurrent layer is recomputed from its own weights in PyTorch's gate order (RNN: a;
GRU: r z n; LSTM: i f g o) and checked against what the layer returned, so every term shown
adds up to a pre-activation that really occurred:

    pre_a = W_ia·x_t  +  W_ha·h_(t−1)  +  (b_ia + b_ha)        one row per unit
            from x_t     from h_(t−1)     bias

GRU's candidate n reads r_t ⊙ (W_hn·h_(t−1) + b_hn): its "from h" is r_t ⊙ W_hn·h_(t−1) and
its bias b_in + r_t ⊙ b_hn, so the three still add up to the pre-activation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from rnntrace.attribution.capture import catch
from rnntrace.attribution.records import GateTerms, LayerTerms, StepTerms
from rnntrace.data.sequences import SequenceSet

GATES = {"rnn": ("a",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}


def _cell(layer: nn.RNNBase) -> str:
    # nn.RNN's mode is RNN_TANH or RNN_RELU; the others name their cell.
    return {"GRU": "gru", "LSTM": "lstm"}.get(layer.mode, "rnn")


def _weights(layer: nn.RNNBase, k: int, suffix: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    w_ih = getattr(layer, f"weight_ih_l{k}{suffix}").detach().double()
    w_hh = getattr(layer, f"weight_hh_l{k}{suffix}").detach().double()
    zeros = torch.zeros(w_ih.shape[0], dtype=torch.float64)
    b_ih = getattr(layer, f"bias_ih_l{k}{suffix}", None)
    b_hh = getattr(layer, f"bias_hh_l{k}{suffix}", None)
    return (w_ih, w_hh, zeros if b_ih is None else b_ih.detach().double(),
            zeros if b_hh is None else b_hh.detach().double())


def _run_direction(layer: nn.RNNBase, k: int, backward: bool, x: Tensor) -> tuple[
    list[StepTerms], Tensor
]:
    """One layer and direction over x (T, F'): the step terms in time order and h (T, H)."""
    cell = _cell(layer)
    w_ih, w_hh, b_ih, b_hh = _weights(layer, k, "_reverse" if backward else "")
    hidden = layer.hidden_size
    h = torch.zeros(hidden, dtype=torch.float64)
    c = torch.zeros(hidden, dtype=torch.float64)
    n_gates = len(GATES[cell])
    out = torch.zeros(x.shape[0], hidden, dtype=torch.float64)  # (T, H)
    records: dict[int, StepTerms] = {}
    order = range(x.shape[0] - 1, -1, -1) if backward else range(x.shape[0])
    for t in order:
        from_x = (w_ih @ x[t]).view(n_gates, hidden)  # (G, H)
        from_h = (w_hh @ h).view(n_gates, hidden)  # (G, H)
        bias = (b_ih + b_hh).view(n_gates, hidden)  # (G, H)
        terms: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        if cell == "rnn":
            terms["a"] = (from_x[0], from_h[0], bias[0])
            pre = from_x[0] + from_h[0] + bias[0]
            values = {"a": torch.tanh(pre) if layer.nonlinearity == "tanh" else torch.relu(pre)}
            h = values["a"]
        elif cell == "gru":
            b_i, b_h = b_ih.view(3, hidden), b_hh.view(3, hidden)
            r = torch.sigmoid(from_x[0] + from_h[0] + bias[0])
            z = torch.sigmoid(from_x[1] + from_h[1] + bias[1])
            terms |= {"r": (from_x[0], from_h[0], bias[0]), "z": (from_x[1], from_h[1], bias[1]),
                      "n": (from_x[2], r * from_h[2], b_i[2] + r * b_h[2])}
            n = torch.tanh(sum(terms["n"], torch.zeros(hidden, dtype=torch.float64)))
            values = {"r": r, "z": z, "n": n}
            h = (1 - z) * n + z * h
        else:
            for g, name in enumerate(GATES["lstm"]):
                terms[name] = (from_x[g], from_h[g], bias[g])
            pre_all = {k_: sum(v, torch.zeros(hidden, dtype=torch.float64))
                       for k_, v in terms.items()}
            values = {name: torch.tanh(p) if name == "g" else torch.sigmoid(p)
                      for name, p in pre_all.items()}
            c = values["f"] * c + values["i"] * values["g"]
            h = values["o"] * torch.tanh(c)
        out[t] = h
        records[t] = StepTerms(
            step=t + 1,
            gates={name: GateTerms(
                from_x=_l(fx), from_h=_l(fh), bias=_l(b), pre=_l(fx + fh + b),
                value=_l(values[name])) for name, (fx, fh, b) in terms.items()},
            h=_l(h),
            c=_l(c) if cell == "lstm" else None,
        )
    return [records[t] for t in range(x.shape[0])], out


def _l(t: Tensor) -> list[float]:
    # 6 decimals: far below what float32 weights resolve in a sum of this size, and it keeps
    # explain.json (steps × gates × units × 5 numbers a sequence) a third of full precision.
    return [round(float(v), 6) for v in t]


def unit_terms(model: nn.Module, data: SequenceSet, index: int) -> list[LayerTerms]:
    """Every layer and direction of the model's top recurrent module for sequence `index`.

    Empty for an LSTM with projections (proj_size), whose equations these are not.
    """
    caught = catch(model, data, np.array([index]))
    layer = caught.top
    if getattr(layer, "proj_size", 0):
        return []
    n = int(caught.lengths[0])
    if len([m for m in model.modules() if isinstance(m, nn.RNNBase)]) > 1:
        return []  # the top module's own input is not caught for a stack of several modules
    x = caught.first_input[0, :n].double()  # (T, F)
    directions = 2 if layer.bidirectional else 1
    result: list[LayerTerms] = []
    for k in range(layer.num_layers):
        outs = []
        for d in range(directions):
            steps, h = _run_direction(layer, k, d == 1, x)
            outs.append(h)
            result.append(LayerTerms(layer=k, direction="backward" if d else "forward",
                                     cell=_cell(layer), steps=steps, max_abs_diff=0.0))
        x = torch.cat(outs, dim=1)  # (T, D·H): the next layer's input
    # The top layer recomputed against what the layer really returned.
    diff = float((x - caught.top_output[0, :n].double()).abs().max())
    for terms in result[-directions:]:
        terms.max_abs_diff = diff
    return result
