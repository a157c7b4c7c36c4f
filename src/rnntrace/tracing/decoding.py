"""An encoder–decoder's decoder, step by step: what each step read, emitted and attended to.

A decoder is the last loop of the pass (a cell, or a fused layer fed one step per call) that
comes after another recurrence (the encoder). Between two of its calls the forward looks its
next input token up in an nn.Embedding and scores the vocabulary with a module (nn.Linear):

    step k:  embedding(token_k) ─► decoder call k ─► out(h_k) = scores_k ─► argmax = emitted_k
    step k+1 reads token_(k+1): emitted_k (its own output) or another token (teacher forcing)

Each step's attention weights over the encoder's T steps, where the model computes them, are
the tensor returned in the step's window whose rows are ≥ 0, sum to 1 and are T wide. All of it
is read from the tensors of the traced pass, for sequence 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnntrace.records import DecoderStep, DecoderTrace
from rnntrace.tracing.capture import Capture, Received

_SUMS_TO_ONE = 1e-4


def decoder_trace(
    seen: Capture, name: str, calls: list[int], encoder_steps: int, batch: int
) -> DecoderTrace | None:
    """The decoder's steps, `calls` the module-call indices of its steps in order."""
    if len(calls) < 2:
        return None
    ends = [*calls[1:], 1 << 62]  # step k's window: from its call to the next step's call
    starts = [-1, *calls[:-1]]  # what step k read was looked up after step k-1's call
    steps: list[DecoderStep] = []
    attention: list[list[float]] = []
    previous_emitted: int | None = None
    for k, call in enumerate(calls):
        token = _token(seen.received, starts[k], call, batch)
        scores = _scores(seen.received, call, ends[k], batch)
        emitted = probability = None
        if scores is not None:
            p = torch.softmax(scores.double(), dim=-1)
            emitted, probability = int(p.argmax()), float(p.max())
        if token is None:
            source = "not an embedded token"
        elif k == 0:
            source = "the first token given"
        elif previous_emitted is None:
            source = "a token (the step before emitted no scores rnntrace could read)"
        elif token == previous_emitted:
            source = "the token it emitted at the step before"
        else:
            source = "another token than it emitted at the step before (teacher forcing)"
        steps.append(DecoderStep(k + 1, token, source, emitted, probability))
        weights = _attention(seen.received, starts[k], ends[k], encoder_steps, batch)
        if weights is not None:
            attention.append(weights)
        previous_emitted = emitted
    return DecoderTrace(
        name=name,
        steps=steps,
        attention=attention if len(attention) == len(steps) else [],
        encoder_steps=encoder_steps,
    )


def _token(received: list[Received], after: int, before: int, batch: int) -> int | None:
    """Sequence 0's token id looked up by the last nn.Embedding call before the step's call."""
    for r in reversed(received):
        if after < r.index < before and r.type == "Embedding" and r.tensors:
            ids = r.tensors[0]
            if not ids.is_floating_point() and ids.numel() == batch:
                return int(ids.reshape(-1)[0])
    return None


def _scores(received: list[Received], after: int, before: int, batch: int) -> Tensor | None:
    """Sequence 0's scores: the first nn.Linear output after the step's call, (V,)."""
    for r in received:
        if after < r.index < before and r.type == "Linear" and r.outputs:
            out = r.outputs[0]
            if out.numel() % batch == 0 and out.numel() // batch > 1:
                return out.reshape(batch, -1)[0]
    return None


def _attention(
    received: list[Received], after: int, before: int, steps: int, batch: int
) -> list[float] | None:
    """Sequence 0's weights over the encoder steps, from the first output that is one."""
    for r in received:
        if not after < r.index < before:
            continue
        for out in r.outputs:
            if (out.is_floating_point() and out.shape[-1] == steps and out.numel() == batch * steps
                    and bool((out >= 0).all())
                    and float((out.sum(-1) - 1).abs().max()) < _SUMS_TO_ONE):
                weights: list[float] = out.reshape(batch, steps)[0].double().tolist()
                return weights
    return None
