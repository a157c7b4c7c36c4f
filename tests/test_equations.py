"""Recomputed RNN/GRU/LSTM layers equal PyTorch's own results, and hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnntrace.errors import ConfigError, ShapeError
from rnntrace.records import Recomputation, from_dict
from rnntrace.tracing.equations import equations, recompute, unroll

CELLS = {"rnn_tanh": nn.RNN, "rnn_relu": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def make(
    kind: str, f: int, h: int, layers: int, bi: bool, bf: bool, bias: bool = True
) -> nn.RNNBase:
    kwargs: dict[str, object] = dict(num_layers=layers, bidirectional=bi, batch_first=bf, bias=bias)
    if kind.startswith("rnn"):
        kwargs["nonlinearity"] = kind.split("_")[1]
    return CELLS[kind](f, h, **kwargs)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(CELLS)),
    layers=st.integers(1, 3),
    bi=st.booleans(),
    bf=st.booleans(),
    bias=st.booleans(),
    f=st.integers(1, 5),
    h=st.integers(1, 5),
    batch=st.integers(1, 4),
    steps=st.integers(1, 6),
    with_h0=st.booleans(),
    packed=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_recompute_equals_pytorch(
    kind: str,
    layers: int,
    bi: bool,
    bf: bool,
    bias: bool,
    f: int,
    h: int,
    batch: int,
    steps: int,
    with_h0: bool,
    packed: bool,
    seed: int,
) -> None:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rnn = make(kind, f, h, layers, bi, bf, bias)
    x = torch.randn(batch, steps, f, generator=gen)
    if not bf:
        x = x.transpose(0, 1).contiguous()
    n = layers * (2 if bi else 1)
    hx = None
    if with_h0:
        h0 = torch.randn(n, batch, h, generator=gen)
        hx = (h0, torch.randn(n, batch, h, generator=gen)) if kind == "lstm" else h0
    lengths = torch.randint(1, steps + 1, (batch,), generator=gen) if packed else None
    result = recompute(rnn, x, hx, lengths)
    assert result.max_abs_diff <= 1e-5, result
    assert result.matches
    assert (result.diff_c_n is not None) == (kind == "lstm")


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_one_unbatched_sequence(kind: str) -> None:
    torch.manual_seed(1)
    rnn = make(kind, 3, 4, 2, True, True)
    x = torch.randn(6, 3)  # (T, F): PyTorch reads it as one sequence
    result = recompute(rnn, x)
    assert result.input_shape == [6, 3]
    assert result.max_abs_diff <= 1e-5


def test_hand_computed_rnn() -> None:
    # One feature, one unit: every number can be checked with a pencil.
    rnn = nn.RNN(1, 1)
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(0.5)
        rnn.weight_hh_l0.fill_(-1.0)
        rnn.bias_ih_l0.fill_(0.1)
        rnn.bias_hh_l0.fill_(0.0)
    h1 = math.tanh(0.5 * 1 + 0.1)
    h2 = math.tanh(0.5 * 2 + 0.1 - h1)
    out = unroll(rnn, torch.tensor([[1.0], [2.0]]))  # (T, F) unbatched
    assert out.output[:, 0].tolist() == pytest.approx([h1, h2], abs=1e-6)
    assert out.h_n.item() == pytest.approx(h2, abs=1e-6)


def test_hand_computed_lstm() -> None:
    # Zero weights and biases: every gate is σ(0) = 0.5 and g = tanh(0) = 0, so c stays c_0 / 2^t.
    lstm = nn.LSTM(2, 1)
    with torch.no_grad():
        for p in lstm.parameters():
            p.zero_()
    h0, c0 = torch.zeros(1, 1), torch.full((1, 1), 0.8)
    out = unroll(lstm, torch.randn(3, 2), (h0, c0))
    assert out.c_n is not None
    assert out.c_n.item() == pytest.approx(0.8 / 8)
    assert out.h_n.item() == pytest.approx(0.5 * math.tanh(0.1))


def test_unroll_keeps_the_graph() -> None:
    torch.manual_seed(0)
    rnn = nn.GRU(3, 2, batch_first=True)
    x = torch.randn(2, 4, 3)
    mine = unroll(rnn, x)
    mine.h_n.sum().backward()
    ours = rnn.weight_hh_l0.grad.clone()  # type: ignore[union-attr]
    rnn.zero_grad()
    _, h_n = rnn(x)
    h_n.sum().backward()
    assert torch.allclose(ours, rnn.weight_hh_l0.grad, atol=1e-6)  # type: ignore[arg-type]


def test_recompute_leaves_mode_and_record_is_json() -> None:
    rnn = nn.LSTM(3, 2, num_layers=2, dropout=0.5)
    rnn.train()
    result = recompute(rnn, torch.randn(4, 2, 3))
    assert rnn.training
    assert result.max_abs_diff <= 1e-5  # dropout off while comparing
    back = from_dict(Recomputation, __import__("dataclasses").asdict(result))
    assert back == result


def test_equation_text_follows_pytorch_docs() -> None:
    assert equations(nn.RNN(1, 1, nonlinearity="relu")) == [
        "h_t = relu(W_ih·x_t + b_ih + W_hh·h_(t-1) + b_hh)"
    ]
    gru = equations(nn.GRU(1, 1))
    assert gru[2] == "n_t = tanh(W_in·x_t + b_in + r_t ⊙ (W_hn·h_(t-1) + b_hn))"
    assert [line[0] for line in equations(nn.LSTM(1, 1))] == list("ifgoch")


def test_refuses_other_layers_and_explains_bad_input() -> None:
    # LSTM with proj_size is covered now (tests/test_cells.py); a non-recurrent layer is not.
    with pytest.raises(ConfigError, match=r"is not nn\.RNN"):
        recompute(nn.Linear(3, 4), torch.randn(2, 3))  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match="input_size = 3") as caught:
        recompute(nn.GRU(3, 4), torch.randn(5, 2, 7))
    assert isinstance(caught.value.__cause__, RuntimeError)
    with pytest.raises(ShapeError, match="lengths"):
        recompute(nn.GRU(3, 4), torch.randn(5, 2, 3), lengths=[6, 2])
