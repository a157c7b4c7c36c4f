"""Every stage of the data flow has the shapes and values PyTorch itself produces."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnntrace.model.classifier import SequenceClassifier
from rnntrace.tracing.dataflow import trace_stages


def test_lesson_stages_match_pytorch() -> None:
    torch.manual_seed(0)
    model = SequenceClassifier()  # the lesson: 5 features → RNN(8) → 3 classes
    x = torch.randn(1000, 10, 5)
    stages = trace_stages(model, x)
    names = [s.name.split(":")[0] for s in stages]
    assert names == ["Input", "Standardize", "RNN layer", "Last hidden state", "Linear", "Softmax"]

    # Independent truth: the same weights in plain torch layers.
    rnn = nn.RNN(5, 8, batch_first=True)
    rnn.load_state_dict(model.rnn.state_dict())
    output, h_n = rnn(x)
    linear = nn.Linear(8, 3)
    linear.load_state_dict(model.head.state_dict())
    logits = linear(h_n[-1])
    by_name = {s.name.split(":")[0]: s for s in stages}
    assert by_name["Input"].output_shape == [1000, 10, 5]
    rnn_stage = by_name["RNN layer"]
    assert rnn_stage.input_shape == [1000, 10, 5]
    assert rnn_stage.output_shape == list(output.shape) == [1000, 10, 8]
    assert rnn_stage.extra_shapes == {"h_n": list(h_n.shape)} == {"h_n": [1, 1000, 8]}
    assert by_name["Last hidden state"].output_shape == [1000, 8]
    assert by_name["Linear"].output_shape == list(logits.shape) == [1000, 3]
    assert by_name["Softmax"].output_shape == [1000, 3]
    # Sample values are real: the first sequence's first steps and the first logits.
    torch.testing.assert_close(
        torch.tensor(rnn_stage.sample), output[0, :2, :4], atol=1e-4, rtol=0
    )
    torch.testing.assert_close(
        torch.tensor(by_name["Last hidden state"].sample), h_n[-1, :2, :4], atol=1e-4, rtol=0
    )
    torch.testing.assert_close(
        torch.tensor(by_name["Softmax"].sample), torch.softmax(logits, -1)[:2, :3],
        atol=1e-4, rtol=0,
    )


@pytest.mark.parametrize("batch_first", [True, False])
def test_lstm_bidirectional_stage_shapes(batch_first: bool) -> None:
    model = SequenceClassifier(
        4, 2, 6, "lstm", num_layers=2, bidirectional=True, batch_first=batch_first
    )
    x = torch.randn(3, 7, 4) if batch_first else torch.randn(7, 3, 4)
    stages = {s.name.split(":")[0]: s for s in trace_stages(model, x, torch.tensor([7, 5, 2]))}
    out_shape = [3, 7, 12] if batch_first else [7, 3, 12]
    assert stages["RNN layer"].output_shape == out_shape
    assert stages["RNN layer"].extra_shapes == {"h_n": [4, 3, 6], "c_n": [4, 3, 6]}
    assert stages["Last hidden state"].output_shape == [3, 12]
    assert "backward" in stages["Last hidden state"].description
    expected = model.encode(x, torch.tensor([7, 5, 2]))
    torch.testing.assert_close(
        torch.tensor(stages["Last hidden state"].sample), expected[:2, :4], atol=1e-4, rtol=0
    )
