"""Hidden-state dynamics of a classifier over time: saturated units and ∂loss/∂h_t per step.

PyTorch's fused RNN kernels return only the output and h_n, and the loss reaches the hidden
states through h_n alone, so the gradient with respect to each step's state is not visible from
outside. Here the top layer is unrolled by hand (`equations.unroll`, equal to PyTorch's to
~1e-7), the model's head is applied to the unrolled last state, and autograd gives ∂loss/∂h_t.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import pad_packed_sequence

from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.modes import eval_mode
from rnntrace.records import Dynamics
from rnntrace.tracing.equations import Unrolled, activation_name, cell_name, unroll
from rnntrace.tracing.explain import check_lengths

SATURATION = 0.95  # |tanh| above this passes less than 10 % of the gradient (1 - 0.95² ≈ 0.1)


def hidden_dynamics(
    model: SequenceClassifier, x: Tensor, y: Tensor, lengths: Tensor | None = None
) -> Dynamics:
    """Saturation and gradient norm per step for one batch (x in the model's layout, y labels)."""
    rnn = model.rnn
    cell, act = cell_name(rnn), activation_name(rnn)
    rnn_input = _rnn_input(model, x, lengths)  # what the model really feeds its RNN
    input_lengths = lengths  # in the input's steps, for the model's own forward pass
    if model.front is not None:
        lengths = model.front.lengths(lengths)  # in the front end's steps
    steps = rnn_input.shape[1] if rnn.batch_first else rnn_input.shape[0]
    batch = rnn_input.shape[0] if rnn.batch_first else rnn_input.shape[1]
    if lengths is not None:
        lengths = check_lengths(lengths, batch, steps)

    with eval_mode(model):  # no dropout: the same function whose states we measure
        unrolled, grads, loss, logits = unrolled_gradients(model, rnn_input, y, lengths)
        with torch.no_grad():
            reference = model(x, input_lengths)
    top = unrolled.states[-1]  # direction → step → (B, H)

    live = live_mask(lengths, batch, steps)  # (T, B)
    grad_norm = step_gradient_norms(grads, live, len(top))
    relu = cell == "rnn" and act == "relu"
    saturated = [saturated_share(top, t, live[t], relu) for t in range(steps)]
    return Dynamics(
        cell=cell,
        measure="h = 0 (ReLU)" if relu else f"|h| > {SATURATION}",
        steps=steps,
        saturated=saturated,
        grad_norm=grad_norm,
        loss=float(loss.detach()),
        logits_diff=float((logits - reference).abs().max()),
    )


def unrolled_gradients(
    model: SequenceClassifier, rnn_input: Tensor, y: Tensor, lengths: Tensor | None
) -> tuple[Unrolled, tuple[Tensor | None, ...], Tensor, Tensor]:
    """The recurrent layers unrolled by hand on what they read, the model's summary and head on
    top, and ∂loss/∂h_t of the top layer for every direction and step (direction-major).

    Returns (unrolled, grads, loss, logits); call it with the model in eval mode. `lengths` are
    in the recurrent layer's steps (after any front end).
    """
    with torch.enable_grad():
        unrolled = unroll(model.rnn, rnn_input.detach(), None, lengths)
        # With lengths, unroll stops each sequence at its own last step, as packing does, so
        # the model's own summary rule applies to what it returns.
        state = unrolled.h_n if unrolled.c_n is None else (unrolled.h_n, unrolled.c_n)
        last = model.summarize(unrolled.output, state, lengths)  # (B, D·H)
        logits = model.head(last)  # (B, C)
        loss = F.cross_entropy(logits, y)
        flat = [h for direction in unrolled.states[-1] for h in direction]
        grads = torch.autograd.grad(loss, flat, allow_unused=True)
    return unrolled, grads, loss.detach(), logits.detach()


def _rnn_input(model: SequenceClassifier, x: Tensor, lengths: Tensor | None) -> Tensor:
    """The padded tensor the model's RNN receives, caught by a hook (after any preprocessing)."""
    seen: list[Tensor] = []

    def grab(_m: Any, args: tuple[Any, ...]) -> None:
        first = args[0]
        if isinstance(first, Tensor):
            seen.append(first.detach())
        else:  # a PackedSequence: unpack it back to the padded layout
            padded, _ = pad_packed_sequence(
                first, batch_first=model.rnn.batch_first,
                total_length=_steps(model, x) if model.front is None else None,
            )
            seen.append(padded.detach())

    handle = model.rnn.register_forward_pre_hook(grab)
    try:
        with eval_mode(model), torch.no_grad():
            model(x, lengths)
    finally:
        handle.remove()
    return seen[0]


def _steps(model: SequenceClassifier, x: Tensor) -> int:
    return int(x.shape[1] if model.rnn.batch_first else x.shape[0])


def step_gradient_norms(
    grads: tuple[Tensor | None, ...], live: Tensor, directions: int
) -> list[list[float]]:
    """‖∂loss/∂h_t‖ per direction and step (D, T) from unrolled_gradients' grads, over the
    batch's real steps only (`live` (T, B)); padded positions receive no gradient anyway."""
    steps = live.shape[0]
    norms = []
    for d in range(directions):
        per_step = []
        for t in range(steps):
            g = grads[d * steps + t]  # (B, H)
            if g is None:  # a step the loss cannot reach
                per_step.append(0.0)
                continue
            per_step.append(float((g * live[t].to(g.device).unsqueeze(1)).norm()))
        norms.append(per_step)
    return norms


def live_mask(lengths: Tensor | None, batch: int, steps: int) -> Tensor:
    if lengths is None:
        return torch.ones(steps, batch, dtype=torch.bool)
    return torch.arange(steps).view(-1, 1) < lengths.view(1, -1).cpu()  # (T, B)


def saturated_share(top: list[list[Tensor]], t: int, live: Tensor, relu: bool) -> float:
    """Share of (sequence, unit) pairs at step t that are saturated, over real sequences only."""
    states = torch.cat([direction[t].detach().cpu() for direction in top], dim=1)  # (B, D·H)
    states = states[live]
    if states.numel() == 0:
        return 0.0
    hit = states == 0 if relu else states.abs() > SATURATION
    return float(hit.float().mean())
