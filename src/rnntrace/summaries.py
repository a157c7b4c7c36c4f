"""Sequence summaries: how the recurrent layer's outputs become one vector per sequence.

Every summary reads only each sequence's real steps, so a padded batch gives what each sequence
gives alone:

    seq 0  o0 o1 o2 o3 o4   lengths[0]=5   last → o4   mean → Σ o_t / 5   max → max_t o_t
    seq 1  o0 o1 o2 ·  ·    lengths[1]=3   last → o2   mean → Σ o_t / 3   (· never read)

`output` is (B, T, D·H) batch first everywhere in this module; for a bidirectional layer it must
come from a packed run, or the backward direction would start in the padding.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnntrace.config import SUMMARIES

__all__ = ["SUMMARIES", "AttentionPool", "describe", "masked_max", "masked_mean", "summarize"]
_NEG = float("-inf")


def step_mask(lengths: Tensor | None, batch: int, steps: int, device: torch.device) -> Tensor:
    """(B, T) True on each sequence's real steps."""
    if lengths is None:
        return torch.ones(batch, steps, dtype=torch.bool, device=device)
    return torch.arange(steps, device=device).view(1, -1) < lengths.to(device).view(-1, 1)


def masked_mean(output: Tensor, mask: Tensor) -> Tensor:
    """Mean over the real steps, (B, D·H)."""
    m = mask.unsqueeze(2).to(output.dtype)  # (B, T, 1)
    return (output * m).sum(1) / m.sum(1)  # (B, D·H)


def masked_max(output: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Each unit's largest value over the real steps and the step it came from, (B, D·H) each."""
    filled = output.masked_fill(~mask.unsqueeze(2), _NEG)  # (B, T, D·H)
    best = filled.max(1)
    return best.values, best.indices


class AttentionPool(nn.Module):
    """A learned weighting of the real steps: w = softmax_t(v·o_t + b), summary = Σ_t w_t·o_t."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.score = nn.Linear(size, 1)

    def weights(self, output: Tensor, mask: Tensor) -> Tensor:
        """(B, T) weights, zero on padding, each row summing to 1."""
        scores = self.score(output).squeeze(2)  # (B, T)
        return torch.softmax(scores.masked_fill(~mask, _NEG), dim=1)

    def forward(self, output: Tensor, mask: Tensor) -> Tensor:
        w = self.weights(output, mask)  # (B, T)
        return torch.bmm(w.unsqueeze(1), output).squeeze(1)  # (B, D·H)


def last_real_step(output: Tensor, lengths: Tensor) -> Tensor:
    """Each sequence's output at its own last real step, (B, D·H), from a batch-first output."""
    index = (lengths.to(output.device) - 1).view(-1, 1, 1).expand(-1, 1, output.size(2))
    return output.gather(1, index).squeeze(1)


def summarize(
    kind: str,
    output: Tensor,
    lengths: Tensor | None,
    attention: AttentionPool | None = None,
) -> Tensor:
    """The summary `kind` (mean, max or attention) of a batch-first output, (B, D·H).

    `last` is not computed here: for a bidirectional layer it needs h_n (the backward
    direction's state at step 0), which the model takes from the layer itself.
    """
    mask = step_mask(lengths, output.size(0), output.size(1), output.device)  # (B, T)
    if kind == "mean":
        return masked_mean(output, mask)
    if kind == "max":
        return masked_max(output, mask)[0]
    if kind == "attention":
        if attention is None:
            raise ValueError("the attention summary needs its AttentionPool")
        return attention(output, mask)  # type: ignore[no-any-return]
    raise ValueError(f"summarize() computes mean, max or attention, not {kind!r}")


def describe(kind: str, bidirectional: bool) -> str:
    """One sentence on what the summary takes from the outputs, for the data flow."""
    both = " (both directions' outputs side by side)" if bidirectional else ""
    return {
        "mean": f"the mean of each unit's output over the sequence's real steps{both}",
        "max": f"each unit's largest output over the sequence's real steps{both}; the trace "
               "names the step each value came from",
        "attention": f"a learned weighting of the real steps: w_t = softmax_t(v·o_t + b), "
                     f"summary = Σ w_t·o_t{both}; the trace shows every step's weight",
    }[kind]
