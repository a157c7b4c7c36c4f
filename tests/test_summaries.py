"""Summaries and front ends: a padded batch gives exactly what each sequence gives alone, and
each summary equals its definition computed directly on that sequence's own outputs."""

from __future__ import annotations

import pytest
import torch

from rnntrace.config.settings import ModelConfig
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier

LENGTHS = [9, 4, 7, 1, 6]
T_MAX, F = 9, 3


def _model(cell: str, bidirectional: bool, summary: str, front_end: str = "none",
           window: int = 1, batch_first: bool = True) -> SequenceClassifier:
    torch.manual_seed(0)
    model = SequenceClassifier(F, 3, 5, cell, bidirectional=bidirectional, summary=summary,
                               front_end=front_end, window=window, batch_first=batch_first)
    model.standardize.set_statistics(torch.tensor([0.1, -0.2, 0.3]), torch.tensor([1.5, 0.7, 2.0]))
    if model.front is not None:  # BatchNorm with statistics that are not the identity
        for block in model.front.blocks:
            bn = block[1]
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    x = torch.randn(len(LENGTHS), T_MAX, F)
    lengths = torch.tensor(LENGTHS)
    for i, n in enumerate(LENGTHS):
        x[i, n:] = 1e3  # padding that would show if it were ever read
    return x, lengths


def _own_outputs(model: SequenceClassifier, seq: torch.Tensor) -> torch.Tensor:
    """The recurrent layer's outputs for one sequence run alone, (T', D·H), no padding at all."""
    z = model.standardize(seq.unsqueeze(0))  # (1, T, F)
    if model.front is not None:
        z = model.front(z)  # (1, T', F')
    if not model.config.batch_first:
        z = z.transpose(0, 1)
    out, _ = model.rnn(z)
    return out[0] if model.config.batch_first else out[:, 0]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("summary", ["last", "mean", "max", "attention"])
def test_summary_of_a_padded_batch_is_each_sequence_alone(
    cell: str, bidirectional: bool, summary: str
) -> None:
    model = _model(cell, bidirectional, summary)
    x, lengths = _batch()
    with torch.no_grad():
        batch = model.encode(x, lengths)  # (B, D·H)
        for i, n in enumerate(LENGTHS):
            out = _own_outputs(model, x[i, :n])  # (n, D·H)
            h = model.config.hidden_size
            if summary == "last":  # forward state after the last step, backward after step 0
                direct = out[-1] if not bidirectional else torch.cat([out[-1, :h], out[0, h:]])
            elif summary == "mean":
                direct = out.sum(0) / n
            elif summary == "max":
                direct = out.max(0).values
            else:
                assert model.attention is not None
                scores = out @ model.attention.score.weight[0]
                direct = (torch.softmax(scores, 0).unsqueeze(1) * out).sum(0)
            torch.testing.assert_close(batch[i], direct, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("front_end,window", [("window", 3), ("conv", 2), ("conv", 1)])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
def test_front_end_never_reads_padding(
    front_end: str, window: int, bidirectional: bool, batch_first: bool
) -> None:
    model = _model("gru", bidirectional, "max", front_end, window, batch_first)
    x, lengths = _batch()
    with torch.no_grad():
        logits = model(x if batch_first else x.transpose(0, 1), lengths)
        for i, n in enumerate(LENGTHS):
            alone = x[i, :n].unsqueeze(0)
            own = model(alone if batch_first else alone.transpose(0, 1))
            torch.testing.assert_close(logits[i], own[0], atol=1e-5, rtol=1e-5)
            direct = model.head(_own_outputs(model, x[i, :n]).max(0).values)
            torch.testing.assert_close(logits[i], direct, atol=1e-5, rtol=1e-5)


def test_windows_read_k_steps_as_one() -> None:
    model = _model("rnn", False, "mean", "window", 4)
    seq = torch.arange(7 * F, dtype=torch.float32).view(1, 7, F)
    z = model.front(seq)  # (1, 2, 4·F)
    assert z.shape == (1, 2, 4 * F)
    torch.testing.assert_close(z[0, 0], seq[0, :4].reshape(-1))
    torch.testing.assert_close(z[0, 1], torch.cat([seq[0, 4:].reshape(-1), torch.zeros(F)]))
    assert model.rnn.input_size == 4 * F


def test_lesson_model_is_unchanged_by_the_new_options() -> None:
    torch.manual_seed(0)
    plain = SequenceClassifier()
    assert plain.front is None and plain.attention is None
    assert [name for name, _ in plain.named_parameters()] == [
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "head.weight", "head.bias"]


@pytest.mark.parametrize("bad", [{"summary": "median"}, {"front_end": "fft"}, {"window": 0}])
def test_bad_summary_or_front_end_is_a_config_error(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ModelConfig(**bad)  # type: ignore[arg-type]
