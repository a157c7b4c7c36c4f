"""Each class of bad data file a fuzzer once found, as the smallest file that shows it.

Every one either reads correctly or is refused with one DataError line naming the file; none
raises another exception, allocates what its header merely claims, or leaks a warning (warnings
are errors in these tests).
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import rnntrace as rt
from _errors import expect_error
from rnntrace.data import numbers
from rnntrace.errors import DataError, printable

HEADER = "id,time,label,a\n"


def _csv(tmp_path: Path, body: str, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


# ------------------------------------------------------------------ CSV / TSV

def test_a_row_with_one_field_more_than_the_header_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "s0,0,up,1.0,\ns0,1,up,2.0,\ns1,0,dn,1.0,\n")
    expect_error(lambda: rt.read(path), "d.csv line 2", "5 fields where the header has 4",
                 "trailing separator")


def test_iso_times_with_different_offsets_are_ordered_as_instants(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "s0,2020-01-01T10:00:00+02:00,up,2\n"  # 08:00 UTC
                "s0,2020-01-01T09:00:00+00:00,up,3\n"  # 09:00 UTC
                "s0,2020-01-01T07:30:00+00:00,up,1\ns1,2020-01-01,dn,5\n")
    data = rt.read(path)
    np.testing.assert_array_equal(data.values[0, :, 0], [1, 2, 3])


@pytest.mark.parametrize("time", ["1e400", "-1e400", "inf"])
def test_a_time_that_is_not_finite_is_refused(tmp_path: Path, time: str) -> None:
    path = _csv(tmp_path, HEADER + f"s0,0,up,1\ns0,{time},up,2\ns1,0,dn,3\n")
    expect_error(lambda: rt.read(path), "d.csv line 3", "not a finite number")


@pytest.mark.parametrize("cell", ["NA", "None", "null"])
def test_a_missing_marker_in_the_label_column_is_named_as_written(tmp_path: Path,
                                                                  cell: str) -> None:
    path = _csv(tmp_path, HEADER + f"s0,0,{cell},1\ns1,0,dn,2\n")
    expect_error(lambda: rt.read(path), "d.csv line 2", f"the label cell is '{cell}'",
                 "reads as missing")


def test_an_ansi_escape_in_a_column_name_is_shown_escaped(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\x1b[2J\x1b[H,time,label,a\ns0,0,up,1\n")
    message = expect_error(lambda: rt.read(path), "no id column", r"\x1b[2J")
    assert "\x1b" not in message and message.isprintable()


def test_printable_escapes_controls_and_bidi_overrides_only() -> None:
    assert printable("naïve 🙂 a\tb") == "naïve 🙂 a b"
    assert printable("\x1b[31m\u202e\x00") == r"\x1b[31m\u202e\x00"
    assert DataError("x.csv: column 'a\nb\x07'").message == r"x.csv: column 'a b\x07'"


@pytest.mark.parametrize("value", ["1_000", "١٢", "0x10", "1d5", "²"])
def test_csv_and_ts_refuse_the_same_non_numbers(tmp_path: Path, value: str) -> None:
    assert not numbers.is_number(value)
    csv_path = _csv(tmp_path, HEADER + f"s0,0,up,{value}\ns0,1,up,1\ns1,0,dn,2\n")
    expect_error(lambda: rt.read(csv_path, features=["a"]), "d.csv line 2", "not a number")
    ts_path = _csv(tmp_path, f"@classLabel true a b\n@data\n1,{value}:a\n2:b\n", "d.ts")
    expect_error(lambda: rt.read(ts_path), "d.ts line 3", f"{value!r} is not a number")


def test_the_number_rule_takes_linear_time_on_a_long_digit_run() -> None:
    start = time.perf_counter()
    assert not numbers.is_number("9" * 200_000 + "x")
    assert numbers.is_number("9" * 200_000 + ".5e3")
    assert time.perf_counter() - start < 0.5


# ------------------------------------------------------------------ .ts

@pytest.mark.parametrize("line", ["@dimensions ²", "@seriesLength ①", "@dimensions 1" + "0" * 20])
def test_a_ts_count_in_other_digits_or_too_long_is_refused(tmp_path: Path, line: str) -> None:
    path = _csv(tmp_path, f"{line}\n@classLabel true a b\n@data\n1,2:a\n", "d.ts")
    expect_error(lambda: rt.read(path), "d.ts line 1", "must be a positive whole number")


def test_trailing_empty_ts_cells_are_missing_values(tmp_path: Path) -> None:
    path = _csv(tmp_path, "@classLabel true a b\n@data\n1,2,,:a\n4,5,6,7:b\n", "d.ts")
    expect_error(lambda: rt.read(path), "series 0", "step 2", "NaN")
    data = rt.read(path, nan="fill")
    assert data.lengths.tolist() == [3, 4]  # one trailing comma ends the list; ",," is a cell
    np.testing.assert_array_equal(data.values[0, :3, 0], [1, 2, 2])


# ------------------------------------------------------------------ .npy / .npz

def _npy(array: np.ndarray, header_edit: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    data = buffer.getvalue()
    if header_edit is None:
        return data
    size = struct.unpack("<H", data[8:10])[0]
    header = data[10 : 10 + size].decode("latin1").replace(*header_edit)
    return data[:8] + struct.pack("<H", len(header)) + header.encode("latin1") + data[10 + size :]


def _npz(path: Path, members: list[tuple[str, bytes]], deflate: bool = False) -> Path:
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


X = np.zeros((2, 3, 1), np.float32)
Y = np.array([0, 1])


def test_an_npz_member_that_is_not_an_npy_array_is_refused(tmp_path: Path) -> None:
    path = _npz(tmp_path / "d.npz", [("X", b"not an array"), ("y.npy", _npy(Y))])
    expect_error(lambda: rt.read(path), "d.npz", "member 'X' is not an .npy array")
    path = _npz(tmp_path / "d.npz", [("X.npy", b"\x93NUMPY junk"), ("y.npy", _npy(Y))])
    expect_error(lambda: rt.read(path), "d.npz", "array 'X'", "not a readable .npy array")


def test_an_npz_holding_x_twice_is_refused(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile's own, writing it
        path = _npz(tmp_path / "d.npz", [("X.npy", _npy(X)), ("X.npy", _npy(X + 1)),
                                         ("y.npy", _npy(Y))])
    expect_error(lambda: rt.read(path), "d.npz", "'X.npy' twice")


def test_a_structured_label_array_is_refused(tmp_path: Path) -> None:
    y = np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")])
    path = _npz(tmp_path / "d.npz", [("X.npy", _npy(X)), ("y.npy", _npy(y))])
    expect_error(lambda: rt.read(path), "d.npz", "array 'y'", "structured array")


def test_a_broken_header_dictionary_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "y.npy").write_bytes(_npy(Y, ("'descr'", "'descr' (")))
    expect_error(lambda: rt.read(tmp_path / "X.npy"), "y.npy", "header is not a dictionary")


def test_a_negative_dimension_in_a_mapped_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "X.npy").write_bytes(_npy(X, ("(2, 3, 1)", "(-2, 3, 1)")))
    np.save(tmp_path / "y.npy", Y)
    expect_error(lambda: rt.read(tmp_path / "X.npy"), "X.npy", "shape (-2, 3, 1)")


@pytest.mark.parametrize("shape", ["(1000000000,)", "(1000000, 1000000)",
                                   "(4294967296, 4294967296, 4294967296)"])
def test_a_claimed_size_beyond_the_file_allocates_nothing(tmp_path: Path, shape: str) -> None:
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "y.npy").write_bytes(_npy(Y, ("(2,)", shape)))
    npz = _npz(tmp_path / "d.npz", [("X.npy", _npy(X)), ("y.npy", _npy(Y, ("(2,)", shape)))],
               deflate=True)
    tracemalloc.start()
    try:
        expect_error(lambda: rt.read(tmp_path / "X.npy"), "y.npy", "the header claims")
        expect_error(lambda: rt.read(npz), "d.npz", "array 'y'", "the header claims")
        assert tracemalloc.get_traced_memory()[1] < 10 * 2**20
    finally:
        tracemalloc.stop()


def test_damaged_deflate_data_is_refused(tmp_path: Path) -> None:
    path = _npz(tmp_path / "d.npz", [("X.npy", _npy(np.arange(600, dtype=np.float32)
                                                    .reshape(100, 6, 1))), ("y.npy", _npy(Y))],
                deflate=True)
    data = bytearray(path.read_bytes())
    data[60:70] = b"\xff" * 10  # inside X's compressed bytes
    path.write_bytes(bytes(data))
    expect_error(lambda: rt.read(path), "d.npz", "damaged .npz archive")


def test_strings_that_are_no_characters_are_refused(tmp_path: Path) -> None:
    y = np.array(["a", "b"])
    raw = _npy(y)
    bad = raw[:-4] + struct.pack("<I", 0x7FFFFFFF)  # the last character: no code point
    path = _npz(tmp_path / "d.npz", [("X.npy", _npy(X)), ("y.npy", bad)])
    expect_error(lambda: rt.read(path), "d.npz", "array 'y'", "code points")


# ------------------------------------------------------------------ Parquet

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _frame() -> object:
    return pd.DataFrame({"id": ["s0", "s0", "s1"], "time": [0, 1, 0],
                         "label": ["up", "up", "dn"], "a": [1.0, 2.0, 3.0]})


@pytest.mark.parametrize("index", [["r0", "r1", "r2"], [7, 8, 9], "multi"])
def test_a_saved_pandas_index_neither_breaks_nor_misplaces_rows(tmp_path: Path,
                                                                index: object) -> None:
    frame = _frame()
    frame.index = (pd.MultiIndex.from_arrays([[5, 5, 6], ["x", "y", "z"]]) if index == "multi"
                   else pd.Index(index))
    frame.to_parquet(tmp_path / "d.parquet")
    data = rt.read(tmp_path / "d.parquet")
    np.testing.assert_array_equal(data.values[:, :, 0], [[1, 2], [3, 0]])
    frame.loc[frame.index[2], "a"] = np.nan  # the third row, whatever the index calls it
    frame.to_parquet(tmp_path / "d.parquet")
    expect_error(lambda: rt.read(tmp_path / "d.parquet"), "d.parquet row 3", "feature 'a'")


@pytest.mark.parametrize("column", ["id", "label"])
def test_a_list_valued_id_or_label_column_is_refused(tmp_path: Path, column: str) -> None:
    frame = _frame()
    frame[column] = [["s0"], ["s0"], ["s1"]]
    frame.to_parquet(tmp_path / "d.parquet")
    expect_error(lambda: rt.read(tmp_path / "d.parquet"), "d.parquet",
                 f"column '{column}' holds lists")


def test_duplicate_parquet_column_names_are_named(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    pq.write_table(table.rename_columns(["id", "time", "label", "id"]), tmp_path / "d.parquet")
    expect_error(lambda: rt.read(tmp_path / "d.parquet"), "d.parquet",
                 "column 'id' appears 2 times")


@pytest.mark.parametrize(("values", "held"), [([[1.0], [2.0], [3.0]], "lists"),
                                              ([{"x": 1}] * 3, "structs"),
                                              ([b"\x00"] * 3, "bytes")])
def test_nested_or_binary_columns_are_refused_unless_left_out(tmp_path: Path, values: list[object],
                                                              held: str) -> None:
    frame = _frame()
    frame["c"] = values
    frame.to_parquet(tmp_path / "d.parquet")
    expect_error(lambda: rt.read(tmp_path / "d.parquet"), "d.parquet", f"'c' holds {held}")
    assert rt.read(tmp_path / "d.parquet", features=["a"]).feature_names == ["a"]


def test_parquet_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    frame = _frame()
    frame["id"] = ["q\u00e9", "q\u00e9", "s1"]
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "d.parquet",
                   compression="none", write_statistics=False)
    data = (tmp_path / "d.parquet").read_bytes()
    assert data.count("q\u00e9".encode()) >= 1
    (tmp_path / "d.parquet").write_bytes(data.replace("q\u00e9".encode(), b"q\xff\xfe"))
    expect_error(lambda: rt.read(tmp_path / "d.parquet"), "d.parquet", "Invalid UTF8")


def test_parquet_nanosecond_times_with_a_zone_keep_their_order(tmp_path: Path) -> None:
    stamps = pa.array([3, 1, 2, 7], pa.timestamp("ns", tz="Asia/Tokyo"))
    pq.write_table(pa.table({"id": ["s0", "s0", "s0", "s1"], "time": stamps,
                             "label": ["u", "u", "u", "d"], "a": [3.0, 1.0, 2.0, 5.0]}),
                   tmp_path / "d.parquet")
    np.testing.assert_array_equal(rt.read(tmp_path / "d.parquet").values[0, :, 0], [1, 2, 3])


@pytest.mark.parametrize(("header", "fragment"), [
    (",id,time,label,a", "column 1 has no name"),  # pandas' index, saved without index=False
    ("id,time,label,a,a", "column 'a' appears twice"),
])
def test_header_names_pandas_would_rename_are_refused(tmp_path: Path, header: str,
                                                      fragment: str) -> None:
    extra = "0," if header.startswith(",") else ""
    path = _csv(tmp_path, f"{header}\n{extra}s0,0,up,1{',2' if header.endswith('a,a') else ''}\n")
    expect_error(lambda: rt.read(path), "d.csv", fragment)


def test_a_zip_directory_claiming_a_huge_member_allocates_nothing(tmp_path: Path) -> None:
    y = _npy(Y, ("(2,)", "(100000000000,)"))
    path = _npz(tmp_path / "d.npz", [("X.npy", _npy(X)), ("y.npy", y)])
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last member's directory entry: y.npy
    data[central + 20 : central + 28] = struct.pack("<II", 2**32 - 2, 2**32 - 2)  # its sizes
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(DataError):
            rt.read(path)
        assert tracemalloc.get_traced_memory()[1] < 10 * 2**20
    finally:
        tracemalloc.stop()


def test_fortran_ordered_arrays_read_like_c_ordered_ones(tmp_path: Path) -> None:
    x = np.arange(24, dtype=np.float32).reshape(4, 3, 2)
    np.save(tmp_path / "X.npy", np.asfortranarray(x))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1]))
    np.testing.assert_array_equal(rt.read(tmp_path / "X.npy").values, x)
