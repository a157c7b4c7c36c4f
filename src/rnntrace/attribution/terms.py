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
from rnntrace.config.cells import GRU
from rnntrace.data.sequences import SequenceSet
from rnntrace.records.explanation import GateTerms, LayerTerms, StepTerms
from rnntrace.tracing.equations import (
    Weights,
    activation_name,
    cell_name,
    cell_step,
    input_part,
    spec_of,
)


def _double(w: Weights) -> Weights:
    """The weights in float64: the terms add up to pre-activations checked to 1e-5."""
    def d(v: Tensor) -> Tensor:
        return v.detach().double()

    return Weights(d(w.w_ih), d(w.w_hh), d(w.b_ih), d(w.b_hh),
                   None if w.w_hr is None else d(w.w_hr))


def _run_direction(layer: nn.RNNBase, k: int, backward: bool, x: Tensor) -> tuple[
    list[StepTerms], Tensor
]:
    """One layer and direction over x (T, F'): the step terms in time order and h (T, R).

    The step itself is tracing.equations.cell_step, the one place a cell's arithmetic is
    written; here its pre-activations are split into the three terms that add up to them.
    """
    spec, act = spec_of(layer), activation_name(layer)
    w = _double(Weights.of(layer, k, 1 if backward else 0))
    gates = [g.symbol for g in spec.gates]
    hidden = layer.hidden_size
    h = torch.zeros(1, w.w_hh.shape[1], dtype=torch.float64)  # (1, R)
    c = torch.zeros(1, hidden, dtype=torch.float64) if spec.has_cell_state else None
    out = torch.zeros(x.shape[0], h.shape[1], dtype=torch.float64)  # (T, R)
    records: dict[int, StepTerms] = {}
    order = range(x.shape[0] - 1, -1, -1) if backward else range(x.shape[0])
    for t in order:
        wx = input_part(w, x[t].unsqueeze(0))  # (1, G·H)
        step = cell_step(spec, act, w, wx, h, c)
        from_x = (w.w_ih @ x[t]).view(len(gates), hidden)  # (G, H)
        from_h = (w.w_hh @ h[0]).view(len(gates), hidden)
        b_i, b_h = w.b_ih.view(len(gates), hidden), w.b_hh.view(len(gates), hidden)
        terms = {g: (from_x[i], from_h[i], b_i[i] + b_h[i]) for i, g in enumerate(gates)}
        if spec is GRU:  # r gates the candidate's hidden part, bias included
            r = step.gates["r"][0]
            terms["n"] = (from_x[2], r * from_h[2], b_i[2] + r * b_h[2])
        values = step.gates or {"a": step.h}
        h, c = step.h, step.c
        out[t] = h[0]
        records[t] = StepTerms(
            step=t + 1,
            gates={g: GateTerms(
                from_x=_l(fx), from_h=_l(fh), bias=_l(b), pre=_l(fx + fh + b),
                value=_l(values[g][0])) for g, (fx, fh, b) in terms.items()},
            h=_l(h[0]),
            c=_l(c[0]) if c is not None else None,
        )
    return [records[t] for t in range(x.shape[0])], out


def _l(t: Tensor) -> list[float]:
    # 6 decimals: far below what float32 weights resolve in a sum of this size, and it keeps
    # explain.json (steps × gates × units × 5 numbers a sequence) a third of full precision.
    return [round(float(v), 6) for v in t]


def unit_terms(model: nn.Module, data: SequenceSet, index: int) -> list[LayerTerms]:
    """Every layer and direction of the model's top recurrent module for sequence `index`.

    An LSTM with projections (proj_size) has its gates' terms too; its h_t is the projection.
    """
    caught = catch(model, data, np.array([index]))
    layer = caught.top
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
                                     cell=cell_name(layer), steps=steps, max_abs_diff=0.0))
        x = torch.cat(outs, dim=1)  # (T, D·H): the next layer's input
    # The top layer recomputed against what the layer really returned.
    diff = float((x - caught.top_output[0, :n].double()).abs().max())
    for terms in result[-directions:]:
        terms.max_abs_diff = diff
    return result
