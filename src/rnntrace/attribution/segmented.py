"""Integrated Gradients by adaptive quadrature, for paths where the score jumps.

A trained recurrent network can switch its decision within a sliver of the straight path from
the baseline to the input: on BasicMotions a tanh RNN's logit moves by 3.4 within 1/4000 of the
path and is flat elsewhere. A fixed rule with 512 points steps over that sliver, and the
attributions then miss most of f(x) − f(baseline). IG is additive along the path, so the
integral can be taken piece by piece, each piece being IG from γ(a) to γ(b):

    γ(α) = baseline + α (x − baseline)
    IG(x) = Σ_k IG over [a_k, b_k]          (each piece: Captum, baseline γ(a_k), input γ(b_k))

Each piece carries its own completeness error |Σ IG_k − (f(γ(b_k)) − f(γ(a_k)))|, and the
overall error is at most their sum. The pieces with the largest errors are halved until the
whole holds within the tolerance, a budget of gradient evaluations runs out, or a piece is too
narrow to halve in float32. A piece that narrow which still misses its rise is a *jump*: the
recurrent state flips between two stable states over a stretch of the path below what floating
point resolves (the BasicMotions switch above is under 1e-16 wide even in float64), so no
gradient can see it. Jumps are returned with their place and size; the check then says that it
does not hold, and how much of the difference the jumps account for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

PIECES = 16  # the first split of the path
NODES = 8  # Gauss-Legendre points per piece
BUDGET = 16384  # gradient evaluations one sequence may cost (the worst seen on real sets: 5776)
NARROWEST = 1e-6  # pieces this narrow are not halved again (float32 resolves α to ~1e-7)
NOISE = 1e-4  # relative size of a score's float32 error over a long recurrence


@dataclass
class Segmented:
    values: Tensor  # (T, F) the summed attributions of one sequence
    pieces: int
    evaluations: int  # gradient evaluations spent, over every round
    jumps: list[tuple[float, float]]  # (α, what the gradients missed there) for each jump


def integrate(
    ig: object,
    forward: Callable[[Tensor, Tensor | None], Tensor],
    x: Tensor,
    baseline: Tensor,
    target: int,
    lengths: Tensor | None,
    allowed: float,
) -> Segmented:
    """IG of one sequence `x` (1, T, F) by adaptive pieces, until the error is at most `allowed`.

    `ig` is a captum IntegratedGradients over `forward`; `lengths` is (1,) or None.
    """
    direction = x - baseline  # (1, T, F)

    def at(alpha: Tensor) -> Tensor:  # (K,) → (K, T, F) points on the path
        alpha = alpha.view(-1, 1, 1).to(x)
        return torch.where(alpha == 1, x, baseline + alpha * direction)  # the end is x itself

    def scores(alpha: Tensor) -> Tensor:  # (K,) → (K,) the target's score on the path
        with torch.no_grad():
            return forward(at(alpha), _repeat(lengths, len(alpha)))[:, target].double()

    def pieces_ig(a: Tensor, b: Tensor) -> Tensor:  # (K,), (K,) → (K, T, F)
        found: Tensor = ig.attribute(  # type: ignore[attr-defined]
            at(b), baselines=at(a), target=target,
            additional_forward_args=(_repeat(lengths, len(a)),),
            n_steps=NODES, method="gausslegendre",
        )
        return found.detach()

    edges = torch.linspace(0.0, 1.0, PIECES + 1, dtype=torch.float64)
    f = scores(edges)
    a, b, f_a, f_b = edges[:-1], edges[1:], f[:-1], f[1:]  # (K,) each piece's ends and scores
    parts = pieces_ig(a, b)  # (K, T, F)
    evaluations = PIECES * NODES
    while True:
        misses = parts.double().sum(dim=(1, 2)) - (f_b - f_a)  # (K,) signed, per piece
        if abs(float(misses.sum())) <= allowed:
            break
        # Halve the worst pieces until what is left unhalved could hold on its own.
        wide = (b - a) > NARROWEST
        left, split = float(misses[wide].abs().sum()), []
        for k in torch.argsort(misses.abs(), descending=True).tolist():
            if left <= allowed / 2:
                break
            if wide[k]:
                split.append(k)
                left -= float(misses[k].abs())
        if not split or evaluations + 2 * len(split) * NODES > BUDGET:
            break
        chosen = torch.tensor(split)
        mid = (a[chosen] + b[chosen]) / 2  # (S,)
        f_mid = scores(mid)
        keep = torch.ones(len(a), dtype=torch.bool)
        keep[chosen] = False
        new_a, new_b = torch.cat([a[chosen], mid]), torch.cat([mid, b[chosen]])
        parts = torch.cat([parts[keep], pieces_ig(new_a, new_b)])
        evaluations += 2 * len(split) * NODES
        a, b = torch.cat([a[keep], new_a]), torch.cat([b[keep], new_b])
        f_a = torch.cat([f_a[keep], f_a[chosen], f_mid])
        f_b = torch.cat([f_b[keep], f_mid, f_b[chosen]])
    misses = parts.double().sum(dim=(1, 2)) - (f_b - f_a)
    # A jump must stand out of float32's own noise in the scores, however tight the tolerance.
    least = max(allowed / 4, NOISE * (1.0 + float(f.abs().max())))
    jumps: list[tuple[float, float]] = []
    end = -1.0
    for k in torch.argsort(a).tolist():
        if float(b[k] - a[k]) <= NARROWEST and abs(float(misses[k])) > least:
            if jumps and float(a[k]) == end:  # one switch cornered in two touching pieces
                jumps[-1] = (jumps[-1][0], jumps[-1][1] - float(misses[k]))
            else:
                jumps.append((float(a[k]), -float(misses[k])))
            end = float(b[k])
    return Segmented(values=parts.sum(0), pieces=len(a), evaluations=evaluations, jumps=jumps)


def _repeat(lengths: Tensor | None, k: int) -> Tensor | None:
    return None if lengths is None else lengths.reshape(1).expand(k).contiguous()
