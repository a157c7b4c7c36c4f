"""What a baseline hides, and baselines drawn from the data that do not hide it.

Integrated Gradients explains f(input) − f(baseline). The default baseline, the training mean,
is "nothing unusual at any step"; but when the class is set by a level that equals the mean,
the mean *is* a sequence of that class:

    class "low"   window at −a      f(x) − f(mean) large: the window gets the credit
    class "mid"   window at  0      the mean is a "mid" sequence: f(x) − f(mean) ≈ 0, and what
    class "high"  window at +a      little is left goes to noise steps

`baseline_check` says when that happens, from the two predictions alone. `data_attribution`
averages Integrated Gradients over K baselines drawn from the training sequences (expected
gradients, Erion et al. 2021, as Captum's GradientShap estimates it, but with a fixed
Gauss–Legendre path per baseline so that its completeness can be checked): it explains what
the input has that typical sequences lack, which a "mid" sequence has (its flat window) where
"low" and "high" sequences do not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnntrace.attribution.integrated import FLOOR, TOLERANCE, attribute
from rnntrace.attribution.scope import batch_first_of
from rnntrace.data.sequences import SequenceSet
from rnntrace.records.explanation import BaselineCheck, Completeness, DataBaselines, PathJump

CLOSE_SHARE = 0.5  # the baseline keeps at least half of the input's log-odds for the class
N_BASELINES = 16  # baselines drawn per explained sequence
DATA_STEPS = (32, 128)  # per baseline, raised for those whose completeness is not yet within
P_CLIP = 1e-12  # keeps log-odds finite at P = 0 or 1 (margins of ±27.6)


def log_odds(p: float) -> float:
    """log(p / (1 − p)): how strongly a class is scored against all the others together."""
    q = min(max(p, P_CLIP), 1.0 - P_CLIP)
    return math.log(q / (1.0 - q))


def baseline_check(
    p_input: Sequence[float], p_baseline: Sequence[float], target: int, class_name: str
) -> BaselineCheck:
    """Whether the baseline is already taken for the explained class about as the input is."""
    m_x, m_b = log_odds(p_input[target]), log_odds(p_baseline[target])
    predicted = max(range(len(p_baseline)), key=lambda c: p_baseline[c])
    close = predicted == target and m_x > 0 and m_b >= CLOSE_SHARE * m_x
    advice = None
    if close:
        advice = (f"The baseline is itself predicted as {class_name!r} (P = "
                  f"{p_baseline[target]:.3f}, against {p_input[target]:.3f} for the input), so "
                  f"f(x) − f(baseline) leaves little to attribute and this attribution cannot "
                  f"show what makes the sequence {class_name!r}: read the attribution against "
                  f"baselines drawn from the training data (data_baselines) instead")
    return BaselineCheck(p_input=float(p_input[target]), p_baseline=float(p_baseline[target]),
                         margin_input=m_x, margin_baseline=m_b, close=close, advice=advice)


def draw_baselines(
    pool: SequenceSet, length: int, k: int, fill: np.ndarray, seed: int,
    exclude: int | None = None,
) -> np.ndarray:
    """K baselines of `length` steps, (K, T, F), each a training sequence's first steps.

    Sequences at least `length` long are drawn when there are K of them; a shorter one is
    continued by `fill` (the training mean, what the model's standardisation subtracts):

        drawn   b0 b1 b2 b3 b4 b5 b6      (7 steps, cut to the input's 5)
        drawn   b0 b1 b2 m  m             (3 steps, continued by the mean m)
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(len(pool))
    if exclude is not None:
        rows = rows[rows != exclude]  # the sequence itself would attribute f(x) − f(x) = 0
    long_enough = rows[pool.lengths[rows] >= length]
    candidates = long_enough if len(long_enough) >= k else rows
    chosen = rng.choice(candidates, size=k, replace=len(candidates) < k)
    out: np.ndarray = np.broadcast_to(fill.astype(np.float32), (k, length, fill.shape[-1])).copy()
    for row, i in enumerate(chosen):
        values = pool.sequence(int(i))[:length]  # (≤T, F)
        out[row, : len(values)] = values
    return out


def data_attribution(
    model: nn.Module,
    x: Tensor,
    target: int,
    baselines: Tensor,
    source: str,
    *,
    tolerance: float = TOLERANCE,
    steps: Sequence[int] = DATA_STEPS,
) -> DataBaselines:
    """Integrated Gradients of one sequence `x` (T, F), real steps only, averaged over the
    baselines (K, T, F); the mean sums to f(x) − mean_k f(baseline_k), checked as IG's own."""
    k = baselines.shape[0]
    xk = x.unsqueeze(0).expand(k, *x.shape).contiguous()  # (K, T, F)
    base = baselines
    if not batch_first_of(model):
        xk, base = xk.transpose(0, 1), base.transpose(0, 1)  # (T, K, F)
    # Every copy has all T steps real, so no lengths: the model reads them all, as it does the
    # sequence alone.
    found = attribute(model, xk, None, target, baseline=base, tolerance=tolerance, steps=steps)
    values = found.values.double().mean(0)  # (T, F)
    f_x = float(found.logits[0, target])
    f_b = float(found.base_logits[:, target].double().mean())
    total = float(values.sum())
    diff = f_x - f_b
    checks = found.completeness
    jumps = [PathJump(at=j.at, size=j.size / k) for c in checks for j in c.jumps]
    completeness = Completeness(
        f_input=f_x, f_baseline=f_b, attribution_sum=total,
        error=abs(total - diff) / max(abs(diff), FLOOR), tolerance=tolerance,
        n_steps=max(c.n_steps for c in checks),
        tried=sorted({s for c in checks for s in c.tried}), floor=FLOOR,
        pieces=max(c.pieces for c in checks), jumps=jumps,
    )
    p_base = torch.softmax(found.base_logits.double(), dim=-1)[:, target].mean()
    return DataBaselines(
        values=values.tolist(), per_step=values.sum(1).tolist(),
        per_feature=values.sum(0).tolist(), n_baselines=k, baseline=source,
        completeness=completeness, p_baseline=float(p_base),
        holds_each=sum(c.holds for c in checks),
    )


def source_text(k: int, pool_name: str) -> str:
    return (f"{k} sequences drawn from {pool_name} (seeded), each cut to the input's length or "
            "continued by the training mean; Integrated Gradients against each, averaged")
