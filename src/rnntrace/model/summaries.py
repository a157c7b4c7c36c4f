"""Sequence summaries: how the recurrent layer's outputs become one vector per sequence.

Every summary reads only each sequence's real steps, so a padded batch gives what each sequence
gives alone:

    seq 0  o0 o1 o2 o3 o4   lengths[0]=5   last → o4   mean → Σ o_t / 5   max → max_t o_t
    seq 1  o0 o1 o2 ·  ·    lengths[1]=3   last → o2   mean → Σ o_t / 3   (· never read)

`summarize` takes what a run of the recurrent layers returned (output in the model's layout,
and the state) and applies the configured rule; the helpers below it take `output` batch first,
(B, T, D·H). For a bidirectional layer on a padded batch the run must be packed (or
`equations.unroll` with lengths), or the backward direction would start in the padding.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnntrace.config.settings import SUMMARIES, ModelConfig

__all__ = ["SUMMARIES", "AttentionPool", "describe", "gather_last_step", "hidden_of",
           "last_hidden_from_h_n", "masked_max", "masked_mean", "summarize"]
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
    """A learned weighting of the real steps: w = softmax_t(v·o_t), summary = Σ_t w_t·o_t.

    The score has no bias: it would add the same to every step's score, which softmax ignores,
    so its gradient is zero up to rounding and Adam would scale that into steps of full size.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.score = nn.Linear(size, 1, bias=False)

    def weights(self, output: Tensor, mask: Tensor) -> Tensor:
        """(B, T) weights, zero on padding, each row summing to 1."""
        scores = self.score(output).squeeze(2)  # (B, T)
        return torch.softmax(scores.masked_fill(~mask, _NEG), dim=1)

    def forward(self, output: Tensor, mask: Tensor) -> Tensor:
        w = self.weights(output, mask)  # (B, T)
        return torch.bmm(w.unsqueeze(1), output).squeeze(1)  # (B, D·H)


def hidden_of(state: Tensor | tuple[Tensor, Tensor]) -> Tensor:
    """h_n from what a recurrent layer returns as its state: LSTM gives (h_n, c_n)."""
    return state[0] if isinstance(state, tuple) else state


def last_hidden_from_h_n(h_n: Tensor, bidirectional: bool) -> Tensor:
    """The top layer's final state (B, D·H) from h_n (L, B, H).

    h_n holds each direction's state after reading the whole sequence. For the backward direction
    that is its state at step 0, which is why `output[:, -1]` is wrong for a bidirectional layer:

        forward  →→→→→ h_n[-2]   (summary at the last step)
        backward h_n[-1] ←←←←←   (summary at step 0)
    """
    if bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=1)  # (B, 2H)
    return h_n[-1]  # (B, H)


def gather_last_step(output: Tensor, lengths: Tensor, batch_first: bool) -> Tensor:
    """Each sequence's output at its own last real step, (B, H), from a padded output.

    For a padded batch the last column is padding for every shorter sequence:

        seq 0  o0 o1 o2 o3 o4   lengths[0]=5 → o4
        seq 1  o0 o1 o2 ·  ·    lengths[1]=3 → o2   (output[:, -1] would be a padding step)

    Exact for a unidirectional layer: its output at step t depends only on steps ≤ t.
    """
    if not batch_first:
        output = output.transpose(0, 1)  # (B, T, H)
    index = (lengths.to(output.device) - 1).view(-1, 1, 1).expand(-1, 1, output.size(2))
    return output.gather(1, index).squeeze(1)  # (B, H)


def summarize(
    config: ModelConfig,
    output: Tensor,
    state: Tensor | tuple[Tensor, Tensor],
    lengths: Tensor | None = None,
    attention: AttentionPool | None = None,
) -> Tensor:
    """The configured summary (B, D·H) of one run of the recurrent layers.

    `last` reads h_n (the backward direction's state at step 0 is only there), or for a padded
    unidirectional batch the output at each sequence's last real step; mean, max and attention
    read every real step of `output`.
    """
    kind = config.summary
    if kind == "last":
        if lengths is not None and not config.bidirectional:
            # A padded run plus a gather is exact here and much faster than packing on CPU.
            return gather_last_step(output, lengths, config.batch_first)
        # h_n of a packed run is already ordered like the input batch.
        return last_hidden_from_h_n(hidden_of(state), config.bidirectional)
    if not config.batch_first:
        output = output.transpose(0, 1)  # (B, T, D·H)
    mask = step_mask(lengths, output.size(0), output.size(1), output.device)  # (B, T)
    if kind == "mean":
        return masked_mean(output, mask)
    if kind == "max":
        return masked_max(output, mask)[0]
    if attention is None:
        raise ValueError("the attention summary needs its AttentionPool")
    return attention(output, mask)  # type: ignore[no-any-return]


def describe(kind: str, bidirectional: bool) -> str:
    """One sentence on what the summary takes from the outputs, for the data flow."""
    both = " (both directions' outputs side by side)" if bidirectional else ""
    return {
        "mean": f"the mean of each unit's output over the sequence's real steps{both}",
        "max": f"each unit's largest output over the sequence's real steps{both}; the trace "
               "names the step each value came from",
        "attention": f"a learned weighting of the real steps: w_t = softmax_t(v·o_t), "
                     f"summary = Σ w_t·o_t{both}; the trace shows every step's weight",
    }[kind]
