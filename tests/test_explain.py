"""Each explained mistake is checked against what PyTorch really does with it."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnntrace.errors import ShapeError
from rnntrace.tracing.explain import checked, explain_call, padded_lengths, run_checked


def kinds(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.kind for f in findings]


def test_last_dimension_not_input_size() -> None:
    rnn = nn.LSTM(8, 3, batch_first=True)
    x = torch.zeros(3, 5, 10)
    with pytest.raises(RuntimeError) as plain:
        rnn(x)
    with pytest.raises(ShapeError) as explained:
        run_checked(rnn, x)
    assert str(explained.value.__cause__) == str(plain.value)
    message = explained.value.message
    assert "input_size = 8" in message and "10 features" in message
    assert "batch 3 × 5 steps × 10 features" in message
    assert "\n" not in message


def test_features_in_the_wrong_dimension_suggest_permute() -> None:
    rnn = nn.GRU(5, 4, batch_first=True)
    x = torch.randn(2, 5, 7)  # (B, F, T) by mistake
    (finding,) = explain_call(rnn, x)
    assert "permute(0, 2, 1)" in finding.fix
    # The suggested fix really works.
    output, _ = rnn(x.permute(0, 2, 1))
    assert output.shape == (2, 7, 4)


@pytest.mark.parametrize(
    ("cell", "state"),
    [
        ("rnn", lambda: torch.zeros(1, 3, 3)),  # batch 3, input batch 4
        ("gru", lambda: torch.zeros(2, 4, 3)),  # 2 layers, layer has 1
        ("lstm", lambda: (torch.zeros(1, 4, 3), torch.zeros(1, 4, 2))),  # c_0 hidden 2
        ("lstm", lambda: torch.zeros(1, 4, 3)),  # a tensor where (h, c) is needed
    ],
)
def test_initial_state_of_the_wrong_shape(cell: str, state) -> None:  # type: ignore[no-untyped-def]
    rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](5, 3, batch_first=True)
    x = torch.zeros(4, 7, 5)
    hx = state()
    with pytest.raises((RuntimeError, IndexError)) as plain:
        rnn(x, hx)  # PyTorch refuses it
    findings = explain_call(rnn, x, hx)
    assert kinds(findings) == ["hidden_shape"]
    with pytest.raises(ShapeError, match=r"h_0|c_0|state") as caught:
        run_checked(rnn, x, hx)
    assert str(caught.value.__cause__) == str(plain.value)
    assert "(1, 4, 3)" in findings[0].fix or "tuple" in findings[0].expected


def test_two_dimensional_input_is_one_unbatched_sequence() -> None:
    rnn = nn.RNN(5, 3, batch_first=True)
    x = torch.randn(7, 5)  # meant as a batch of 7? PyTorch reads 7 steps of one sequence
    (output, h_n), warnings = run_checked(rnn, x)
    assert output.shape == (7, 3) and h_n.shape == (1, 3)  # PyTorch's own reading
    batch_of_one, _ = rnn(x.unsqueeze(0))
    assert torch.allclose(output, batch_of_one[0])  # the same as one sequence of 7 steps
    assert kinds(warnings) == ["unbatched"]
    assert "ONE unbatched sequence of 7 steps × 5 features" in warnings[0].how_read


def test_padded_batch_without_packing() -> None:
    torch.manual_seed(0)
    rnn = nn.GRU(2, 4, batch_first=True)
    lengths = torch.tensor([5, 2])
    x = torch.randn(2, 5, 2)
    x[1, 2:] = 0  # padding
    output, _ = rnn(x)
    _, h_packed = rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    # What the warning says: output[:, -1] of the short sequence is a state after padding.
    assert not torch.allclose(output[1, -1], h_packed[0, 1])
    assert torch.allclose(output[1, 1], h_packed[0, 1], atol=1e-6)
    for given_lengths in (lengths, None):  # given, or read from the trailing zeros
        findings = explain_call(rnn, x, lengths=given_lengths)
        assert kinds(findings) == ["padded_unpacked"]
        assert "pack_padded_sequence" in findings[0].fix
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    assert explain_call(rnn, packed) == []


def test_padding_is_not_guessed_from_data_that_ends_in_zeros_everywhere() -> None:
    x = torch.randn(3, 4, 2)
    x[:, -1] = 0
    assert padded_lengths(x, batch_first=True) is None
    x[0, -2:] = 0
    assert padded_lengths(x, batch_first=True).tolist() == [2, 3, 3]  # type: ignore[union-attr]


class LastStepModel(nn.Module):
    """The classic mistake: output[:, -1] of a bidirectional layer as the summary."""

    def __init__(self, fixed: bool = False) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 4, bidirectional=True, batch_first=True)
        self.head = nn.Linear(8, 2)
        self.fixed = fixed

    def forward(self, x: Tensor) -> Tensor:
        output, (h_n, _) = self.rnn(x)
        summary = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.fixed else output[:, -1]
        return self.head(summary)  # type: ignore[no-any-return]


def test_bidirectional_last_step_is_caught() -> None:
    torch.manual_seed(0)
    model = LastStepModel()
    x = torch.randn(2, 6, 3)
    output, (h_n, _) = model.rnn(x)
    # The fact behind the warning: the backward half of output[:, -1] is not its summary...
    assert not torch.allclose(output[:, -1, 4:], h_n[-1])
    # ...which sits at step 0, while the forward summary is at the last step.
    assert torch.allclose(output[:, 0, 4:], h_n[-1]) and torch.allclose(output[:, -1, :4], h_n[-2])
    with checked(model) as findings:
        model(x)
    assert kinds(findings) == ["bidirectional_last_step"]
    assert "h_n[-2], h_n[-1]" in findings[0].fix
    with checked(LastStepModel(fixed=True)) as clean:
        LastStepModel(fixed=True)(x)
    assert clean == []


def test_checked_explains_an_error_inside_any_module_and_cleans_up() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.RNN(5, 3, batch_first=True))
    with pytest.raises(ShapeError, match="input_size = 5") as caught, checked(model):
        model(torch.zeros(2, 7, 4))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_unrelated_errors_pass_through_unchanged() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.RNN(6, 3, batch_first=True))
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"), checked(model):
        model(torch.zeros(2, 7, 5))  # the Linear fails, not the RNN


@settings(max_examples=40, deadline=None)
@given(
    cell=st.sampled_from(["rnn", "gru", "lstm"]),
    layers=st.integers(1, 2),
    bi=st.booleans(),
    bf=st.booleans(),
    f=st.integers(1, 4),
    f_given=st.integers(1, 4),
    batch=st.integers(1, 3),
    batch_h=st.integers(1, 3),
    layers_h=st.integers(1, 4),
    with_h0=st.booleans(),
)
def test_errors_found_exactly_when_pytorch_refuses(
    cell: str,
    layers: int,
    bi: bool,
    bf: bool,
    f: int,
    f_given: int,
    batch: int,
    batch_h: int,
    layers_h: int,
    with_h0: bool,
) -> None:
    rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](
        f, 2, layers, batch_first=bf, bidirectional=bi
    )
    x = torch.zeros(batch, 3, f_given) if bf else torch.zeros(3, batch, f_given)
    hx = None
    if with_h0:
        h0 = torch.zeros(layers_h, batch_h, 2)
        hx = (h0, h0) if cell == "lstm" else h0
    errors = [f for f in explain_call(rnn, x, hx) if f.severity == "error"]
    try:
        rnn(x, hx)
    except (RuntimeError, ValueError):
        assert errors, "PyTorch refused a call we found nothing wrong with"
    else:
        assert not errors, errors
