"""Saturation and ‖∂loss/∂h_t‖ per step of a user's model's top recurrence, through its head.

The loss is the head's (`heads.Head.loss`: cross-entropy on scores, NLL on probabilities given
as such, binary on one logit), against the labels when given, else the model's own choices.

A fused layer hides its per-step states from autograd, so a forward hook swaps in the same
layer unrolled by hand (`equations.unroll`, equal to PyTorch's to ~1e-7) for this one pass. A
loop's per-step states are real tensors of the pass already: the hook only keeps them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnntrace.records import Dynamics
from rnntrace.tracing.capture import RnnCall
from rnntrace.tracing.dynamics import SATURATION, saturated_share
from rnntrace.tracing.equations import activation_name, cell_name, unroll
from rnntrace.tracing.heads import Head
from rnntrace.tracing.loops import Loop


def layer_dynamics(
    model: nn.Module, call: RnnCall, inputs: tuple[Any, ...], kwargs: dict[str, Any],
    head: Head, labels: Tensor | None, reference: Tensor, replay: Any,
) -> Dynamics | None:
    """The dynamics of one fused call (the whole sequence in one call), over the batch."""
    rnn = call.rnn
    if not call.batched:
        return None
    kept: list[Any] = []

    def swap(_m: nn.Module, _args: Any, _kw: Any, result: Any) -> Any:
        if kept:  # a layer called twice: only the call traced is unrolled
            return result
        unrolled = unroll(rnn, call.x, call.hx, call.lengths)
        kept.append(unrolled)
        output: Any = unrolled.output
        if call.packed and call.lengths is not None:
            output = pack_padded_sequence(
                output, call.lengths.cpu(), batch_first=rnn.batch_first, enforce_sorted=False
            )
        state = unrolled.h_n if unrolled.c_n is None else (unrolled.h_n, unrolled.c_n)
        return output, state

    handle = rnn.register_forward_hook(swap, with_kwargs=True)
    try:
        replay()
        with torch.enable_grad():
            result = model(*inputs, **kwargs)
            loss = head.loss(result, labels)
            top = kept[0].states[-1]  # direction → step → (B, R)
            grads = torch.autograd.grad(loss, [h for d in top for h in d], allow_unused=True)
    finally:
        handle.remove()
    steps, batch = call.steps, call.batch
    live = torch.ones(steps, batch, dtype=torch.bool)
    if call.lengths is not None:
        live = torch.arange(steps).view(-1, 1) < call.lengths.view(1, -1).cpu()  # (T, B)
    grad_norm = [
        [_norm(g, live[t]) for t, g in enumerate(grads[d * steps : (d + 1) * steps])]
        for d in range(len(top))
    ]
    relu = cell_name(rnn) == "rnn" and activation_name(rnn) == "relu"
    return Dynamics(
        cell=cell_name(rnn),
        measure="h = 0 (ReLU)" if relu else f"|h| > {SATURATION}",
        steps=steps,
        saturated=[saturated_share(top, t, live[t], relu) for t in range(steps)],
        grad_norm=grad_norm,
        loss=float(loss.detach()),
        # the pass through the unrolled layer vs the model's own scores: checks the swap
        logits_diff=_diff(head.arranged(result), reference),
    )


def loop_dynamics(
    model: nn.Module, loop: Loop, inputs: tuple[Any, ...], kwargs: dict[str, Any],
    head: Head, labels: Tensor | None, reference: Tensor, replay: Any,
) -> Dynamics | None:
    """The dynamics of a loop: ∂loss/∂h_t for the h_t each call returned, over the batch."""
    kept: list[Any] = []
    handle = loop.module.register_forward_hook(lambda _m, _a, result: kept.append(result))
    try:
        replay()
        with torch.enable_grad():
            result = model(*inputs, **kwargs)
            loss = head.loss(result, labels)
            if len(kept) != loop.steps or not loss.requires_grad:
                return None  # another path than the traced pass, or nothing to differentiate
            states = [_returned_states(r, loop.fused) for r in kept]
            if len({tuple(pair[0].shape) for pair in states}) > 1:
                return None  # a batch that shrinks as sequences end: no one (T, B) grid
            flat = [t for pair in states for t in pair]
            grads = torch.autograd.grad(loss, flat, allow_unused=True)
    finally:
        handle.remove()
    per_step: list[float] = []
    tops: list[Tensor] = []
    i = 0
    for pair in states:
        grads_of = grads[i : i + len(pair)]
        i += len(pair)
        total = sum(
            (_top(g if g is not None else torch.zeros_like(t), k, loop.module)
             for k, (t, g) in enumerate(zip(pair, grads_of, strict=True))),
            start=torch.zeros(()),
        )
        per_step.append(float(total.norm()))
        tops.append(_top(pair[0], 0, loop.module).detach())
    module = loop.module
    relu = cell_name(module) == "rnn" and activation_name(module) == "relu"
    live = torch.ones(loop.batch, dtype=torch.bool)
    top = [[t.reshape(loop.batch, -1).cpu() for t in tops]]
    return Dynamics(
        cell=cell_name(module),
        measure="h = 0 (ReLU)" if relu else f"|h| > {SATURATION}",
        steps=loop.steps,
        saturated=[saturated_share(top, t, live, relu) for t in range(loop.steps)],
        grad_norm=[per_step],
        loss=float(loss.detach()),
        logits_diff=_diff(head.arranged(result), reference),
    )


def _returned_states(result: Any, fused: bool) -> list[Tensor]:
    """The tensors through which a call's h_t reaches the rest of the pass.

    A cell returns h (or (h, c): h is the state the loss reads through the next steps and the
    head). A fused layer returns output and h_n, two tensors with the same values that the model
    may use either way; the gradient of h_t is the sum over both.
    """
    if fused:
        output, state = result
        h_n = state[0] if isinstance(state, tuple) else state
        return [output, h_n]
    return [result[0] if isinstance(result, tuple | list) else result]


def _top(t: Tensor, kind: int, module: nn.Module) -> Tensor:
    """A returned tensor (or its gradient) as the h_t of the top layer, (B, D·R).

    kind 0: a cell's h, or a fused layer's output ((B, 1, D·R), (1, B, D·R), or (1, D·R)
    unbatched); kind 1: a fused layer's h_n, (L·D, B, R) or (L·D, R), whose last D rows are the
    top layer's directions.
    """
    if not isinstance(module, nn.RNNBase):
        return t if t.dim() == 2 else t.unsqueeze(0)
    if kind == 0:
        if t.dim() == 2:
            return t  # (1, D·R)
        return t[:, 0] if module.batch_first else t[0]
    d = 2 if module.bidirectional else 1
    top = torch.cat(list(t[-d:]), dim=-1)  # (B, D·R) or (D·R,)
    return top if top.dim() == 2 else top.unsqueeze(0)


def _norm(g: Tensor | None, live: Tensor) -> float:
    if g is None:
        return 0.0
    return float((g * live.to(g.device).unsqueeze(1)).norm())


def _diff(a: Tensor, b: Tensor) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float((a.detach().double() - b.double()).abs().max()) if a.numel() else 0.0
