"""SequenceSet validation and the stratified split."""

from __future__ import annotations

import numpy as np
import pytest

from rnntrace.data.sequences import SequenceSet, stratified_split
from rnntrace.errors import DataError


def test_from_sequences_pads_and_keeps_lengths() -> None:
    seqs = [np.ones((3, 2)), 2 * np.ones((5, 2)), 3 * np.ones((1, 2))]
    data = SequenceSet.from_sequences(seqs, [0, 1, 0], ["a", "b"])
    assert data.values.shape == (3, 5, 2)
    assert data.lengths.tolist() == [3, 5, 1]
    np.testing.assert_array_equal(data.sequence(0), np.ones((3, 2)))
    assert data.values[0, 3:].sum() == 0  # padding is zero
    assert not data.equal_length
    assert data.feature_names == ["f0", "f1"] and data.ids == ["0", "1", "2"]
    sub = data.subset([2, 0])
    assert sub.lengths.tolist() == [1, 3] and sub.ids == ["2", "0"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(values=np.zeros((0, 3, 2), np.float32)), "no sequences"),
        (dict(values=np.zeros((2, 3), np.float32)), "shape"),
        (dict(lengths=[3, 4]), "lengths"),
        (dict(labels=[0, 5]), "labels"),
        (dict(feature_names=["only-one"]), "names"),
    ],
)
def test_invalid_sets_are_refused(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = dict(
        values=np.zeros((2, 3, 2), np.float32), lengths=[3, 2], labels=[0, 1],
        class_names=["a", "b"], source="x.csv",
    )
    base.update(kwargs)
    with pytest.raises(DataError, match=message):
        SequenceSet(**base)  # type: ignore[arg-type]


def test_stratified_split_keeps_class_shares_and_is_seeded() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    train, held = stratified_split(labels, 0.2, seed=7)
    assert len(set(train) & set(held)) == 0 and len(train) + len(held) == 100
    assert np.bincount(labels[held]).tolist() == [10, 6, 4]
    again = stratified_split(labels, 0.2, seed=7)
    np.testing.assert_array_equal(held, again[1])
    assert not np.array_equal(held, stratified_split(labels, 0.2, seed=8)[1])
