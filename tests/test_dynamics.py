"""hidden_dynamics: ∂loss/∂h_t per step equals PyTorch run one step at a time; saturation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from rnntrace.model.classifier import SequenceClassifier
from rnntrace.tracing.dynamics import hidden_dynamics


def stepwise_grad_norms(
    model: SequenceClassifier, x: Tensor, y: Tensor, lengths: Tensor | None
) -> list[float]:
    """The truth: PyTorch's own layer fed one step at a time, each state kept for autograd."""
    z = model.standardize(x)  # (B, T, F)
    zeros = torch.zeros(1, x.shape[0], model.config.hidden_size)
    state: Tensor | tuple[Tensor, Tensor] = (zeros, zeros) if model.config.cell == "lstm" else zeros
    states = []
    for t in range(x.shape[1]):
        _, state = model.rnn(z[:, t : t + 1], state)
        h = state[0] if isinstance(state, tuple) else state  # (1, B, H)
        h.retain_grad()
        states.append(h)
    stacked = torch.stack([s[0] for s in states])  # (T, B, H)
    last = (lengths if lengths is not None else torch.full((x.shape[0],), x.shape[1])) - 1
    summary = stacked[last, torch.arange(x.shape[0])]  # (B, H)
    F.cross_entropy(model.head(summary), y).backward()
    return [float(s.grad.norm()) if s.grad is not None else 0.0 for s in states]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("padded", [False, True])
def test_gradient_per_step_matches_pytorch(cell: str, padded: bool) -> None:
    torch.manual_seed(0)
    model = SequenceClassifier(4, 3, 6, cell)
    x = torch.randn(8, 9, 4)
    y = torch.randint(0, 3, (8,))
    lengths = torch.randint(1, 10, (8,)) if padded else None
    if lengths is not None:
        lengths[0] = 9
    dynamics = hidden_dynamics(model, x, y, lengths)
    truth = stepwise_grad_norms(model, x, y, lengths)
    assert dynamics.grad_norm[0] == pytest.approx(truth, rel=1e-4, abs=1e-7)
    assert dynamics.logits_diff < 1e-5
    assert len(dynamics.saturated) == dynamics.steps == 9


def test_vanishing_gradient_is_visible_for_a_contracting_rnn() -> None:
    torch.manual_seed(0)
    model = SequenceClassifier(4, 3, 6, "rnn")
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(0.1)  # a contracting recurrence forgets fast
    dynamics = hidden_dynamics(model, torch.randn(8, 12, 4), torch.randint(0, 3, (8,)))
    grads = dynamics.grad_norm[0]
    assert grads[0] < 1e-6 * grads[-1]


def test_saturation_share() -> None:
    torch.manual_seed(0)
    model = SequenceClassifier(4, 3, 6, "rnn")
    x, y = torch.randn(5, 3, 4), torch.randint(0, 3, (5,))
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.zero_()
    assert hidden_dynamics(model, x, y).saturated == [0.0, 0.0, 0.0]  # tanh(0) = 0
    with torch.no_grad():
        model.rnn.bias_ih_l0.fill_(10.0)  # tanh(10) > 0.95 for every unit
    assert hidden_dynamics(model, x, y).saturated == [1.0, 1.0, 1.0]


def test_relu_counts_dead_units_and_bidirectional_has_two_rows() -> None:
    torch.manual_seed(0)
    relu = SequenceClassifier(4, 3, 6, "rnn", nonlinearity="relu")
    with torch.no_grad():
        relu.rnn.bias_ih_l0.fill_(-100.0)  # every unit below zero: dead
    d = hidden_dynamics(relu, torch.randn(5, 3, 4), torch.randint(0, 3, (5,)))
    assert d.measure.startswith("h = 0") and d.saturated == [1.0, 1.0, 1.0]

    bi = SequenceClassifier(4, 3, 6, "lstm", bidirectional=True, num_layers=2)
    bi.train()
    lengths = torch.tensor([7, 3, 5])
    d = hidden_dynamics(bi, torch.randn(3, 7, 4), torch.tensor([0, 1, 2]), lengths)
    assert len(d.grad_norm) == 2 and all(len(g) == 7 for g in d.grad_norm)
    assert d.logits_diff < 1e-5  # the unrolled graph is the model's own function
    assert bi.training
    assert all(p.grad is None for p in bi.parameters())
