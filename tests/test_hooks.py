"""trace_modules(): every submodule call recorded with real shapes, the model left untouched."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnntrace.errors import ShapeError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import ModuleCall, ModuleCalls, from_dict
from rnntrace.tracing.hooks import trace_modules


class Tagger(nn.Module):
    """A user's model: Embedding → 2-layer bidirectional LSTM over a packed batch → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(30, 6)
        self.lstm = nn.LSTM(6, 4, num_layers=2, bidirectional=True, batch_first=True, dropout=0.3)
        self.out = nn.Linear(8, 3)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(
            self.embed(tokens), lengths, batch_first=True, enforce_sorted=False
        )
        _, (h_n, _) = self.lstm(packed)
        return self.out(torch.cat([h_n[-2], h_n[-1]], dim=1))  # type: ignore[no-any-return]


def by_name(flow: ModuleCalls) -> dict[str, ModuleCall]:
    return {call.name: call for call in flow.calls}


def test_embedding_packed_bidirectional_lstm_linear() -> None:
    torch.manual_seed(0)
    model = Tagger()
    tokens = torch.randint(1, 30, (3, 5))
    lengths = torch.tensor([2, 5, 3])
    flow = trace_modules(model, tokens, lengths)

    assert [c.name for c in flow.calls] == ["", "embed", "lstm", "out"]  # call order
    assert [c.depth for c in flow.calls] == [0, 1, 1, 1]
    calls = by_name(flow)
    # The truth, computed here without hooks.
    model.eval()
    with torch.no_grad():
        embedded = model.embed(tokens)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        out_packed, (h_n, c_n) = model.lstm(packed)
    assert calls["embed"].outputs[0].shape == list(embedded.shape)
    lstm_in = calls["lstm"].inputs[0]
    assert lstm_in.packed and lstm_in.shape == list(packed.data.shape) == [10, 6]
    assert lstm_in.batch_sizes == packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    assert lstm_in.lengths == [2, 5, 3]  # in the order the sequences were given
    assert [(o.name, o.shape, o.packed) for o in calls["lstm"].outputs] == [
        ("output", list(out_packed.data.shape), True),
        ("h_n", list(h_n.shape), False),
        ("c_n", list(c_n.shape), False),
    ]
    assert "packed: 3 sequences of lengths 2, 5, 3" in calls["lstm"].reading
    assert calls["out"].inputs[0].shape == [3, 8]
    assert calls["lstm"].n_parameters == sum(p.numel() for p in model.lstm.parameters())
    assert flow.n_parameters == sum(p.numel() for p in model.parameters())
    sample = torch.tensor(calls["embed"].outputs[0].sample)
    assert torch.allclose(sample, embedded[0, :2, :4], atol=1e-4)
    assert flow.findings == []


def test_leaves_no_trace_on_the_model() -> None:
    torch.manual_seed(0)
    model = Tagger()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trace_modules(model, torch.randint(1, 30, (2, 4)), torch.tensor([4, 1]))
    assert model.training and all(m.training for m in model.modules())
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_a_failing_forward_is_explained_and_still_cleans_up() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.GRU(5, 3, batch_first=True))
    model.train()
    with pytest.raises(ShapeError, match="input_size = 5"):
        trace_modules(model, torch.zeros(2, 7, 4))
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_built_in_classifier_and_json_round_trip() -> None:
    model = SequenceClassifier(5, 3, 8, "gru", num_layers=2, bidirectional=True)
    x = torch.randn(4, 10, 5)
    flow = trace_modules(model, x, torch.tensor([10, 3, 7, 1]))
    rnn = by_name(flow)["rnn"]
    assert rnn.type == "GRU"
    assert rnn.inputs[0].packed and rnn.inputs[0].lengths == [10, 3, 7, 1]
    assert by_name(flow)["head"].outputs[0].shape == [4, 3]
    text = __import__("json").dumps(dataclasses.asdict(flow))
    assert from_dict(ModuleCalls, __import__("json").loads(text)) == flow


def test_bidirectional_last_step_shows_up_in_the_flow() -> None:
    class Wrong(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.RNN(3, 2, bidirectional=True)
            self.head = nn.Linear(4, 2)

        def forward(self, x: Tensor) -> Tensor:
            output, _ = self.rnn(x)  # (T, B, 2H)
            return self.head(output[-1])  # type: ignore[no-any-return]

    flow = trace_modules(Wrong(), torch.randn(5, 2, 3))
    assert [f.kind for f in flow.findings] == ["bidirectional_last_step"]
    assert "output[-1]" in flow.findings[0].arrived


@settings(max_examples=40, deadline=None)
@given(
    cell=st.sampled_from(["rnn", "gru", "lstm"]),
    layers=st.integers(1, 3),
    bi=st.booleans(),
    bf=st.booleans(),
    f=st.integers(1, 4),
    h=st.integers(1, 4),
    batch=st.integers(1, 4),
    steps=st.integers(1, 6),
    with_h0=st.booleans(),
)
def test_trace_shapes_equal_the_real_tensors(
    cell: str,
    layers: int,
    bi: bool,
    bf: bool,
    f: int,
    h: int,
    batch: int,
    steps: int,
    with_h0: bool,
) -> None:
    rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](
        f, h, layers, batch_first=bf, bidirectional=bi
    )
    x = torch.randn(batch, steps, f) if bf else torch.randn(steps, batch, f)
    hx = None
    if with_h0:
        h0 = torch.randn(layers * (2 if bi else 1), batch, h)
        hx = (h0, h0.clone()) if cell == "lstm" else h0
    output, state = rnn(x, hx)
    states = state if isinstance(state, tuple) else (state,)
    (call,) = trace_modules(rnn, x, hx).calls
    assert [o.shape for o in call.outputs] == [list(output.shape)] + [list(s.shape) for s in states]
    expected_in = ["input"] + (["h_0", "c_0"][: len(states)] if with_h0 else [])
    assert [i.name for i in call.inputs] == expected_in
    assert call.inputs[0].shape == list(x.shape)
    b, t = (batch, steps)
    assert call.reading == (
        f"batch {b} × {t} steps × {f} features" if bf else f"{t} steps × batch {b} × {f} features"
    )
