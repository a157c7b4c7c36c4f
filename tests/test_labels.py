"""Class names in natural order and integer codes that index them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntrace.data.labels import encode, label_strings, natural_order, require_classes
from rnntrace.data.readers import read
from rnntrace.errors import DataError


def test_natural_order() -> None:
    assert natural_order(["10", "9", "-1", "2.5"]) == ["-1", "2.5", "9", "10"]
    assert natural_order(["w10", "w2", "W1", "b"]) == ["b", "W1", "w2", "w10"]
    assert natural_order(["run", "Walk", "sit"]) == ["run", "sit", "Walk"]


def test_integral_floats_name_the_same_class_as_integers() -> None:
    assert label_strings(np.array([1.0, 2.0])).tolist() == ["1", "2"]
    assert label_strings(np.array([1.5, 2.0])).tolist() == ["1.5", "2.0"]
    assert label_strings(np.array([True, False])).tolist() == ["1", "0"]


def test_integral_float_text_names_the_classes_as_the_numbers_do() -> None:
    assert label_strings(np.array(["0.0", "1.0", "1"])).tolist() == ["0", "1", "1"]
    assert label_strings(np.array(["-1.0", "2e0"])).tolist() == ["-1", "2"]
    # Text that is not such a number is kept as written, and so is the rest with it.
    assert label_strings(np.array(["007", "1.5"])).tolist() == ["007", "1.5"]
    assert label_strings(np.array(["1.0", "a"])).tolist() == ["1.0", "a"]


def test_a_float_label_column_names_the_same_classes_from_csv_and_parquet(tmp_path: Path
                                                                        ) -> None:
    # pandas writes a float column to CSV as "0.0"/"1.0" and to Parquet as float64: the same
    # data must be the same classes whichever file the user has.
    pd = pytest.importorskip("pandas")
    rows = [{"id": i, "time": t, "a": float(i + t), "label": float(i % 2)}
            for i in range(6) for t in range(3)]
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    assert "0.0" in (tmp_path / "d.csv").read_text()
    from_csv, from_parquet = read(tmp_path / "d.csv"), read(tmp_path / "d.parquet")
    assert from_csv.class_names == from_parquet.class_names == ["0", "1"]
    assert from_csv.labels.tolist() == from_parquet.labels.tolist() == [0, 1, 0, 1, 0, 1]


def test_encode_with_and_without_a_given_order() -> None:
    codes, names = encode(np.array([10, 2, 10, 1]))
    assert names == ["1", "2", "10"] and codes.tolist() == [2, 1, 2, 0]
    codes, names = encode(np.array(["b", "a"]), order=["b", "a", "c"])
    assert names == ["b", "a", "c"] and codes.tolist() == [0, 1]
    with pytest.raises(ValueError, match="'d'"):
        encode(np.array(["d"]), order=["a"])
    # A run saved with classes named "0.0", "1.0" still reads such labels, under its own names.
    codes, names = encode(np.array(["1.0", "0.0", "1"]), order=["0.0", "1.0"])
    assert names == ["0.0", "1.0"] and codes.tolist() == [1, 0, 1]


def test_require_classes() -> None:
    require_classes(["a", "b"], 2, "f.csv")
    with pytest.raises(DataError, match=r"f\.csv: only 1 class"):
        require_classes(["a"], 2, "f.csv")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.integers(-50, 50), st.sampled_from(["a", "b10", "b9"])),
                min_size=1, max_size=20))
def test_codes_always_point_back_to_the_label(raw: list[int | str]) -> None:
    text = [str(r) for r in raw]
    codes, names = encode(np.array(text))
    assert [names[c] for c in codes] == text
    assert sorted(names) == sorted(set(text))
