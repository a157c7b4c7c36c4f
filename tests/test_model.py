"""The classifier's last hidden state, checked against what PyTorch's layers return."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier

COMBOS = list(itertools.product(["rnn", "lstm", "gru"], [False, True], [1, 2]))


def test_unidirectional_last_hidden_is_output_last_step_and_h_n_top_layer() -> None:
    torch.manual_seed(0)
    model = SequenceClassifier(5, 3, 8, num_layers=2)
    x = torch.randn(16, 10, 5)  # (B, T, F)
    output, h_n = model.rnn(model.standardize(x))
    last = model.encode(x)
    assert last.shape == (16, 8)
    torch.testing.assert_close(last, output[:, -1], rtol=0, atol=0)
    torch.testing.assert_close(last, h_n[-1], rtol=0, atol=0)
    assert model(x).shape == (16, 3)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_takes_forward_last_step_and_backward_first_step(cell: str) -> None:
    torch.manual_seed(1)
    h = 6
    model = SequenceClassifier(4, 3, h, cell, bidirectional=True, num_layers=2)
    x = torch.randn(5, 7, 4)
    output, _ = model.rnn(model.standardize(x))  # (B, T, 2H)
    expected = torch.cat([output[:, -1, :h], output[:, 0, h:]], dim=1)
    torch.testing.assert_close(model.encode(x), expected, rtol=0, atol=1e-7)
    # The tempting mistake differs: output[:, -1] holds the backward state after one step.
    assert not torch.allclose(model.encode(x), output[:, -1])


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), COMBOS)
def test_padded_batch_equals_each_sequence_alone(
    cell: str, bidirectional: bool, layers: int
) -> None:
    torch.manual_seed(2)
    model = SequenceClassifier(
        3, 4, 5, cell, num_layers=layers, bidirectional=bidirectional
    ).eval()
    lengths = [9, 2, 6, 1, 9, 4]
    seqs = [torch.randn(t, 3) for t in lengths]
    x = pad_sequence(seqs, batch_first=True)  # (B, T_max, F)
    batched = model(x, torch.tensor(lengths))
    alone = torch.cat([model(s.unsqueeze(0)) for s in seqs])
    torch.testing.assert_close(batched, alone, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), COMBOS)
def test_time_major_layout_gives_the_same_logits(
    cell: str, bidirectional: bool, layers: int
) -> None:
    torch.manual_seed(3)
    kwargs = dict(cell=cell, num_layers=layers, bidirectional=bidirectional)
    a = SequenceClassifier(3, 2, 4, batch_first=True, **kwargs)  # type: ignore[arg-type]
    b = SequenceClassifier(3, 2, 4, batch_first=False, **kwargs)  # type: ignore[arg-type]
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 6, 3)
    lengths = torch.tensor([6, 3, 5, 2])
    torch.testing.assert_close(a(x), b(x.transpose(0, 1)))
    torch.testing.assert_close(a(x, lengths), b(x.transpose(0, 1), lengths))


def test_predict_proba_is_a_distribution() -> None:
    model = SequenceClassifier()
    p = model.predict_proba(torch.randn(8, 10, 5))
    assert p.shape == (8, 3)
    torch.testing.assert_close(p.sum(1), torch.ones(8))


def test_parameter_count_matches_pytorch_layers() -> None:
    model = SequenceClassifier(5, 3, 8)
    # nn.RNN: W_ih (8×5) + W_hh (8×8) + two biases (8 each); Linear: 8×3 + 3.
    assert model.n_parameters() == (8 * 5 + 8 * 8 + 8 + 8) + (8 * 3 + 3)


@pytest.mark.parametrize(
    "kwargs",
    [dict(cell="transformer"), dict(cell="lstm", nonlinearity="relu"), dict(hidden_size=0),
     dict(n_classes=1), dict(dropout=1.5)],
)
def test_bad_configuration_names_the_value(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SequenceClassifier(**kwargs)  # type: ignore[arg-type]


def test_the_constructor_takes_exactly_the_config_fields() -> None:
    import dataclasses
    import inspect

    from rnntrace.config.settings import ModelConfig

    fields = [f.name for f in dataclasses.fields(ModelConfig)]
    params = list(inspect.signature(SequenceClassifier.__init__).parameters)[1:]
    assert params == fields
    config = ModelConfig(n_features=3, n_classes=4, hidden_size=6, cell="lstm", proj_size=2,
                         bidirectional=True, summary="max")
    assert SequenceClassifier.from_config(config).config == config
