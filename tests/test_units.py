"""Unit responses, per-unit equation terms and the hardest cases, against independent truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnntrace.attribution.explanation import explain
from rnntrace.attribution.hardest import losses
from rnntrace.attribution.terms import unit_terms
from rnntrace.attribution.units import _anova_f, unit_responses
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.synthetic import lesson
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.tracing.prediction import trace_prediction, trace_steps


def _model(cell: str, bidirectional: bool = False) -> SequenceClassifier:
    torch.manual_seed(0)
    return SequenceClassifier(5, 3, 4, cell, bidirectional=bidirectional)


def _ragged() -> SequenceSet:
    data = lesson(n_sequences=24, seed=1)
    rng = np.random.default_rng(0)
    cut = [data.sequence(i)[: int(rng.integers(3, 11))] for i in range(len(data))]
    return SequenceSet.from_sequences(cut, data.labels, data.class_names, ids=data.ids)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_terms_add_up_to_the_traced_pre_activations_and_gates(cell: str) -> None:
    model, data = _model(cell), lesson(n_sequences=9, seed=3)
    (terms,) = unit_terms(model, data, 4)
    steps, _ = trace_steps(model, data, 4)
    assert terms.max_abs_diff < 1e-5
    for mine, traced in zip(terms.steps, steps, strict=True):
        assert mine.step == traced.step
        for name, gate in mine.gates.items():
            total = np.add(np.add(gate.from_x, gate.from_h), gate.bias)
            # each term is kept to 6 decimals, so their sum may differ in the last one or two
            assert gate.pre == pytest.approx(total.tolist(), abs=2e-6)
            expected = traced.pre_activation.get(name, traced.pre_activation.get("a"))
            assert gate.pre == pytest.approx(expected, abs=1e-5)
            if traced.gates:
                assert gate.value == pytest.approx(traced.gates[name], abs=1e-5)
        assert mine.h == pytest.approx(traced.h_torch, abs=1e-5)


def test_projected_lstm_terms_add_up_and_h_is_pytorchs_projection() -> None:
    """proj_size: the same one cell step (tracing.equations), so its terms exist too."""
    torch.manual_seed(0)
    model, data = SequenceClassifier(5, 3, 6, "lstm", proj_size=3), lesson(n_sequences=9, seed=3)
    (terms,) = unit_terms(model, data, 2)
    assert terms.max_abs_diff < 1e-5  # h_t recomputed against what nn.LSTM returned
    p = trace_prediction(model, data, 2)
    np.testing.assert_allclose([s.h for s in terms.steps], p.hidden_states, atol=1e-5)
    for step in terms.steps:
        assert len(step.h) == 3 and step.c is not None and len(step.c) == 6
        for gate in step.gates.values():
            total = np.add(np.add(gate.from_x, gate.from_h), gate.bias)
            assert gate.pre == pytest.approx(total.tolist(), abs=2e-6)


def test_backward_terms_match_the_layers_own_output() -> None:
    model, data = _model("gru", bidirectional=True), _ragged()
    forward, backward = unit_terms(model, data, 5)
    assert backward.direction == "backward" and backward.max_abs_diff < 1e-5
    p = trace_prediction(model, data, 5)
    states = np.asarray(p.hidden_states)  # (T, 2H)
    np.testing.assert_allclose([s.h for s in backward.steps], states[:, 4:], atol=1e-5)
    np.testing.assert_allclose([s.h for s in forward.steps], states[:, :4], atol=1e-5)


def test_units_peaks_and_class_means_over_real_steps_only() -> None:
    model, data = _model("lstm", bidirectional=True), _ragged()
    summary = unit_responses(model, data, peaks=2)
    states = [np.asarray(trace_prediction(model, data, i).hidden_states) for i in range(len(data))]
    for unit in summary.units:
        u = unit.unit
        every = sorted(((abs(s[t, u]), s[t, u]) for s in states for t in range(len(s))),
                       reverse=True)
        assert [p.value for p in unit.peaks] == pytest.approx([v for _, v in every[:2]], abs=1e-6)
        for c in range(data.n_classes):
            rows = np.concatenate([s[:, u] for s, y in zip(states, data.labels, strict=True)
                                   if y == c])
            assert unit.class_means[c] == pytest.approx(rows.mean(), abs=1e-6)
    assert summary.separating[0] == max(range(8), key=lambda u: summary.units[u].f_score or 0)


def test_anova_f_by_hand() -> None:
    # groups [1, 2, 3] and [5, 6, 7]: between = 3·(2−4)² + 3·(6−4)² = 24 over 1 df,
    # within = 2 + 2 = 4 over 4 df, so F = 24 / 1 = 24.
    values = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])
    assert _anova_f(values, np.array([0, 0, 0, 1, 1, 1]), 2) == pytest.approx(24.0)
    assert _anova_f(values, np.array([0] * 6), 2) is None


def test_hard_cases_are_the_largest_losses_with_their_own_attribution() -> None:
    model, data = _model("rnn"), _ragged()
    loss = losses(model, data)
    with torch.no_grad():
        for i in range(len(data)):
            x = torch.from_numpy(data.sequence(i)).unsqueeze(0)
            expected = torch.nn.functional.cross_entropy(model(x), torch.tensor([data.labels[i]]))
            assert loss[i] == pytest.approx(float(expected), abs=1e-5)
    found = explain(model, data, hard_cases=3)
    assert [c.loss for c in found.hard_cases] == pytest.approx(sorted(loss)[::-1][:3])
    for case in found.hard_cases:
        assert case.attribution.sequence_id == case.prediction.sequence_id
        assert case.attribution.completeness.holds
        assert len(case.prediction.hidden_states) == case.prediction.length
    again = type(found).from_json(found.to_json())
    assert again == found


@pytest.mark.parametrize("summary", ["max", "mean", "attention"])
def test_a_hard_case_shows_the_summary_its_model_really_feeds_the_head(summary: str) -> None:
    torch.manual_seed(0)
    model, data = SequenceClassifier(5, 3, 4, "gru", bidirectional=True, summary=summary), _ragged()
    (case,) = explain(model, data, hard_cases=1).hard_cases
    i = data.ids.index(case.prediction.sequence_id)
    with torch.no_grad():
        x = torch.from_numpy(data.sequence(i)).unsqueeze(0)  # (1, T, F), alone
        model.eval()
        expected = model.encode(x)[0]  # what the head reads
    np.testing.assert_allclose(case.prediction.last_hidden, expected.numpy(), atol=1e-5)
    assert case.prediction.summary is not None and case.prediction.summary.kind == summary
