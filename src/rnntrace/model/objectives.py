"""The loss and the epoch score of each task, from a model's output and a batch's y.

Every function returns sums, so the training loop can add batches (and ranks) together and
divide once: the loss by the number of terms (sequences, sequences × targets, or real steps),
the score's numerator by its denominator.

    task      out              y             loss term                     score: num / den
    classify  (B, C) logits    (B,) codes    CE per sequence               correct / B
    regress   (B, K) z-scores  (B, K) units  (out − z(y))² per number      Σz(y)² − SSE / Σz(y)²
    steps     (B, T, C)        (B, T) codes  CE per real step              correct / real steps

A regression target is standardised with the training statistics the model holds
(`SequenceClassifier.target_scale`), so MSE weighs a target in cents and one in millions alike
and its scale starts near 1 whatever the units; z(y)² is then the squared distance from the
training mean, which makes the score R² against always predicting that mean.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnntrace.config.task import PADDING_LABEL
from rnntrace.model.classifier import SequenceClassifier


def standardised_target(model: SequenceClassifier, y: Tensor) -> Tensor:
    """A regression target in training z-scores, (B, K)."""
    scale = model.target_scale
    assert scale is not None, "a regression model holds its target's statistics"
    return (y.to(scale.mean.dtype).reshape(len(y), -1) - scale.mean) / scale.std


def _batch_major(model: SequenceClassifier, out: Tensor) -> Tensor:
    """Per-step logits as (B, T, C) whatever the model's layout."""
    return out if model.config.batch_first else out.transpose(0, 1)


def loss_sum(model: SequenceClassifier, out: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(summed loss, number of terms) for one batch."""
    spec = model.config.task_spec
    if spec.numeric:
        z = standardised_target(model, y)  # (B, K)
        return nn.functional.mse_loss(out, z, reduction="sum"), torch.tensor(z.numel())
    if spec.per_step:
        logits = _batch_major(model, out)  # (B, T, C)
        # CrossEntropyLoss takes the classes in dimension 1: (B, C, T) against (B, T).
        total = nn.functional.cross_entropy(
            logits.transpose(1, 2), y, ignore_index=PADDING_LABEL, reduction="sum")
        if model.config.smoothing:
            total = total + model.config.smoothing * smoothing_sum(logits, y)
        return total, (y != PADDING_LABEL).sum()
    return nn.functional.cross_entropy(out, y, reduction="sum"), torch.tensor(len(y))


SMOOTHING_CLAMP = 16.0  # τ² with τ = 4, MS-TCN's threshold


def smoothing_sum(logits: Tensor, y: Tensor) -> Tensor:
    """MS-TCN's smoothing loss (Farha & Gall 2019, eq. 4), summed over pairs of real steps.

    For each step t after the first, the squared change of every label's log-probability from
    step t−1 (held fixed: it pulls t towards t−1, not both towards each other), capped at τ² so
    a true boundary costs a bounded amount, averaged over the labels:

        Δ_t,c = log p_t,c − log p_(t−1),c        loss_t = mean_c min(Δ_t,c², 16)

    A pair counts only when both steps are real: padding is never compared.
    """
    logp = torch.log_softmax(logits, dim=-1)  # (B, T, C)
    change = (logp[:, 1:] - logp[:, :-1].detach()) ** 2  # (B, T−1, C)
    real = (y[:, 1:] != PADDING_LABEL) & (y[:, :-1] != PADDING_LABEL)  # (B, T−1)
    per_pair = change.clamp(max=SMOOTHING_CLAMP).mean(dim=-1)  # (B, T−1)
    return (per_pair * real).sum()


def score_sums(model: SequenceClassifier, out: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(numerator, denominator) of the epoch score for one batch (see the table above)."""
    spec = model.config.task_spec
    if spec.numeric:
        z = standardised_target(model, y)
        spread = (z**2).sum()
        return spread - ((out - z) ** 2).sum(), spread
    if spec.per_step:
        real = y != PADDING_LABEL  # (B, T)
        hits = (_batch_major(model, out).argmax(-1) == y) & real
        return hits.sum(), real.sum()
    return (out.argmax(1) == y).sum(), torch.tensor(len(y))
