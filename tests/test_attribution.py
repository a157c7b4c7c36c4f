"""Integrated Gradients and step occlusion, checked against direct model calls."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from rnntrace.attribution.integrated import attribute
from rnntrace.attribution.occlusion import occlude_steps, rank_agreement
from rnntrace.attribution.sequences import attribute_sequences
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier

LENGTHS = [9, 4, 7, 2]


def _model(cell: str, bidirectional: bool, batch_first: bool = True) -> SequenceClassifier:
    torch.manual_seed(1)
    model = SequenceClassifier(3, 3, 5, cell, bidirectional=bidirectional,
                               batch_first=batch_first)
    model.standardize.set_statistics(torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.5, 0.5, 2.0]))
    return model


def _batch() -> tuple[Tensor, Tensor]:
    torch.manual_seed(2)
    x = torch.randn(len(LENGTHS), max(LENGTHS), 3) * 2  # (B, T, F)
    lengths = torch.tensor(LENGTHS)
    for i, n in enumerate(LENGTHS):
        x[i, n:] = 7.0  # padding that would change the answer if it were read
    return x, lengths


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_batch_is_attributed_as_each_sequence_alone(cell: str, bidirectional: bool) -> None:
    model = _model(cell, bidirectional)
    x, lengths = _batch()
    found = attribute(model, x, lengths)
    assert found.holds
    for i, n in enumerate(LENGTHS):
        c = found.completeness[i]
        assert abs(c.attribution_sum - (c.f_input - c.f_baseline)) <= c.tolerance * max(
            abs(c.f_input - c.f_baseline), c.floor)
        assert torch.equal(found.values[i, n:], torch.zeros_like(found.values[i, n:]))
        alone = attribute(model, x[i : i + 1, :n])  # no padding at all: the independent truth
        assert int(alone.target[0]) == int(found.target[i])
        torch.testing.assert_close(found.values[i, :n], alone.values[0], atol=2e-5, rtol=1e-4)


def test_f_input_and_baseline_are_the_models_own_logits() -> None:
    model = _model("lstm", True)
    x, lengths = _batch()
    found = attribute(model, x, lengths, target=2)
    with torch.no_grad():
        logits = model(x, lengths)
        mean = model.standardize.mean.expand_as(x).clone()
        for i, n in enumerate(LENGTHS):
            mean[i, n:] = x[i, n:]
        base = model(mean, lengths)
    assert [c.f_input for c in found.completeness] == pytest.approx(logits[:, 2].tolist())
    assert [c.f_baseline for c in found.completeness] == pytest.approx(base[:, 2].tolist())
    assert found.target.tolist() == [2] * len(LENGTHS)


class _Weighted(nn.Module):
    """f(x)_c = Σ_t,f w_c[t, f]·x[t, f]: Integrated Gradients is exactly w·(x − baseline)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.w = nn.Parameter(torch.randn(2, 4, 3))  # (C, T, F)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return torch.einsum("btf,ctf->bc", x, self.w)  # (B, C)


def test_any_module_with_a_sequence_forward_gets_the_exact_answer() -> None:
    model = _Weighted()
    x = torch.randn(2, 4, 3)
    found = attribute(model, x, target=1)
    expected = model.w[1].detach() * x  # baseline zeros
    torch.testing.assert_close(found.values, expected, atol=1e-5, rtol=1e-5)
    assert found.completeness[0].n_steps == 32


def test_a_time_major_model_gets_the_same_attribution() -> None:
    x, lengths = _batch()
    first = attribute(_model("gru", False), x, lengths)
    second = attribute(_model("gru", False, batch_first=False), x.transpose(0, 1), lengths)
    torch.testing.assert_close(first.values, second.values, atol=1e-6, rtol=1e-5)


def test_the_models_mode_is_left_as_found() -> None:
    model = _model("rnn", False)
    model.train()
    attribute(model, *_batch())
    assert model.training
    model.eval()
    attribute(model, *_batch())
    assert not model.training


def test_steps_are_raised_until_completeness_holds() -> None:
    model = _model("rnn", False)
    x, lengths = _batch()
    strict = attribute(model, x * 5, lengths, tolerance=1e-9, steps=(8, 16))
    assert strict.completeness[0].tried == [8, 16]  # never within 1e-9: every count was tried
    assert not strict.holds
    loose = attribute(model, x, lengths, tolerance=0.5, steps=(8, 16))
    assert loose.completeness[0].tried == [8] and loose.holds


def test_a_bad_target_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match=r"target class must lie in 0\.\.2"):
        attribute(_model("rnn", False), *_batch(), target=3)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_occlusion_is_the_logit_drop_of_each_step_set_to_the_mean(bidirectional: bool) -> None:
    model = _model("gru", bidirectional)
    x, lengths = _batch()
    found = attribute(model, x, lengths)
    drops = occlude_steps(model, x, lengths, found)
    mean = model.standardize.mean
    with torch.no_grad():
        for i, n in enumerate(LENGTHS):
            target = int(found.target[i])
            base = float(model(x[i : i + 1, :n])[0, target])
            for t in range(n):
                changed = x[i : i + 1, :n].clone()
                changed[0, t] = mean
                assert float(drops[i, t]) == pytest.approx(
                    base - float(model(changed)[0, target]), abs=1e-5)
            assert torch.equal(drops[i, n:], torch.zeros_like(drops[i, n:]))


def test_rank_agreement_is_spearmans_rho() -> None:
    assert rank_agreement([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]) == pytest.approx(1.0)
    assert rank_agreement([1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # ranks 0 1 2 3 against 1 0 3 2: rho = 1 − 6·4 / (4·15) = 0.6
    assert rank_agreement([1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0]) == pytest.approx(0.6)
    assert rank_agreement([1.0, 2.0], [1.0, 2.0]) is None
    assert rank_agreement([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None


def test_records_keep_real_steps_only_and_sum_consistently() -> None:
    model = _model("lstm", False)
    x, _ = _batch()
    data = SequenceSet.from_sequences(
        [x[i, :n].numpy() for i, n in enumerate(LENGTHS)], [0, 1, 2, 0], ["a", "b", "c"])
    records = attribute_sequences(model, data, [1, 3, 0])
    assert [r.length for r in records] == [4, 2, 9]
    for r in records:
        assert len(r.values) == r.length and len(r.per_step) == r.length
        assert sum(r.per_step) == pytest.approx(r.completeness.attribution_sum, abs=1e-9)
        assert sum(r.per_feature) == pytest.approx(r.completeness.attribution_sum, abs=1e-9)
        assert r.completeness.holds and r.occlusion is not None
        assert len(r.occlusion.per_step) == r.length
    assert records[2].occlusion is not None and records[2].occlusion.rank_agreement is not None


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_completeness_holds_for_a_trained_model_on_variable_length_data(
    cell: str, bidirectional: bool
) -> None:
    import numpy as np

    from rnntrace.config.settings import TrainConfig
    from rnntrace.data.synthetic import lesson
    from rnntrace.train.fit import fit
    from rnntrace.train.split import split_validation

    full = lesson(n_sequences=150, steps=16, seed=4)
    rng = np.random.default_rng(4)
    data = SequenceSet.from_sequences(
        [full.sequence(i)[: int(rng.integers(4, 17))] for i in range(len(full))],
        full.labels, full.class_names)
    config = TrainConfig(epochs=3, seed=4, checkpoint=False)
    train, held = split_validation(data, None, config)
    assert isinstance(train, SequenceSet) and isinstance(held, SequenceSet)
    torch.manual_seed(4)
    model = SequenceClassifier(5, 3, 6, cell, bidirectional=bidirectional)
    fit(model, train, held, config)
    records = attribute_sequences(model, held, list(range(12)))
    assert len({r.length for r in records}) > 3  # a padded (uni) or packed (bi) batch
    for r in records:
        c = r.completeness
        assert c.holds, (r.sequence_id, c.error, c.tried)
        assert abs(c.attribution_sum - (c.f_input - c.f_baseline)) <= c.tolerance * max(
            abs(c.f_input - c.f_baseline), c.floor)


def test_the_scope_leaves_cudnn_alone_on_the_cpu_and_restores_the_mode() -> None:
    from rnntrace.attribution.scope import attribution_scope

    model = _model("lstm", False)
    model.train()
    before = torch.backends.cudnn.enabled
    with torch.no_grad(), attribution_scope(model):
        assert not model.training and torch.is_grad_enabled()
        assert torch.backends.cudnn.enabled == before  # only a CUDA model turns it off
    assert model.training and torch.backends.cudnn.enabled == before
