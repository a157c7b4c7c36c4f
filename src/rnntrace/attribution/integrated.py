"""Integrated Gradients over every (step, feature) of a batch, with its completeness check.

The model is called through its own forward, `model(x, lengths)`, so padded batches (a
unidirectional layer gathers each sequence's last real step) and packed ones (a bidirectional
layer packs inside forward) are attributed exactly as they are classified:

    seq 0  x0 x1 x2 x3 x4    length 5
    seq 1  x0 x1 x2 ·  ·     length 3: the two padding steps are never read, and the baseline
                             there equals the input, so (x − baseline) = 0 and so is their share

The baseline is the training mean of each feature, i.e. zeros after the model's own
standardisation ("nothing unusual at this step"); IG attributes f(x) − f(baseline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnntrace.attribution.scope import (
    attribution_scope,
    batch_first_of,
    device_of,
    forward_batch_first,
    real_steps,
)
from rnntrace.attribution.segmented import integrate
from rnntrace.errors import ConfigError
from rnntrace.records.explanation import Completeness, PathJump

STEPS = (32, 128)  # uniform integration steps, raised until completeness holds; then pieces
TOLERANCE = 0.01  # 1 % of |f(x) − f(baseline)|
FLOOR = 0.01  # below this |f(x) − f(baseline)|, the error is taken relative to FLOOR
BASELINE_MEAN = (
    "the training mean of each feature at every real step (zeros after standardisation); "
    "padding steps keep their own values, so they get exactly 0"
)
BASELINE_ZEROS = "zeros at every real step; padding steps keep their own values (exactly 0)"


@dataclass
class Attributions:
    """Integrated Gradients for a batch: tensors for the caller, one completeness per sequence."""

    values: Tensor  # (B, T, F) batch first, on the CPU; exactly 0 on padding
    baseline: Tensor  # (B, T, F) the baseline used
    target: Tensor  # (B,) the class explained
    logits: Tensor  # (B, C) the model's logits for the input
    completeness: list[Completeness]
    baseline_text: str

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.completeness)


def default_baseline(model: nn.Module, x: Tensor) -> tuple[Tensor, str]:
    """The training mean (what the model's standardisation subtracts), else zeros: (B, T, F)."""
    standardize = getattr(model, "standardize", None)
    mean = getattr(standardize, "mean", None)
    if isinstance(mean, Tensor) and mean.shape == (x.shape[-1],):
        return mean.detach().to(x.dtype).expand_as(x).clone(), BASELINE_MEAN
    return torch.zeros_like(x), BASELINE_ZEROS


def attribute(
    model: nn.Module,
    x: Tensor,
    lengths: Tensor | None = None,
    target: int | Sequence[int] | Tensor | None = None,
    *,
    baseline: Tensor | None = None,
    tolerance: float = TOLERANCE,
    steps: Sequence[int] = STEPS,
) -> Attributions:
    """Integrated Gradients of the `target` logit (default: the predicted class) for each input.

    `x` is laid out as the model reads it ((B, T, F) for batch_first, else (T, B, F));
    `lengths` (B,) marks real steps. The step count is raised through `steps`, for the
    sequences whose completeness error is not yet within `tolerance` only; the last try is
    kept either way and each sequence's `Completeness` says whether it held.
    """
    from captum.attr import IntegratedGradients

    if x.dim() != 3:
        raise ConfigError(f"attribute needs a batch of sequences (3-D input), got {x.dim()}-D")
    batch_first = batch_first_of(model)
    device = device_of(model)
    xb = (x if batch_first else x.transpose(0, 1)).detach().to(device).float()  # (B, T, F)
    n, t_max, _ = xb.shape
    lens = None if lengths is None else torch.as_tensor(lengths).to(device)
    real = real_steps(lens, n, t_max, device)  # (B, T, 1)
    if baseline is None:
        base, text = default_baseline(model, xb)
    else:
        base = (baseline if batch_first else baseline.transpose(0, 1)).to(device).float()
        base, text = base.expand_as(xb).clone(), "the baseline given"
    base = torch.where(real, base, xb)  # padding: baseline = input, so its attribution is 0
    forward = forward_batch_first(model, batch_first)
    with attribution_scope(model):
        with torch.no_grad():
            logits = forward(xb, lens)  # (B, C)
            base_logits = forward(base, lens)  # (B, C)
        goal = _targets(target, logits)  # (B,)
        rows = torch.arange(n, device=device)
        f_x, f_b = logits[rows, goal], base_logits[rows, goal]  # (B,)
        ig = IntegratedGradients(forward)
        values = torch.zeros_like(xb)  # (B, T, F)
        checks: list[Completeness | None] = [None] * n
        pending = torch.arange(n, device=device)  # sequences whose check has not held yet
        tried: list[int] = []
        for n_steps in steps:
            tried.append(int(n_steps))
            part = ig.attribute(
                xb[pending], baselines=base[pending], target=goal[pending],
                additional_forward_args=(None if lens is None else lens[pending],),
                n_steps=int(n_steps), method="gausslegendre",
            )  # (P, T, F)
            part = torch.where(real[pending], part, torch.zeros_like(part))
            values[pending] = part
            found = _completeness(part, f_x[pending], f_b[pending], tolerance, tried)
            for row, check in zip(pending.tolist(), found, strict=True):
                checks[row] = check
            # Sequences are independent in eval mode: only those still off get more steps.
            keep = [i for i, check in enumerate(found) if not check.holds]
            if not keep:
                break
            pending = pending[torch.tensor(keep, device=device)]
        else:
            # A fixed rule did not hold: the score jumps somewhere along the path.
            for row in pending.tolist():
                scale = max(abs(float(f_x[row] - f_b[row])), FLOOR)
                one = integrate(
                    ig, forward, xb[row : row + 1], base[row : row + 1], int(goal[row]),
                    None if lens is None else lens[row : row + 1], tolerance * scale,
                )
                values[row] = torch.where(real[row], one.values, torch.zeros_like(one.values))
                checks[row] = _completeness(
                    values[row : row + 1], f_x[row : row + 1], f_b[row : row + 1], tolerance,
                    tried, pieces=one.pieces, evaluations=one.evaluations,
                )[0]
                checks[row].jumps = [PathJump(at=round(at, 7), size=size)
                                     for at, size in one.jumps]
    return Attributions(
        values=values.detach().cpu(), baseline=base.detach().cpu(), target=goal.cpu(),
        logits=logits.detach().cpu(), completeness=[c for c in checks if c is not None],
        baseline_text=text,
    )


def _targets(target: int | Sequence[int] | Tensor | None, logits: Tensor) -> Tensor:
    n, c = logits.shape
    if target is None:
        return logits.argmax(1)
    goal = torch.as_tensor(target, device=logits.device).long().reshape(-1)
    if goal.numel() == 1:
        goal = goal.expand(n)
    if goal.numel() != n:
        raise ConfigError(f"target names {goal.numel()} classes for a batch of {n} sequences")
    if int(goal.min()) < 0 or int(goal.max()) >= c:
        raise ConfigError(f"target class must lie in 0..{c - 1}, got {goal.tolist()}")
    return goal


def _completeness(
    values: Tensor, f_x: Tensor, f_b: Tensor, tolerance: float, tried: list[int],
    *, pieces: int = 1, evaluations: int | None = None,
) -> list[Completeness]:
    sums = values.double().sum(dim=(1, 2))  # (B,)
    diff = (f_x - f_b).double()  # (B,)
    error = (sums - diff).abs() / diff.abs().clamp(min=FLOOR)  # (B,)
    return [
        Completeness(
            f_input=float(f_x[i]), f_baseline=float(f_b[i]), attribution_sum=float(sums[i]),
            error=float(error[i]), tolerance=tolerance,
            n_steps=tried[-1] if evaluations is None else evaluations, tried=list(tried),
            floor=FLOOR, pieces=pieces,
        )
        for i in range(len(sums))
    ]
