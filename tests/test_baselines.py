"""What the baseline hides: the warning's rule and the attribution against data baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnntrace.attribution.baselines import (
    CLOSE_SHARE,
    baseline_check,
    data_attribution,
    draw_baselines,
    log_odds,
)
from rnntrace.attribution.sequences import attribute_sequences
from rnntrace.data.sequences import SequenceSet
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records.explanation import Explanation
from rnntrace.render.explain_text import attribution_lines


def _model(bidirectional: bool = False, batch_first: bool = True) -> SequenceClassifier:
    torch.manual_seed(3)
    model = SequenceClassifier(2, 3, 6, "gru", bidirectional=bidirectional,
                               batch_first=batch_first)
    model.standardize.set_statistics(torch.tensor([0.5, -1.0]), torch.tensor([1.5, 0.5]))
    return model


def _set(n: int = 12) -> SequenceSet:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 9, n)
    values = rng.normal(0, 2, (n, 8, 2)).astype(np.float32)
    for i, length in enumerate(lengths):
        values[i, length:] = 0
    return SequenceSet(values=values, lengths=lengths.astype(np.int64),
                       labels=(np.arange(n) % 3).astype(np.int64), class_names=["a", "b", "c"],
                       feature_names=["x0", "x1"], ids=[f"s{i}" for i in range(n)])


def test_log_odds_is_the_logit_of_the_probability() -> None:
    assert log_odds(0.5) == 0.0
    assert log_odds(0.9) == pytest.approx(math.log(9))
    assert math.isfinite(log_odds(1.0)) and math.isfinite(log_odds(0.0))


def test_the_warning_fires_on_one_side_of_its_threshold_only() -> None:
    m_x = log_odds(0.99)  # 4.595
    # A baseline scored for the class with just over, then just under, half of that margin.
    p_over = 1 / (1 + math.exp(-(CLOSE_SHARE * m_x + 0.01)))
    p_under = 1 / (1 + math.exp(-(CLOSE_SHARE * m_x - 0.01)))
    over = baseline_check([0.005, 0.99, 0.005], [(1 - p_over) / 2, p_over, (1 - p_over) / 2],
                          1, "mid")
    under = baseline_check([0.005, 0.99, 0.005], [(1 - p_under) / 2, p_under, (1 - p_under) / 2],
                           1, "mid")
    assert over.close and over.advice is not None and "'mid'" in over.advice
    assert "data_baselines" in over.advice
    assert not under.close and under.advice is None
    # A baseline taken for another class never hides this one, however close the margins.
    other = baseline_check([0.3, 0.4, 0.3], [0.1, 0.42, 0.48], 1, "mid")
    assert not other.close
    # Nor does anything when the input itself is not scored for the class (m_x ≤ 0).
    assert not baseline_check([0.5, 0.3, 0.2], [0.1, 0.8, 0.1], 1, "mid").close


def test_baselines_are_training_sequences_cut_or_continued_by_the_mean() -> None:
    pool = _set()
    fill = np.array([7.0, -7.0], dtype=np.float32)
    drawn = draw_baselines(pool, 6, 5, fill, seed=0)
    assert drawn.shape == (5, 6, 2)
    long_enough = [pool.sequence(i)[:6] for i in range(len(pool)) if pool.lengths[i] >= 6]
    for b in drawn:  # five sequences of ≥ 6 steps exist, so each is one of them, cut to 6
        assert any(np.array_equal(b, s) for s in long_enough)
    # Asked for more than there are long enough: short ones continued by the mean.
    many = draw_baselines(pool, 8, 40, fill, seed=1)
    short = [b for b in many if (b[-1] == fill).all()]
    assert short
    for b in short:  # some sequence's real steps, then the mean to the input's length
        assert any(np.array_equal(b[: pool.lengths[i]], pool.sequence(i))
                   and (b[pool.lengths[i]:] == fill).all() for i in range(len(pool)))
    assert np.array_equal(draw_baselines(pool, 6, 5, fill, seed=0), drawn)  # seeded
    never = draw_baselines(pool, 3, 60, fill, seed=2, exclude=0)
    assert not any(np.array_equal(b, pool.sequence(0)[:3]) for b in never)


@pytest.mark.parametrize(("bidirectional", "batch_first"), [(False, True), (True, False)])
def test_data_baselines_sum_to_the_input_against_the_mean_baseline_score(
    bidirectional: bool, batch_first: bool
) -> None:
    model = _model(bidirectional, batch_first)
    pool = _set()
    x = torch.from_numpy(pool.sequence(2))  # (T, F)
    drawn = torch.from_numpy(draw_baselines(pool, len(x), 6, np.zeros(2, np.float32), seed=0))
    found = data_attribution(model, x, 1, drawn, "test")
    with torch.no_grad():  # the independent truth: the model's own logits
        f_x = model(x.unsqueeze(0) if batch_first else x.unsqueeze(1))[0, 1]
        bases = drawn if batch_first else drawn.transpose(0, 1)
        f_b = model(bases)[:, 1]
    c = found.completeness
    assert c.f_input == pytest.approx(float(f_x), abs=1e-5)
    assert c.f_baseline == pytest.approx(float(f_b.mean()), abs=1e-5)
    assert c.holds
    total = np.asarray(found.values).sum()
    assert total == pytest.approx(float(f_x - f_b.mean()), abs=0.01 * max(abs(float(
        f_x - f_b.mean())), 0.01))
    assert np.allclose(np.asarray(found.values).sum(1), found.per_step)
    assert found.n_baselines == 6 and found.holds_each == 6


def test_records_carry_both_and_survive_json() -> None:
    model = _model()
    data = _set()
    (a,) = attribute_sequences(model, data, [4], pool=data)
    assert a.baseline_check is not None and a.data_baselines is not None
    assert len(a.data_baselines.values) == a.length
    with torch.no_grad():  # P(class | mean baseline) from the model itself
        mean = model.standardize.mean.expand(1, a.length, 2)
        p = torch.softmax(model(mean), -1)[0, a.target]
    assert a.baseline_check.p_baseline == pytest.approx(float(p), abs=1e-6)
    back = Explanation.from_json(Explanation(attribution=a, terms=[], units=None).to_json())
    assert back.attribution == a


def test_the_terminal_shows_the_warning_only_when_it_fires() -> None:
    model = _model()
    data = _set()
    (a,) = attribute_sequences(model, data, [4], occlusion=False)
    assert a.baseline_check is not None
    a.baseline_check.close, a.baseline_check.advice = True, "the baseline hides it"
    assert "⚠ the baseline hides it" in attribution_lines(a)
    a.baseline_check.close, a.baseline_check.advice = False, None
    assert not any(line.startswith("⚠") for line in attribution_lines(a))
