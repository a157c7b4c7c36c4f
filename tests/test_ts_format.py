"""UEA/UCR .ts files: a hand-written miniature read back value by value, and every bad header."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _errors import expect_error
from rnntrace.data.readers import read

FIXTURE = Path(__file__).parent / "fixtures" / "JapaneseVowelsMini.ts"

HEADER = """@problemName Tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 3
@classLabel true up down
@data
"""
GOOD = "1,2,3:4,5,6:up\n7,8,9:1,2,3:down\n"


def test_unequal_length_multivariate_fixture_reads_value_by_value() -> None:
    data = read(FIXTURE, nan="fill")
    assert data.class_names == ["3", "1", "2"]  # the header's order, not sorted
    assert [data.class_names[c] for c in data.labels] == ["1", "3", "2", "1"]
    np.testing.assert_array_equal(data.lengths, [4, 2, 3, 5])
    assert data.feature_names == ["dim_0", "dim_1", "dim_2"]
    np.testing.assert_array_equal(
        data.sequence(0), [[1, 0.5, -1], [2, 0.25, -2], [3, 0.125, -3], [4, 0.0625, -4]])
    np.testing.assert_array_equal(data.sequence(1), [[10, 30, 50], [20, 30, 60]])  # ? ← 30
    np.testing.assert_allclose(data.sequence(2), [[-0.5, 7, 1e-3], [0.5, 8, 2e-3],
                                                  [1.5, 9, 3e-3]], rtol=1e-6)
    assert data.values.shape == (4, 5, 3)
    assert np.all(data.values[1, 2:] == 0)


def test_missing_value_is_an_error_by_default_naming_line_and_series() -> None:
    expect_error(lambda: read(FIXTURE), "JapaneseVowelsMini.ts", "line 12 (series 1)",
                 "step 1 of dimension 1", "NaN")


def test_univariate_with_comments_and_trailing_commas(tmp_path: Path) -> None:
    path = tmp_path / "u.ts"
    path.write_text("#c\n@problemName U\n@univariate true\n@equalLength true\n"
                    "@classLabel true a b\n@data\n1,2,3,:a\n4,5,6:b\n")
    data = read(path)
    assert data.values.shape == (2, 3, 1)
    np.testing.assert_array_equal(data.values[:, :, 0], [[1, 2, 3], [4, 5, 6]])


def test_feature_subset_by_dimension_name(tmp_path: Path) -> None:
    path = tmp_path / "t.ts"
    path.write_text(HEADER + GOOD)
    data = read(path, features=["dim_1"])
    np.testing.assert_array_equal(data.values[:, :, 0], [[4, 5, 6], [1, 2, 3]])


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (HEADER.replace("@data\n", ""), ["no @data line"]),
        (HEADER.replace("@classLabel true up down\n", "") + GOOD,
         ["line 8", "@data comes before any @classLabel"]),
        (HEADER.replace("@missing false", "@missing maybe") + GOOD,
         ["line 3", "@missing must be true or false", "'maybe'"]),
        (HEADER.replace("@dimensions 2", "@dimensions two") + GOOD,
         ["line 5", "@dimensions must be a positive whole number"]),
        (HEADER.replace("@classLabel true up down", "@classLabel false") + GOOD,
         ["line 8", "@classLabel false"]),
        (HEADER.replace("@classLabel true up down", "@classLabel true") + GOOD,
         ["line 8", "lists no labels"]),
        (HEADER.replace("@timeStamps false", "@timeStamps true") + GOOD, ["@timeStamps true"]),
        (HEADER + GOOD + "1,2,3:sideways\n", ["line 12 (series 2)", "1 dimension but",
                                              "@dimensions says 2"]),
        (HEADER.replace("@univariate false\n@dimensions 2", "@univariate true") + GOOD,
         ["line 9 (series 0)", "2 dimensions but @univariate true means 1"]),
        (HEADER.replace("@dimensions 2\n", "") + "1,2,3:4,5,6:up\n1,2,3:down\n",
         ["line 10 (series 1)", "1 dimension but", "series 0 (line 9) has 2"]),
        (HEADER + "1,2,3:4,5,6:left\n", ["line 10 (series 0)", "label 'left'", "up down"]),
        (HEADER + "1,2,x:4,5,6:up\n", ["line 10 (series 0), dimension 0, value 2", "'x'"]),
        (HEADER + GOOD + "1,2:3,4:up\n", ["line 12 (series 2)", "2 steps", "@seriesLength"]),
        (HEADER + GOOD + "1,2,3:4,5,1e300:up\n", ["line 12 (series 2)", "step 2 of dimension 1",
                                                 "is inf"]),
        (HEADER + "1,2,3:4,5:up\n", ["line 10 (series 0)", "dimension 1 has 2 values"]),
        (HEADER + "1,2,3:4,5,6:up\n1,2,3:4,5,6:up\n", ["only 1 class", "'up'"]),
        (HEADER, ["no series after @data (line 9)"]),
        ("1,2,3:up\n", ["line 1", "comes before @data"]),
        # A regression file is read now (tests/test_heads.py); a class word as its target is not.
        (HEADER.replace("@classLabel true up down", "@targetLabel true") + GOOD,
         ["line 10", "'up' is not a number", "@targetLabel true"]),
    ],
)
def test_bad_ts_gives_one_line_naming_file_and_place(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "bad.ts"
    path.write_text(text)
    expect_error(lambda: read(path), "bad.ts", *fragments)
