"""Step records: every step's recomputed state equals PyTorch's, with readable equations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError, ShapeError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import StepRecord, from_dict
from rnntrace.tracing.equations import recompute, unroll
from rnntrace.tracing.prediction import _sequence, trace_prediction, trace_steps
from rnntrace.tracing.steps import explain_steps


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["tanh", "relu", "gru", "lstm"]),
    layers=st.integers(1, 2),
    bi=st.booleans(),
    f=st.integers(1, 4),
    h=st.integers(1, 4),
    steps=st.integers(1, 5),
    with_h0=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_every_step_matches_pytorch(
    kind: str, layers: int, bi: bool, f: int, h: int, steps: int, with_h0: bool, seed: int
) -> None:
    torch.manual_seed(seed)
    if kind in ("tanh", "relu"):
        rnn: nn.RNNBase = nn.RNN(f, h, layers, nonlinearity=kind, bidirectional=bi)
    else:
        rnn = (nn.GRU if kind == "gru" else nn.LSTM)(f, h, layers, bidirectional=bi)
    x = torch.randn(steps, f)
    hx = None
    if with_h0:  # unbatched: (L·D, H)
        h0 = torch.randn(layers * (2 if bi else 1), h)
        hx = (h0, torch.randn_like(h0)) if kind == "lstm" else h0
    output, _ = rnn(x, hx)  # (T, D·H): PyTorch's top layer, the truth for the top layer's steps
    for direction in ["forward", "backward"] if bi else ["forward"]:
        for layer in range(layers):
            records = explain_steps(rnn, x, hx, layer=layer, direction=direction)
            assert len(records) == steps
            assert max(r.max_abs_diff for r in records) <= 1e-5
            if layer == layers - 1:
                d = 1 if direction == "backward" else 0
                top = output[:, d * h : (d + 1) * h]
                for r in records:
                    assert r.h == pytest.approx(top[r.step - 1].tolist(), abs=1e-5)


def test_reading_order_and_previous_state() -> None:
    torch.manual_seed(0)
    rnn = nn.GRU(2, 3, bidirectional=True)
    x = torch.randn(4, 2)
    forward = explain_steps(rnn, x)
    backward = explain_steps(rnn, x, direction="backward")
    assert [r.step for r in forward] == [1, 2, 3, 4]
    assert [r.step for r in backward] == [4, 3, 2, 1]
    assert forward[0].h_prev == [0.0, 0.0, 0.0]
    assert forward[1].h_prev == forward[0].h
    assert backward[1].h_prev == backward[0].h
    assert backward[-1].equations[-1] == "h←_1 = (1 − z_1) ⊙ n_1 + z_1 ⊙ h←_2"
    assert set(forward[0].gates) == {"r", "z", "n"}
    assert forward[0].x == pytest.approx(x[0].tolist())


def test_rnn_equation_with_numbers_by_hand() -> None:
    rnn = nn.RNN(1, 1)
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(0.5)
        rnn.weight_hh_l0.fill_(-1.0)
        rnn.bias_ih_l0.fill_(0.1)
        rnn.bias_hh_l0.fill_(0.0)
    records = explain_steps(rnn, torch.tensor([[1.0], [2.0], [0.0]]))
    third = records[2]
    assert third.equations == ["h_3 = tanh(W_ih·x_3 + b_ih + W_hh·h_2 + b_hh)"]
    h1 = math.tanh(0.6)
    h2 = math.tanh(1.1 - h1)
    h3 = math.tanh(0.1 - h2)
    assert third.h_prev == pytest.approx([h2], abs=1e-6)
    assert third.h == pytest.approx([h3], abs=1e-6)
    assert third.pre_activation["a"] == pytest.approx([0.1 - h2], abs=1e-6)
    assert third.with_numbers[0] == (
        f"h_3 = tanh(W_ih·x_3 [0.0000] + b_ih [0.1000] + W_hh·h_2 [{-h2:.4f}] + b_hh [0.0000])"
        f" = tanh([{0.1 - h2:.4f}]) = [{h3:.4f}]"
    )


def test_lstm_cell_state_and_json_round_trip() -> None:
    torch.manual_seed(3)
    lstm = nn.LSTM(3, 2, num_layers=2)
    x = torch.randn(5, 3)
    records = explain_steps(lstm, x, layer=1)
    _, (_, c_n) = lstm(x)
    assert records[-1].c == pytest.approx(c_n[1].tolist(), abs=1e-6)
    assert records[-1].c_torch == pytest.approx(c_n[1].tolist(), abs=1e-6)
    assert [line.split(" =")[0] for line in records[0].equations] == [
        "i_1",
        "f_1",
        "g_1",
        "o_1",
        "c_1",
        "h_1",
    ]
    raw = __import__("dataclasses").asdict(records[0])
    assert from_dict(StepRecord, raw) == records[0]


def test_bad_requests_are_explained() -> None:
    rnn = nn.RNN(3, 2)
    with pytest.raises(ShapeError, match="one sequence"):
        explain_steps(rnn, torch.randn(2, 4, 3))
    with pytest.raises(ShapeError, match="input_size = 3"):
        explain_steps(rnn, torch.randn(4, 5))
    with pytest.raises(ConfigError, match="layer"):
        explain_steps(rnn, torch.randn(4, 3), layer=1)
    with pytest.raises(ConfigError, match="direction"):
        explain_steps(rnn, torch.randn(4, 3), direction="backward")


@pytest.mark.parametrize("kind", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2])
def test_step_table_is_the_whole_layer_recomputation(kind: str, layers: int) -> None:
    # Sizes like the demo's, long enough for float32 rounding to show up somewhere.
    torch.manual_seed(3)
    if kind == "tanh":
        rnn: nn.RNNBase = nn.RNN(6, 32, layers)
    else:
        rnn = (nn.GRU if kind == "gru" else nn.LSTM)(6, 32, layers)
    x = torch.randn(100, 6)
    mine = unroll(rnn, x)
    check = recompute(rnn, x)
    for layer in range(layers):
        for r in explain_steps(rnn, x, layer=layer):
            # bit for bit the state the whole-layer check computed, not a second recomputation
            assert torch.equal(torch.tensor(r.h), mine.states[layer][0][r.step - 1][0].double())
    top = explain_steps(rnn, x, layer=layers - 1)
    # The top layer's steps are part of the output tensor the whole-layer check compared.
    h_diffs = [float((torch.tensor(r.h) - torch.tensor(r.h_torch)).abs().max()) for r in top]
    assert max(h_diffs) <= check.diff_output
    with torch.no_grad():  # as the check runs it: PyTorch may pick another LSTM kernel then
        output, _ = rnn(x)
    assert torch.equal(torch.tensor([r.h_torch for r in top]).float(), output)


@pytest.mark.parametrize("how", ["mmap", "flag"])
def test_read_only_data_is_traced_without_warning(tmp_path: Path, how: str) -> None:
    # filterwarnings=error: PyTorch's "NumPy array is not writable" warning would fail this.
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 6, 3)).astype(np.float32)
    if how == "mmap":  # as `rnntrace train X.npy` opens a large file
        np.save(tmp_path / "X.npy", values)
        read_only = np.load(tmp_path / "X.npy", mmap_mode="r")
    else:
        read_only = values.copy()
        read_only.setflags(write=False)
    assert not read_only.flags.writeable
    data = SequenceSet(read_only, lengths=[6, 4], labels=[0, 1], class_names=["a", "b"])
    torch.manual_seed(0)
    model = SequenceClassifier(n_features=3, n_classes=2)
    p = trace_prediction(model, data, 1)
    steps, check = trace_steps(model, data, 1)
    assert np.allclose(p.inputs, values[1, :4], atol=1e-6, rtol=0)  # kept to 6 decimals
    with torch.no_grad():
        output, _ = model.rnn(model.standardize(torch.from_numpy(values[1:2, :4].copy())))
    assert torch.allclose(torch.tensor(p.hidden_states).float(), output[0], atol=1e-6)
    assert len(steps) == 4 and check.matches
    # PyTorch warns once per process, so an earlier test may have used the warning up: also
    # check directly that the traced sequence is a copy of its own, not the read-only memory.
    seq = _sequence(model, data, 1)
    assert not np.shares_memory(seq.numpy(), read_only) and seq.dtype == torch.float32
