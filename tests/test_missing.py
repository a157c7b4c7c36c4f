"""NaN policies on padded arrays, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from rnntrace.data import missing
from rnntrace.errors import ConfigError, DataError

NAN = np.nan


def example() -> tuple[np.ndarray, np.ndarray]:
    values = np.array([
        [[NAN, 1.0], [2.0, NAN], [NAN, NAN], [0.0, 0.0]],  # length 3
        [[5.0, 6.0], [7.0, 8.0], [NAN, NAN], [NAN, NAN]],  # length 2: NaN only in padding
    ], dtype=np.float32)  # (N=2, T=4, F=2)
    return values, np.array([3, 2])


def test_first_nonfinite_skips_padding() -> None:
    values, lengths = example()
    assert missing.first_nonfinite(values, lengths) == (0, 0, 0)
    assert missing.first_nonfinite(values[1:], lengths[1:]) is None
    assert missing.nonfinite_sequences(values, lengths).tolist() == [True, False]


def test_fill_forward_by_hand() -> None:
    values, lengths = example()
    filled = missing.fill_forward(values, lengths)
    np.testing.assert_array_equal(filled[0], [[0, 1], [2, 1], [2, 1], [0, 0]])
    np.testing.assert_array_equal(filled[1], [[5, 6], [7, 8], [0, 0], [0, 0]])


def where(i: int, t: int, j: int) -> str:
    return f"f: seq {i} step {t} feat {j}"


def test_apply_policies() -> None:
    values, lengths = example()
    with pytest.raises(DataError, match=r"^f: seq 0 step 0 feat 0 is NaN \(missing\); clean"):
        missing.apply(values, lengths, "error", "f", where)
    kept, keep = missing.apply(values, lengths, "drop", "f", where)
    assert keep is not None and keep.tolist() == [1]
    np.testing.assert_array_equal(kept[0, :2], values[1, :2])
    assert np.all(kept[0, 2:] == 0)  # the NaN padding is not carried into the copy
    clean = values[1:].copy()
    same, keep = missing.apply(clean, lengths[1:], "fill", "f", where)
    assert same is clean and keep is None
    with pytest.raises(DataError, match="f: every sequence"):
        missing.apply(values[:1], lengths[:1], "drop", "f", where)
    with pytest.raises(ConfigError):
        missing.check_policy("mean")


def test_zero_padding_leaves_real_steps() -> None:
    values, lengths = example()
    before = values.copy()
    missing.zero_padding(values, lengths)
    assert np.all(values[1, 2:] == 0) and np.all(values[0, 3] == 0)
    np.testing.assert_array_equal(values[0, :3], before[0, :3])
    np.testing.assert_array_equal(values[1, :2], before[1, :2])
