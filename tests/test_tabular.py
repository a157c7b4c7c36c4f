"""CSV and Parquet long-format files read back into the arrays they were written from."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _errors import expect_error
from rnntrace.data.readers import read
from rnntrace.data.sequences import SequenceSet

IDS = ["007", "b", "c2", "c10", "x"]
LABELS = ["walk", "run", "walk", "sit", "run"]
LENGTHS = [3, 5, 1, 4, 2]


def sequences(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 2)).astype(np.float32) for n in LENGTHS]


def long_frame(seqs: list[np.ndarray], seed: int = 0) -> pd.DataFrame:
    """One row per step, rows shuffled so the reader has to sort them."""
    rows = [
        {"id": i, "time": 10 * t, "label": lab, "a": s[t, 0], "b": s[t, 1]}
        for i, lab, s in zip(IDS, LABELS, seqs, strict=True)
        for t in range(s.shape[0])
    ]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_long_format_reads_back_the_written_sequences(tmp_path: Path, suffix: str) -> None:
    seqs = sequences()
    frame = long_frame(seqs)
    path = tmp_path / f"walks{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    data = read(path)
    first_seen = list(dict.fromkeys(frame["id"]))  # sequences come in order of first appearance
    assert data.ids == first_seen
    assert data.class_names == ["run", "sit", "walk"]
    assert data.feature_names == ["a", "b"]
    for k, sid in enumerate(data.ids):
        i = IDS.index(sid)
        np.testing.assert_array_equal(data.sequence(k), seqs[i])
        assert data.class_names[data.labels[k]] == LABELS[i]
        assert data.lengths[k] == LENGTHS[i]
    padded = data.values[data.ids.index("c2")]
    assert np.all(padded[1:] == 0)  # padding past the single step


def test_integer_labels_sort_by_value_and_text_columns_are_left_out(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", "id,time,label,subject,a\n"
                     "s1,0,10,ann,1\ns1,1,10,ann,2\ns2,0,2,bob,3\ns3,0,1,cy,4\n")
    data = read(path)
    assert data.class_names == ["1", "2", "10"]
    assert data.feature_names == ["a"]
    assert [data.class_names[c] for c in data.labels] == ["10", "2", "1"]


def test_named_features_custom_columns_and_iso_dates(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", "seq,when,y,a,b,c\n"
                     "p,2024-01-02,yes,1,2,3\np,2024-01-01,yes,4,5,6\nq,2024-01-01,no,7,8,9\n")
    data = read(path, id="seq", time="when", label="y", features=["c", "a"])
    assert data.feature_names == ["c", "a"]
    np.testing.assert_array_equal(data.sequence(0), [[6, 4], [3, 1]])
    np.testing.assert_array_equal(data.sequence(1), [[9, 7]])


def test_time_none_keeps_file_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", "id,label,a\np,x,3\np,x,1\nq,y,2\n")
    data = read(path, time=None)
    np.testing.assert_array_equal(data.sequence(0)[:, 0], [3, 1])


def test_nan_drop_and_fill(tmp_path: Path) -> None:
    text = ("id,time,label,a,b\n"
            "p,0,x,,1\np,1,x,2,\np,2,x,3,4\n"  # p: a missing at t0, b missing at t1
            "q,0,y,5,6\nq,1,y,7,8\nr,0,y,9,inf\ns,0,x,1,1\n")
    path = write_csv(tmp_path / "w.csv", text)
    dropped = read(path, nan="drop")
    assert dropped.ids == ["q", "s"]
    assert dropped.class_names == ["x", "y"]
    np.testing.assert_array_equal(dropped.sequence(0), [[5, 6], [7, 8]])
    filled = read(path, nan="fill")
    # a: no value before t1 → 0; b: t1 carries 1 forward from t0; inf counts as missing
    np.testing.assert_array_equal(filled.sequence(0), [[0, 1], [2, 1], [3, 4]])
    np.testing.assert_array_equal(filled.sequence(2), [[9, 0]])


def test_nan_drop_that_leaves_one_class_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", "id,time,label,a\np,0,x,\nq,0,y,1\nr,0,y,2\n")
    expect_error(lambda: read(path, nan="drop"), "w.csv", "only 1 class", "'y'")


def test_a_hundred_thousand_shuffled_rows_match_the_array(tmp_path: Path) -> None:
    n, t, f = 2000, 50, 3  # 100,000 rows here; the 1,000,000-row timing is in the report
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, t, f)).astype(np.float32)
    y = rng.integers(0, 3, n)
    frame = pd.DataFrame({"id": np.repeat(np.arange(n), t), "time": np.tile(np.arange(t), n),
                          "label": np.repeat(y, t), "a": x[..., 0].ravel(),
                          "b": x[..., 1].ravel(), "c": x[..., 2].ravel()})
    frame = frame.sample(frac=1.0, random_state=2)
    frame.to_csv(tmp_path / "big.csv", index=False)
    data = read(tmp_path / "big.csv")
    order = [int(i) for i in data.ids]
    np.testing.assert_array_equal(data.values, x[order])
    np.testing.assert_array_equal(data.labels, y[order])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=6), st.integers(0, 10_000))
def test_any_shuffled_long_table_round_trips(lengths: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    seqs = [rng.standard_normal((n, 1)).astype(np.float32) for n in lengths]
    labels = [f"c{i % 2}" for i in range(len(lengths))]
    frame = pd.DataFrame([{"id": f"s{i}", "time": t, "label": labels[i], "v": s[t, 0]}
                          for i, s in enumerate(seqs) for t in range(len(s))])
    frame = frame.sample(frac=1.0, random_state=seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        frame.to_csv(path, index=False)
        data = read(path)
    for k, sid in enumerate(data.ids):
        np.testing.assert_array_equal(data.sequence(k), seqs[int(sid[1:])])
        assert data.class_names[data.labels[k]] == labels[int(sid[1:])]


GOOD_HEADER = "id,time,label,a,b\n"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["empty"]),
        ("   \n\n", ["empty"]),
        (GOOD_HEADER, ["a header but no rows"]),
        (GOOD_HEADER + "p,0,x,1,2\np,1,x,1,2,9\n", ["line 3", "6 fields", "header has 5"]),
        (GOOD_HEADER + "p,0,x,1,2\np,1,x,1\nq,0,y,1,2\n", ["line 3", "4 fields", "header has 5"]),
        (GOOD_HEADER + "p,0,x,1,2\np,1,x,1\n", ["line 3", "4 fields"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,y,1.5x,2\n",
         ["line 3", "id 'q'", "feature 'a'", "'1.5x'", "not a number"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,y,1,\n", ["line 3", "id 'q'", "feature 'b'", "is empty",
                                                 "--nan drop", "nan='drop'"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,y,nan,1\n",
         ["line 3", "id 'q'", "feature 'a' is NaN (not a number);", "--nan fill"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,y,NA,1\n",
         ["line 3", "feature 'a' is 'NA', read as NaN (not a number)"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,y,-inf,1\n", ["line 3", "id 'q'", "feature 'a'", "-inf"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,y,1,1e300\n", ["line 3", "feature 'b'", "is inf"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,x,1,2\n", ["only 1 class", "'x'"]),
        (GOOD_HEADER + "p,0,x,1,2\np,1,y,1,2\nq,0,y,1,2\n",
         ["id 'p'", "changes label", "'x' (line 2)", "'y' (line 3)"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,0,y,1,2\np,0,x,3,4\n",
         ["id 'p'", "two rows for time 0", "line 2 and line 4"]),
        (GOOD_HEADER + "p,0,x,1,2\n,1,y,1,2\n", ["line 3", "id cell is empty"]),
        (GOOD_HEADER + "p,0,x,1,2\nq,soon,y,1,2\n", ["line 3", "id 'q'", "time 'soon'"]),
        (GOOD_HEADER + "p,2024-01-01,x,1,2\np,1,x,1,2\nq,2,y,1,2\nq,3,y,1,2\n",
         ["line 2", "id 'p'", "time column 'time' mixes numbers and dates",
          "'2024-01-01' is a date but line 3 has a number, '1'"]),
        (GOOD_HEADER + "p,2024-01-01,x,1,2\np,2024-01-02,x,1,2\nq,2024-01-01,y,1,2\nq,7,y,1,2\n",
         ["line 5", "id 'q'", "mixes numbers and dates", "'7' is a number but line 2 has a date"]),
        ("id,time,y,a\np,0,x,1\n", ["no label column 'label'", "id, time, y, a",
                                    "--label (label= in Python)"]),
        ("ident,time,label,a\np,0,x,1\n", ["no id column 'id'", "ident, time, label, a"]),
        ("id,t,label,a\np,0,x,1\n", ["no time column 'time'", "id, t, label, a"]),
        ("id,time,label,name\np,0,x,ann\nq,0,y,bob\n", ["no numeric feature columns"]),
    ],
)
def test_bad_csv_gives_one_line_naming_file_and_place(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = write_csv(tmp_path / "bad.csv", text)
    expect_error(lambda: read(path), "bad.csv", *fragments)


def test_named_feature_that_is_absent_lists_the_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", GOOD_HEADER + "p,0,x,1,2\nq,0,y,1,2\n")
    expect_error(lambda: read(path, features=["a", "z"]), "w.csv", "no feature column 'z'",
                 "id, time, label, a, b")


def test_named_text_feature_is_an_error_not_skipped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", "id,time,label,a,who\np,0,x,1,ann\nq,0,y,1,bob\n")
    expect_error(lambda: read(path, features=["a", "who"]), "w.csv", "line 2", "'who'", "'ann'",
                 "--features (features=[...] in Python)")


@pytest.mark.parametrize("role", ["label", "id"])
def test_label_or_id_column_named_as_a_feature_is_refused(tmp_path: Path, role: str) -> None:
    path = write_csv(tmp_path / "w.csv", GOOD_HEADER + "p,0,0,1,2\nq,0,1,1,2\n")
    expect_error(lambda: read(path, features=["a", role]), "w.csv",
                 f"'{role}' is the {role} column and cannot also be a feature", "--features")


def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", GOOD_HEADER + "p,0,x,1,2\n\n\nq,0,y,oops,2\n")
    expect_error(lambda: read(path), "w.csv", "line 5", "'oops'")


def test_parquet_errors_name_rows(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["p", "q", "q"], "time": [0, 0, 1], "label": ["x", "y", "y"],
                          "a": [1.0, 2.0, np.nan]})
    frame.to_parquet(tmp_path / "w.parquet")  # pandas stores the NaN as a null
    expect_error(lambda: read(tmp_path / "w.parquet"), "w.parquet", "row 3", "id 'q'",
                 "feature 'a' is null (missing", "--nan drop")


def test_parquet_nan_value_is_named_nan(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"id": ["p", "q", "q"], "time": [0, 0, 1], "label": ["x", "y", "y"],
               "a": pa.array([1.0, np.nan, 3.0], from_pandas=False)}  # a real NaN, not a null
    pq.write_table(pa.table(columns), tmp_path / "w.parquet")
    expect_error(lambda: read(tmp_path / "w.parquet"), "w.parquet", "row 2", "id 'q'",
                 "feature 'a' is NaN (not a number)")


def test_integer_ids_and_labels_in_parquet_become_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [7, 7, 3], "time": [1, 0, 0], "label": [2.0, 2.0, 10.0],
                          "a": [1.0, 2.0, 3.0]})
    frame.to_parquet(tmp_path / "w.parquet")
    data: SequenceSet = read(tmp_path / "w.parquet")
    assert data.ids == ["7", "3"]
    assert data.class_names == ["2", "10"]
    np.testing.assert_array_equal(data.sequence(0)[:, 0], [2.0, 1.0])


def test_without_pandas_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "w.csv", GOOD_HEADER + "p,0,x,1,2\n")
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` raise ImportError
    expect_error(lambda: read(path), "w.csv", "needs pandas", "pip install pandas pyarrow")
