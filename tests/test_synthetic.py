"""The lesson data: learnable by an RNN, and only through the order of time steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnntrace.data.sequences import SequenceSet, stratified_split
from rnntrace.data.synthetic import lesson, shapes
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.train.fit import fit


def test_defaults_are_the_lesson() -> None:
    data = lesson()
    assert data.values.shape == (1000, 10, 5)
    assert data.values.dtype == np.float32
    assert data.class_names == ["rising", "falling", "peak"]
    counts = data.class_counts()
    assert counts.sum() == 1000 and counts.max() - counts.min() <= 1
    assert data.equal_length


def test_class_shapes_hold_the_same_values_in_different_orders() -> None:
    templates = shapes(10)
    for t in templates:
        np.testing.assert_allclose(np.sort(t), np.sort(templates[0]))
    assert np.all(np.diff(templates[0]) > 0)  # rising
    assert np.all(np.diff(templates[1]) < 0)  # falling
    peak = int(np.argmax(templates[2]))
    assert 0 < peak < 9
    assert np.all(np.diff(templates[2][: peak + 1]) > 0)
    assert np.all(np.diff(templates[2][peak:]) < 0)


def test_seeded_and_parameterised() -> None:
    a, b = lesson(seed=3), lesson(seed=3)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, lesson(seed=4).values)
    small = lesson(n_sequences=30, steps=7, n_features=2, noise=0.0)
    assert small.values.shape == (30, 7, 2)
    with pytest.raises(ConfigError, match="time steps"):
        lesson(steps=2)


def _train_val(data: SequenceSet, seed: int) -> tuple[SequenceSet, SequenceSet]:
    tr, va = stratified_split(data.labels, 0.2, seed)
    return data.subset(tr), data.subset(va)


def _mean_pool_accuracy(train: SequenceSet, val: SequenceSet) -> float:
    """A linear classifier on each sequence's time-averaged features: blind to order."""
    torch.manual_seed(0)
    x_tr = torch.from_numpy(train.values.mean(axis=1))
    x_va = torch.from_numpy(val.values.mean(axis=1))
    y_tr = torch.from_numpy(train.labels)
    clf = nn.Linear(train.n_features, train.n_classes)
    opt = torch.optim.Adam(clf.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(clf(x_tr), y_tr).backward()
        opt.step()
    pred = clf(x_va).argmax(1).numpy()
    return float((pred == val.labels).mean())


def _shuffled_time(data: SequenceSet, seed: int) -> SequenceSet:
    rng = np.random.default_rng(seed)
    values = np.stack([v[rng.permutation(v.shape[0])] for v in data.values])
    return SequenceSet(values, data.lengths, data.labels, data.class_names)


def _rnn_accuracy(train: SequenceSet, val: SequenceSet, seed: int = 0) -> float:
    torch.manual_seed(seed)
    model = SequenceClassifier()
    history = fit(model, train, val, seed=seed)
    acc = history.records[-1].val_accuracy
    assert acc is not None
    return acc


def test_order_blind_baselines_stay_near_chance_while_the_rnn_learns() -> None:
    data = lesson(seed=0)
    train, val = _train_val(data, 0)
    assert _mean_pool_accuracy(train, val) < 0.45
    shuffled = _shuffled_time(data, 1)
    s_train, s_val = _train_val(shuffled, 0)
    assert _rnn_accuracy(s_train, s_val) < 0.45
    assert _rnn_accuracy(train, val) >= 0.85
