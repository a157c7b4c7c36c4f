"""The conv front end's BatchNorm: training statistics from the real steps alone.

Truth is torch's own nn.BatchNorm1d run on the real steps of the batch laid end to end, with
no padding in it at all.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnntrace.model.frontends import FrontEnd, MaskedBatchNorm1d

LENGTHS = [7, 2, 5, 1]
C, T = 4, 7


def _padded() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = torch.randn(len(LENGTHS), C, T) * 2 + 1  # (B, C, T)
    for i, n in enumerate(LENGTHS):
        x[i, :, n:] = 50.0  # padding that would move the statistics if it were counted
    mask = (torch.arange(T).view(1, 1, -1) < torch.tensor(LENGTHS).view(-1, 1, 1)).float()
    return x, mask  # mask (B, 1, T)


def _real_steps(x: torch.Tensor) -> torch.Tensor:
    """(1, C, N): every sequence's real steps side by side, N = sum of lengths."""
    return torch.cat([x[i, :, :n] for i, n in enumerate(LENGTHS)], dim=1).unsqueeze(0)


def _pair(momentum: float | None) -> tuple[MaskedBatchNorm1d, nn.BatchNorm1d]:
    masked, plain = MaskedBatchNorm1d(C, momentum=momentum), nn.BatchNorm1d(C, momentum=momentum)
    with torch.no_grad():
        masked.weight.copy_(torch.tensor([0.5, 1.5, -1.0, 2.0]))
        masked.bias.copy_(torch.tensor([0.1, -0.3, 0.0, 1.0]))
    plain.load_state_dict(masked.state_dict())  # the same names and values
    return masked, plain


def test_training_statistics_equal_batchnorm_over_the_real_steps_alone() -> None:
    x, mask = _padded()
    for momentum in (0.1, None):  # exponential and cumulative running averages
        masked, plain = _pair(momentum)
        for _ in range(2):  # two updates of the running statistics
            out = masked(x, mask)
            truth = plain(_real_steps(x))
            assert torch.allclose(_real_steps(out), truth, atol=1e-5)
        assert torch.allclose(masked.running_mean, plain.running_mean, atol=1e-6)
        assert torch.allclose(masked.running_var, plain.running_var, atol=1e-5)
        assert int(masked.num_batches_tracked) == int(plain.num_batches_tracked) == 2


def test_padding_does_not_change_a_sequence_in_training() -> None:
    x, mask = _padded()
    masked, _ = _pair(0.1)
    out = masked(x, mask)
    changed = torch.where(mask.bool(), x, torch.tensor(-7.0))  # other padding values
    again, _ = _pair(0.1)
    assert torch.allclose(_real_steps(again(changed, mask)), _real_steps(out), atol=1e-6)


def test_without_a_mask_and_in_eval_it_is_batchnorm() -> None:
    x, mask = _padded()
    masked, plain = _pair(0.1)
    assert torch.allclose(masked(x), plain(x), atol=1e-6)  # training, no mask: every step
    masked.eval()
    plain.eval()
    assert torch.equal(masked(x, mask), plain(x))  # eval: the running statistics


def test_front_end_trains_on_real_steps_only() -> None:
    """One training step of the conv front end sees the same statistics however long the
    padding is: a batch padded to 9 steps and to 30 steps give the same real outputs."""
    torch.manual_seed(0)
    lengths = torch.tensor([9, 3, 6])
    x = torch.randn(3, 9, 2)
    outputs = []
    for steps in (9, 30):
        torch.manual_seed(1)
        front = FrontEnd(2, "conv", window=1).train()
        padded = torch.nn.functional.pad(x, (0, 0, 0, steps - 9), value=4.0)  # (B, steps, F)
        outputs.append(front(padded, lengths)[:, :9])
        running = front.blocks[0][1].running_mean.clone()
        outputs.append(running.view(1, 1, -1).expand(3, 9, -1))
    assert torch.allclose(outputs[0], outputs[2], atol=1e-5)
    assert torch.allclose(outputs[1], outputs[3], atol=1e-6)


def test_weights_saved_with_redundant_biases_load_to_the_same_outputs(tmp_path) -> None:
    # Runs saved before the convolutions lost their (meaningless) bias still load and predict
    # exactly as they did: the old block, computed here with torch.nn.functional, is the truth.
    from safetensors.torch import save_file

    from rnntrace.model.classifier import SequenceClassifier
    from rnntrace.run.directory import load_weights

    torch.manual_seed(1)
    model = SequenceClassifier(n_features=2, front_end="conv", window=3,
                               summary="attention").eval()
    old = {k: v.clone() for k, v in model.state_dict().items()}
    old["attention.score.bias"] = torch.tensor([2.5])  # softmax over steps ignores it
    biases = {}
    for i in range(len(model.front.blocks)):  # type: ignore[union-attr]
        biases[i] = torch.randn(old[f"front.blocks.{i}.1.running_mean"].shape)
        old[f"front.blocks.{i}.0.bias"] = biases[i]
        old[f"front.blocks.{i}.1.running_mean"] = torch.randn(biases[i].shape)
        old[f"front.blocks.{i}.1.running_var"] = torch.rand(biases[i].shape) + 0.5
    save_file(old, tmp_path / "model.safetensors")
    load_weights(tmp_path / "model.safetensors", model)

    z = torch.randn(3, 12, 2)
    expected = z.reshape(3, 4, 6).transpose(1, 2)  # windows of 3 steps, (B, 6, T/3)
    for i in range(len(biases)):
        p = f"front.blocks.{i}."
        conv = nn.functional.conv1d(expected, old[p + "0.weight"], biases[i],
                                    padding=old[p + "0.weight"].shape[-1] // 2)
        expected = torch.relu(nn.functional.batch_norm(
            conv, old[p + "1.running_mean"], old[p + "1.running_var"],
            old[p + "1.weight"], old[p + "1.bias"], training=False, eps=1e-5))
    with torch.no_grad():
        got = model.front(z)  # type: ignore[misc]
    assert torch.allclose(got, expected.transpose(1, 2), atol=1e-5)
    with torch.no_grad():  # the old score, bias and all, weights the steps as the new one does
        out = torch.randn(3, 5, model.attention.score.in_features)  # type: ignore[union-attr]
        old_scores = out @ old["attention.score.weight"][0] + old["attention.score.bias"]
        mask = torch.ones(3, 5, dtype=torch.bool)
        new_weights = model.attention.weights(out, mask)  # type: ignore[union-attr]
    assert torch.allclose(new_weights, torch.softmax(old_scores, dim=1), atol=1e-6)


def test_resampling_is_np_interp_over_each_sequence_s_real_steps_alone() -> None:
    from rnntrace.model.frontends import resample

    torch.manual_seed(0)
    lengths = [9, 4, 1, 6]
    z = torch.randn(4, 9, 2)
    for i, n in enumerate(lengths):
        z[i, n:] = 1e6  # padding: any value read would show
    out = resample(z, torch.tensor(lengths), 7)  # (4, 7, 2)
    for i, n in enumerate(lengths):
        for f in range(2):
            expected = np.interp(np.linspace(0, n - 1, 7), np.arange(n), z[i, :n, f].numpy())
            np.testing.assert_allclose(out[i, :, f].numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_resampling_model_predicts_each_padded_sequence_as_it_does_alone(
    cell: str, bidirectional: bool
) -> None:
    from rnntrace.model.classifier import SequenceClassifier

    torch.manual_seed(1)
    model = SequenceClassifier(3, 4, 6, cell, bidirectional=bidirectional, front_end="conv",
                               window=2, resample=10, summary="max").eval()
    lengths = [10, 3, 7, 1]
    x = torch.randn(4, 10, 3)
    for i, n in enumerate(lengths):
        x[i, n:] = 1e6
    with torch.no_grad():
        batch = model(x, torch.tensor(lengths))
        alone = torch.cat([model(x[i : i + 1, :n]) for i, n in enumerate(lengths)])
    torch.testing.assert_close(batch, alone, rtol=1e-4, atol=1e-5)


def test_the_trace_names_the_resampling_stage_with_its_shapes() -> None:
    from rnntrace.config.settings import ModelConfig
    from rnntrace.data.synthetic import lesson
    from rnntrace.errors import ConfigError
    from rnntrace.experiment.assemble import assemble_trace
    from rnntrace.model.classifier import SequenceClassifier

    data = lesson(n_sequences=12, seed=0)
    model = SequenceClassifier(5, 3, 4, "gru", resample=16).eval()
    stage = next(s for s in assemble_trace(model, data).stages if s.name.startswith("Front"))
    assert stage.name == "Front end: resample"
    assert stage.input_shape[1:] == [10, 5] and stage.output_shape[1:] == [16, 5]
    assert "resampled to 16 evenly spaced steps" in stage.description
    with pytest.raises(ConfigError, match="resample"):
        ModelConfig(resample=-1)
    with pytest.raises(ConfigError, match="token ids"):
        ModelConfig(vocab_size=10, resample=5)
