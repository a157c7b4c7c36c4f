"""What one epoch did inside the recurrent layer, cheap enough to take after every epoch.

One pass of the top layer unrolled by hand (tracing.dynamics.unrolled_gradients) over a small
fixed batch of held-out sequences gives everything the live page shows for the epoch:

    hidden    the traced sequence's (the batch's first) top-layer h_t at each real step
    grad      ‖∂loss/∂h_t‖ per direction and step over the batch: how far back the loss reaches
    saturated the share of h values pinned at the activation's limit per step
    gates     per gate, the share of its values pinned near 0 or 1 (σ) or ±1 (tanh) per step

The traced sequence is the one the Trace follows, so the last epoch's heatmap is the report's
(equal to PyTorch's own states to ~1e-6, as unroll is). Long sequences and wide layers are
thinned to at most MAX_STEPS steps and MAX_UNITS units, so an epoch's snapshot stays small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from rnntrace.data.sequences import SequenceSet
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.modes import eval_mode
from rnntrace.tracing.dynamics import SATURATION, live_mask, unrolled_gradients
from rnntrace.tracing.equations import Weights, activation_name, cell_step, spec_of
from rnntrace.tracing.explain import check_lengths

MAX_STEPS = 400  # per-step series and heatmap columns kept per epoch
MAX_UNITS = 64  # heatmap rows kept per epoch
SNAPSHOT_SEQUENCES = 32  # held-out sequences the gradient and saturation are measured over
GATE_PINNED = 0.05  # a σ gate below this or above 1 − this passes (or blocks) almost all


@dataclass
class EpochSnapshot:
    """The recurrent layer after one epoch, as plain numbers (see the module docstring)."""

    epoch: int
    sequence_id: str
    steps: list[int]  # 1-based steps shown (every k-th of a long sequence)
    units: list[int]  # 0-based units shown (the first MAX_UNITS)
    hidden: list[list[float]]  # (len(steps), len(units)) of the traced sequence
    probabilities: list[float]  # the traced sequence's, (C,)
    # The per-step series below are over the whole batch's steps, thinned to these (1-based).
    series_steps: list[int]
    grad_norm: list[list[float]]  # (D, len(series_steps))
    saturated: list[float]  # share of |h| > SATURATION (h = 0 for ReLU) per series step
    gates: dict[str, list[float]] = field(default_factory=dict)  # gate → per series step
    loss: float = 0.0  # the batch's mean cross-entropy
    sequences: int = 0  # in the batch


def snapshot_batch(data: SequenceSet, limit: int = SNAPSHOT_SEQUENCES) -> SequenceSet:
    """The first `limit` sequences of `data` (the traced one first): the batch every epoch's
    snapshot reads, fixed so that epochs compare."""
    return data.subset(list(range(min(limit, len(data)))))


def _thin(count: int, limit: int) -> list[int]:
    """0-based indices of every k-th of `count` items, at most `limit`, the last always kept."""
    if count <= limit:
        return list(range(count))
    stride = math.ceil(count / limit)
    kept = list(range(0, count, stride))
    if kept[-1] != count - 1:
        kept[-1] = count - 1
    return kept


@torch.no_grad()
def epoch_snapshot(
    model: SequenceClassifier, batch: SequenceSet, epoch: int,
    inputs: tuple[Tensor, Tensor | None],
) -> EpochSnapshot:
    """The snapshot of `model` on `batch` (see snapshot_batch) after epoch `epoch`; `inputs` is
    the batch as the model reads it (experiment.assemble.model_inputs), made once by the
    caller since the batch is the same every epoch."""
    x, lengths = inputs
    y = torch.from_numpy(batch.labels).long().to(x.device)
    rnn = model.rnn
    with eval_mode(model):
        z, rnn_lengths = model.front_input(model.inputs(x), lengths)  # what the RNN reads
        steps = int(z.shape[1] if rnn.batch_first else z.shape[0])
        if rnn_lengths is not None:
            rnn_lengths = check_lengths(rnn_lengths, len(batch), steps)
        unrolled, grads, loss, logits = unrolled_gradients(model, z, y, rnn_lengths)
    live = live_mask(rnn_lengths, len(batch), steps).to(z.device)  # (T, B)
    directions = len(unrolled.states[-1])
    own = int(live[:, 0].sum())  # the traced sequence's real steps
    shown = _thin(own, MAX_STEPS)
    every = _thin(steps, MAX_STEPS)
    # The top layer's outputs are its states at the real steps (zeros at padding, masked).
    states = unrolled.output.transpose(0, 1) if rnn.batch_first else unrolled.output  # (T, B, D·R)
    units = list(range(min(states.shape[2], MAX_UNITS)))
    relu = spec_of(rnn).name == "rnn" and activation_name(rnn) == "relu"
    return EpochSnapshot(
        epoch=epoch,
        sequence_id=str(batch.ids[0]),
        steps=[t + 1 for t in shown],
        units=units,
        hidden=_rounded(states[shown, 0][:, units]),
        probabilities=_rounded(torch.softmax(logits[0], dim=-1)),
        series_steps=[t + 1 for t in every],
        grad_norm=_rounded(_gradient_norms(grads, live, directions)[:, every], 6),
        saturated=_rounded(_saturated(states, live, relu)[every]),
        gates={name: _rounded(share[every])
               for name, share in gate_saturation(model, unrolled.states, z, live).items()},
        loss=round(float(loss), 6),
        sequences=len(batch),
    )


def _rounded(values: Tensor, digits: int = 4) -> Any:
    """A tensor as nested lists of floats, rounded (in one vectorised step) for a small file."""
    scale = 10.0 ** digits
    return (torch.round(values.detach().double().cpu() * scale) / scale).tolist()


def _gradient_norms(grads: tuple[Tensor | None, ...], live: Tensor, directions: int) -> Tensor:
    """‖∂loss/∂h_t‖ (D, T) over the batch's real steps (as tracing.dynamics measures it)."""
    steps = live.shape[0]
    rows = []
    for d in range(directions):
        parts = grads[d * steps:(d + 1) * steps]
        like = next((g for g in parts if g is not None), None)
        if like is None:  # no step of this direction reaches the loss
            rows.append(torch.zeros(steps, device=live.device))
            continue
        stacked = torch.stack([g if g is not None else torch.zeros_like(like) for g in parts])
        rows.append((stacked * live.unsqueeze(2)).flatten(1).norm(dim=1))  # (T,)
    return torch.stack(rows)


def _saturated(states: Tensor, live: Tensor, relu: bool) -> Tensor:
    """Per step, the share of (real sequence, unit) values of `states` (T, B, D·R) pinned:
    |h| > SATURATION, or h = 0 for a ReLU RNN (as tracing.dynamics measures it)."""
    hit = states == 0 if relu else states.abs() > SATURATION
    counted = (hit & live.unsqueeze(2)).sum(dim=(1, 2)).double()
    return counted / (live.sum(dim=1).double() * states.shape[2]).clamp(min=1)


def gate_saturation(
    model: SequenceClassifier, states: list[list[list[Tensor]]], rnn_input: Tensor, live: Tensor
) -> dict[str, Tensor]:
    """Per gate of the top layer, the share of its values pinned at each step (T,), over real
    steps only.

    A gate depends on x_t and h_(t-1) alone (never on c), so every step of the top layer is
    recomputed at once from the unrolled states: one cell_step over (T·B) rows per direction.
    σ gates count as pinned below GATE_PINNED or above 1 − GATE_PINNED, tanh ones beyond
    ±SATURATION. The plain RNN has no gates: {}.
    """
    rnn = model.rnn
    spec = spec_of(rnn)
    if not spec.gated:
        return {}
    layer = rnn.num_layers - 1
    steps, batch = live.shape
    xt = rnn_input.transpose(0, 1) if rnn.batch_first else rnn_input  # (T, B, F)
    if layer > 0:  # the top layer reads the outputs of the layer below, both directions
        xt = torch.cat([torch.stack(d) for d in states[layer - 1]], dim=2)  # (T, B, D·R)
    counts = {g.symbol: torch.zeros(steps, device=live.device) for g in spec.gates}
    for d, per_step in enumerate(states[layer]):
        w = Weights.of(rnn, layer, d)
        # Padding steps hold states nothing uses; zeroed, the backward direction's h_(t+1) at a
        # sequence's last real step is its initial state, 0, as unroll ran it.
        h_all = torch.stack(per_step) * live.to(xt.device).unsqueeze(2)  # (T, B, R)
        zero = torch.zeros_like(h_all[:1])
        # h_(t-1) in the direction's own order: forward reads h_0 first, backward h_(T+1).
        h_prev = torch.cat([zero, h_all[:-1]]) if d == 0 else torch.cat([h_all[1:], zero])
        wx = xt @ w.w_ih.T + w.b_ih  # (T, B, G·H)
        flat_c = torch.zeros(steps * batch, rnn.hidden_size, dtype=wx.dtype, device=wx.device)
        step = cell_step(spec, activation_name(rnn), w, wx.reshape(steps * batch, -1),
                         h_prev.reshape(steps * batch, -1), flat_c)
        mask = live.to(wx.device).unsqueeze(2)  # (T, B, 1)
        for gate in spec.gates:
            values = step.gates[gate.symbol].reshape(steps, batch, -1)  # (T, B, H)
            if gate.activation == "σ":
                pinned = (values < GATE_PINNED) | (values > 1 - GATE_PINNED)
            else:
                pinned = values.abs() > SATURATION
            counts[gate.symbol] += ((pinned & mask).sum(dim=(1, 2)).float()
                                    / (mask.sum(dim=(1, 2)).float() * values.shape[2])
                                    .clamp(min=1))
    directions = len(states[layer])
    return {symbol: count / directions for symbol, count in counts.items()}
