"""Integrated Gradients where the score rises steeply or jumps along the path.

The model is a linear score plus a sigmoid switch across a hyperplane, whose Integrated
Gradients have a closed form for any steepness k (s(α) = w·γ(α) is linear in α):

    f(z) = v·z + Δ σ(k (w·z − c))
    IG_i = d_i v_i + d_i w_i Δ [σ(k (s_x − c)) − σ(k (s_b − c))] / (s_x − s_b),   d = x − b
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from rnntrace.attribution.integrated import attribute
from rnntrace.render.explain_text import completeness_line

RISE = 3.0  # Δ
CUT = 0.4  # c


class _Switch(nn.Module):
    def __init__(self, steepness: float) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.register_buffer("v", torch.randn(6, 2) * 0.1)  # (T, F)
        self.register_buffer("w", torch.randn(6, 2))
        self.k = steepness
        self.v: Tensor
        self.w: Tensor

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        s = (x * self.w).sum(dim=(1, 2))  # (B,)
        score = (x * self.v).sum(dim=(1, 2)) + RISE * torch.sigmoid(self.k * (s - CUT))
        return torch.stack([score, torch.zeros_like(score)], dim=1)  # (B, 2)


def _input(model: _Switch) -> Tensor:
    torch.manual_seed(6)
    x = torch.randn(1, 6, 2)
    s = float((x * model.w).sum())
    return x * (1.0 / s)  # s_x = 1, so the switch at s = 0.4 lies at α = 0.4 from zeros


def _closed_form(model: _Switch, x: Tensor) -> Tensor:
    s_x = float((x * model.w).sum())
    sig = torch.sigmoid(torch.tensor([model.k * (s_x - CUT), model.k * (0.0 - CUT)],
                                     dtype=torch.float64))
    step = RISE * float(sig[0] - sig[1]) / s_x
    return (x * model.v + x * model.w * step).detach()[0]  # (T, F)


def test_a_steep_switch_is_integrated_piece_by_piece_to_the_closed_form() -> None:
    model = _Switch(steepness=2e4)  # the switch spans ~1/20000 of the path
    x = _input(model)
    found = attribute(model, x, target=0, baseline=torch.zeros_like(x))
    c = found.completeness[0]
    assert c.tried == [32, 128] and c.pieces > 1  # one fixed rule could not hold
    assert c.holds and not c.jumps
    torch.testing.assert_close(found.values[0].double(), _closed_form(model, x).double(),
                               atol=2e-3, rtol=2e-3)
    assert "pieces of the path" in completeness_line(c)


def test_a_switch_narrower_than_float32_is_named_as_a_jump() -> None:
    model = _Switch(steepness=1e12)  # a step: no float32 point lies inside the rise
    x = _input(model)
    found = attribute(model, x, target=0, baseline=torch.zeros_like(x))
    c = found.completeness[0]
    assert not c.holds  # gradients miss the rise of 3: honestly reported
    assert len(c.jumps) == 1
    assert c.jumps[0].at == pytest.approx(CUT, abs=2e-6)
    assert c.jumps[0].size == pytest.approx(RISE, rel=1e-3)
    assert c.error_apart_from_jumps <= c.tolerance
    # What the gradients do see is the linear part, exactly.
    torch.testing.assert_close(found.values[0], (x * model.v).detach()[0], atol=1e-5, rtol=1e-4)
    line = completeness_line(c)
    assert "does NOT hold" in line and "jumps" in line and f"{RISE:+.4f}"[:4] in line


def test_a_smooth_model_never_reports_jumps_even_at_a_tolerance_float32_cannot_meet() -> None:
    model = _Switch(steepness=1.0)
    x = _input(model) * 4
    found = attribute(model, x, target=0, baseline=torch.zeros_like(x), tolerance=1e-12)
    c = found.completeness[0]
    assert not c.jumps
    assert c.error < 1e-5 and math.isfinite(c.error)


def test_a_bistable_recurrent_unit_switches_in_a_jump_where_theory_puts_it() -> None:
    """h_t = tanh(3·h_(t−1) + x_t) has two stable states near ±1; a constant input decides
    which one 50 steps end in by its sign alone, so on the path from −0.5 to +0.5 the state
    flips at α = 1/2, within far less than float32 resolves (the slope there grows as 3^50)."""
    from rnntrace.model.classifier import SequenceClassifier

    model = SequenceClassifier(1, 2, 1, "rnn")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.rnn.weight_hh_l0.fill_(3.0)
        model.rnn.weight_ih_l0.fill_(1.0)
        model.head.weight.copy_(torch.tensor([[1.0], [-1.0]]))
    x = torch.full((1, 50, 1), 0.5)
    found = attribute(model, x, target=0, baseline=-x)
    c = found.completeness[0]
    stable = 0.0
    for _ in range(50):
        stable = math.tanh(3 * stable + 0.5)  # where +0.5 leads; −0.5 leads to −stable
    assert c.f_input == pytest.approx(stable, abs=1e-3)
    assert c.f_baseline == pytest.approx(-stable, abs=1e-3)
    assert not c.holds and len(c.jumps) == 1
    assert c.jumps[0].at == pytest.approx(0.5, abs=1e-6)
    assert c.jumps[0].size == pytest.approx(2 * stable, rel=0.01)
    assert c.error_apart_from_jumps <= c.tolerance
