"""read(): choosing a reader by suffix, refusing content that does not fit, check_compatible."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _errors import expect_error
from rnntrace.data.compatible import check_compatible
from rnntrace.data.readers import read, sniff
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError

CSV = "id,time,label,a,b\np,0,x,1,2\np,1,x,3,4\nq,0,y,5,6\nr,0,z,7,8\n"


def test_sniff_recognises_formats_by_their_first_bytes() -> None:
    assert sniff(b"PAR1\x15\x04") == "parquet"
    assert sniff(b"PK\x03\x04rest") == "zip"
    assert sniff(b"\x93NUMPY\x01\x00") == "npy"
    assert sniff("id,label\nü,1\n".encode()) == "text"
    assert sniff("é".encode()[:1]) == "text"  # a character cut at the end of the sample
    assert sniff(b"\xff\xfe\x00a") == "binary"
    assert sniff(b"abc\xc3\x28def") == "binary"


def test_file_level_problems(tmp_path: Path) -> None:
    expect_error(lambda: read(tmp_path / "none.csv"), "none.csv", "no such file")
    expect_error(lambda: read(tmp_path), str(tmp_path), "a directory")
    (tmp_path / "empty.ts").write_bytes(b"")
    expect_error(lambda: read(tmp_path / "empty.ts"), "empty.ts", "empty")
    (tmp_path / "d.xlsx").write_text(CSV)
    expect_error(lambda: read(tmp_path / "d.xlsx"), "d.xlsx", "unknown file type '.xlsx'",
                 ".csv, .tsv, .parquet")


@pytest.mark.parametrize("name", ["noise.csv", "noise.ts", "noise.tsv"])
def test_random_bytes_in_a_text_format(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(np.random.default_rng(0).bytes(4096))
    expect_error(lambda: read(tmp_path / name), name, "binary data, not")


def test_wrong_suffix_is_named_with_the_right_one(tmp_path: Path) -> None:
    pd.read_csv(io.StringIO(CSV)).to_parquet(tmp_path / "d.csv")
    expect_error(lambda: read(tmp_path / "d.csv"), "d.csv", "looks like Parquet",
                 "rename it to .parquet")
    (tmp_path / "d.parquet").write_text(CSV)
    expect_error(lambda: read(tmp_path / "d.parquet"), "d.parquet", "not a Parquet file",
                 "rename it to .csv")
    with (tmp_path / "d.dat").open("wb") as fh:  # np.save on a path would add ".npy"
        np.save(fh, np.zeros(3))
    expect_error(lambda: read(tmp_path / "d.dat"), "d.dat", "rename it to .npy")
    (tmp_path / "d.npz").write_text(CSV)
    expect_error(lambda: read(tmp_path / "d.npz"), "d.npz", "not a .npz archive")


def test_options_are_checked_before_reading(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(CSV)
    with pytest.raises(ConfigError, match="unknown nan policy 'zero'"):
        read(tmp_path / "d.csv", nan="zero")
    with pytest.raises(ConfigError, match="min_classes"):
        read(tmp_path / "d.csv", min_classes=0)
    with pytest.raises(ConfigError, match=r"labels= names the labels file of a \.npy X"):
        read(tmp_path / "d.csv", labels="y.npy")


def test_a_one_class_test_file_reads_with_min_classes_1(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,time,label,a,b\ns,0,y,1,1\n")
    expect_error(lambda: read(tmp_path / "t.csv"), "t.csv", "only 1 class")
    assert read(tmp_path / "t.csv", min_classes=1).class_names == ["y"]


def make(names: list[str], labels: list[int], features: tuple[str, ...] = ("a", "b"),
         source: str = "test.csv") -> SequenceSet:
    values = np.arange(len(labels) * 2 * len(features), dtype=np.float32)
    values = values.reshape(len(labels), 2, len(features))  # (N, T, F)
    return SequenceSet(values=values, lengths=np.full(len(labels), 2), labels=np.array(labels),
                       class_names=names, feature_names=list(features), source=source)


def test_check_compatible_renumbers_labels_to_the_training_classes() -> None:
    train = make(["x", "y", "z"], [0, 1, 2])
    test = make(["y", "z"], [1, 0, 1])  # z, y, z in the test file's own numbering
    aligned = check_compatible(train, test)
    assert aligned.class_names == ["x", "y", "z"]
    assert [aligned.class_names[c] for c in aligned.labels] == ["z", "y", "z"]
    assert aligned.values is test.values  # no copy


def test_check_compatible_names_what_differs() -> None:
    train = make(["x", "y"], [0, 1])
    expect_error(lambda: check_compatible(train, make(["w", "x", "v"], [0, 1, 2])),
                 "test.csv", "labels 'w', 'v'", "never saw", "'x', 'y'")
    expect_error(lambda: check_compatible(train, make(["x", "y"], [0, 1], ("a", "b", "c")),
                                          what="validation"),
                 "test.csv", "validation data has 3 features (a, b, c)", "training had 2 (a, b)")
    expect_error(lambda: check_compatible(train, make(["x", "y"], [0, 1], ("a", "B"))),
                 "test.csv", "'B' where training had 'b'")
    expect_error(lambda: check_compatible(train, make(["x", "y"], [0, 1], ("a",))),
                 "test.csv", "the test data has 1 feature (a) but training had 2 (a, b)")


def test_check_compatible_ignores_classes_a_ts_header_lists_but_the_file_lacks() -> None:
    train = make(["x", "y"], [0, 1])
    test = make(["x", "y", "never"], [0, 0, 1])
    assert check_compatible(train, test).labels.tolist() == [0, 0, 1]
