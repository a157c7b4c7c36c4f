"""Occlusion of steps: a model-agnostic check on Integrated Gradients.

Each real step in turn is set to the baseline (all its features at once, Captum's
FeatureAblation with one group per step) and the drop of the target logit is recorded. It
needs no gradient, so it cannot share a gradient's mistakes; the two should rank steps alike.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from rnntrace.attribution.integrated import Attributions
from rnntrace.attribution.scope import (
    attribution_scope,
    batch_first_of,
    device_of,
    forward_batch_first,
    real_steps,
)


def occlude_steps(
    model: nn.Module, x: Tensor, lengths: Tensor | None, found: Attributions
) -> Tensor:
    """f(x) − f(x with step t at the baseline), (B, T), for the targets and baseline of `found`.

    Padding steps are exactly 0: their baseline is the input itself and the model never reads
    them. They are set to 0 rather than taken from the difference, which a batch-size-dependent
    kernel could leave at a rounding error's distance from 0.
    """
    from captum.attr import FeatureAblation

    batch_first = batch_first_of(model)
    device = device_of(model)
    xb = (x if batch_first else x.transpose(0, 1)).detach().to(device).float()  # (B, T, F)
    n, t_max, f = xb.shape
    lens = None if lengths is None else torch.as_tensor(lengths).to(device)
    groups = torch.arange(t_max, device=device).view(1, t_max, 1).expand(n, t_max, f)  # (B, T, F)
    ablation = FeatureAblation(forward_batch_first(model, batch_first))
    with attribution_scope(model), torch.no_grad():
        drops = ablation.attribute(
            xb, baselines=found.baseline.to(device), target=found.target.to(device),
            additional_forward_args=(lens,), feature_mask=groups,
            perturbations_per_eval=min(t_max, 64),
        )  # (B, T, F): every feature of a step holds that step's drop
    per_step = drops[:, :, 0]  # (B, T)
    real = real_steps(lens, n, t_max, device)[:, :, 0]  # (B, T)
    return torch.where(real, per_step, torch.zeros_like(per_step)).cpu()


def rank_agreement(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation (ties get their mean rank); None if undefined."""
    if len(a) != len(b) or len(a) < 3:
        return None
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    for v in np.unique(values):  # ties share their mean rank
        tied = values == v
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks
