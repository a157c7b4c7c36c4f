"""NumPy .npz archives and memory-mapped .npy pairs, against the arrays they were saved from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from _errors import expect_error
from rnntrace.data import missing
from rnntrace.data.arrays import companion
from rnntrace.data.readers import read
from rnntrace.data.streaming import StreamingSet, batch_source, read_rows


def arrays(n: int = 6, t: int = 5, f: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, t, f)).astype(np.float32)
    lengths = rng.integers(1, t + 1, n)
    lengths[0] = t
    y = np.array(["b", "a", "b", "c", "a", "c"][:n])
    return x, y, lengths


def test_npz_with_lengths_names_and_garbage_padding(tmp_path: Path) -> None:
    x, y, lengths = arrays()
    noisy = x.copy()
    noisy[np.arange(5)[None, :] >= lengths[:, None]] = np.nan  # padding written as NaN
    np.savez(tmp_path / "d.npz", X=noisy, y=y, lengths=lengths, ids=np.array(list("uvwxyz")),
             feature_names=np.array(["p", "q", "r"]))
    data = read(tmp_path / "d.npz")
    assert data.class_names == ["a", "b", "c"]
    assert [data.class_names[c] for c in data.labels] == list(y)
    assert data.ids == list("uvwxyz") and data.feature_names == ["p", "q", "r"]
    np.testing.assert_array_equal(data.lengths, lengths)
    for i in range(6):
        np.testing.assert_array_equal(data.sequence(i), x[i, : lengths[i]])
        assert np.all(data.values[i, lengths[i]:] == 0)  # padding zeroed, not NaN


def test_npz_integer_labels_index_given_class_names(tmp_path: Path) -> None:
    x, _, _ = arrays()
    np.savez(tmp_path / "d.npz", X=x.astype(np.float64), y=np.array([2, 0, 1, 0, 2, 1]),
             class_names=np.array(["zebra", "ant", "moth"]))
    data = read(tmp_path / "d.npz")
    assert data.class_names == ["zebra", "ant", "moth"]
    np.testing.assert_array_equal(data.labels, [2, 0, 1, 0, 2, 1])
    assert data.values.dtype == np.float32 and data.equal_length
    np.testing.assert_allclose(data.values, x)


def test_npy_pair_stays_memory_mapped(tmp_path: Path) -> None:
    x, _, lengths = arrays()
    x[np.arange(5)[None, :] >= lengths[:, None]] = 0.0
    np.save(tmp_path / "train_X.npy", x)
    np.save(tmp_path / "train_y.npy", np.array([3, 1, 3, 2, 1, 2]))
    np.save(tmp_path / "train_lengths.npy", lengths)
    data = read(tmp_path / "train_X.npy")
    assert isinstance(data.values, np.memmap)
    assert Path(str(data.values.filename)) == tmp_path / "train_X.npy"
    assert not data.values.flags.writeable
    assert data.class_names == ["1", "2", "3"]
    np.testing.assert_array_equal(data.values, x)
    np.testing.assert_array_equal(data.lengths, lengths)


def test_npy_memory_map_survives_multi_block_scans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    monkeypatch.setattr(missing, "_BLOCK_BYTES", 64)  # one sequence per block
    x, _, _ = arrays()
    x[4, 2, 1] = np.nan
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "y.npy", np.arange(6) % 2)
    expect_error(lambda: read(tmp_path / "X.npy"), "X.npy", "sequence 4", "step 2", "'f1'")
    kept = read(tmp_path / "X.npy", nan="drop")
    assert kept.ids == ["0", "1", "2", "3", "5"]
    filled = read(tmp_path / "X.npy", nan="fill")
    assert filled.values[4, 2, 1] == x[4, 1, 1]  # the value before it, carried forward


def test_npy_explicit_labels_file_and_float64_values(tmp_path: Path) -> None:
    x, y, _ = arrays()
    np.save(tmp_path / "values.npy", x.astype(np.float64))
    np.save(tmp_path / "classes.npy", y)
    data = read(tmp_path / "values.npy", labels=tmp_path / "classes.npy")
    assert not isinstance(data.values, np.memmap)  # converted to float32 in memory
    np.testing.assert_array_equal(data.values, x)


def test_companion_names() -> None:
    assert companion(Path("d/X.npy"), "y") == Path("d/y.npy")
    assert companion(Path("train_X.npy"), "y") == Path("train_y.npy")
    assert companion(Path("X_test.npy"), "lengths") == Path("lengths_test.npy")
    assert companion(Path("Xray.npy"), "y") is None


def test_bad_npz_files(tmp_path: Path) -> None:
    x, y, _ = arrays()
    p = tmp_path / "d.npz"
    p.write_bytes(b"this is not a zip archive at all")
    expect_error(lambda: read(p), "d.npz", "not a .npz archive", "np.savez")
    np.savez(p, X=x)
    expect_error(lambda: read(p), "d.npz", "no array 'y'", "it has X")
    np.savez(p, X=x, y=y[:5])
    expect_error(lambda: read(p), "d.npz", "6 sequences", "5 labels")
    np.savez(p, X=x[:, :, 0], y=y)
    expect_error(lambda: read(p), "d.npz", "shape (6, 5)", "X[..., None]")
    np.savez(p, X=x, y=np.array([{"a": 1}] * 6, dtype=object))
    expect_error(lambda: read(p), "d.npz", "array 'y'", "Python objects", "allow_pickle")
    np.savez(p, X=x, y=y, lengths=np.array([5, 0, 1, 1, 1, 1]))
    expect_error(lambda: read(p), "d.npz", "lengths[1] is 0", "1..5")
    np.savez(p, X=x, y=np.eye(3)[[0, 1, 2, 0, 1, 2]])
    expect_error(lambda: read(p), "d.npz", "y has shape (6, 3)", "argmax")
    np.savez(p, X=x, y=np.zeros(6, dtype=int))
    expect_error(lambda: read(p), "d.npz", "only 1 class")
    np.savez(p, X=x, y=np.array([0, 1, 0, 1, 0, 5]), class_names=np.array(["a", "b"]))
    expect_error(lambda: read(p), "d.npz", "y[5] is 5", "0..1")
    bad = x.copy()
    bad[2, 1, 0] = np.inf
    np.savez(p, X=bad, y=y, ids=np.array(list("uvwxyz")))
    expect_error(lambda: read(p), "d.npz", "sequence 2 (id 'w')", "step 1", "'f0'", "inf")
    huge = x.astype(np.float64)
    huge[1, 0, 2] = 1e300  # beyond float32
    np.savez(p, X=huge, y=y)
    expect_error(lambda: read(p), "d.npz", "sequence 1", "step 0", "'f2'", "is inf")
    truncated = tmp_path / "t.npz"
    np.savez(truncated, X=x, y=y)
    truncated.write_bytes(truncated.read_bytes()[:200])
    expect_error(lambda: read(truncated), "t.npz", "damaged .npz")


def test_bad_npy_files(tmp_path: Path) -> None:
    x, y, _ = arrays()
    np.save(tmp_path / "data.npy", x)
    expect_error(lambda: read(tmp_path / "data.npy"), "data.npy", "X.npy with y.npy beside it",
                 "labels=")
    np.save(tmp_path / "X.npy", x)
    expect_error(lambda: read(tmp_path / "X.npy"), "X.npy", "no labels file y.npy beside it")
    expect_error(lambda: read(tmp_path / "X.npy", labels=tmp_path / "classes.npy"),
                 "classes.npy", "does not exist")
    (tmp_path / "y.npy").write_bytes(b"garbage bytes, not numpy")
    expect_error(lambda: read(tmp_path / "X.npy"), "y.npy", "not a NumPy .npy file")
    np.save(tmp_path / "y.npy", np.array([object()] * 6, dtype=object))
    expect_error(lambda: read(tmp_path / "X.npy"), "y.npy", "array 'y'", "Python objects")
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "lengths.npy", np.full(6, 9))
    expect_error(lambda: read(tmp_path / "X.npy"), "X.npy", "lengths[0] is 9", "1..5")


def garbage_padding(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """x with every step past its length overwritten: NaN, inf and large numbers."""
    noisy = x.copy()
    past = np.arange(x.shape[1])[None, :] >= lengths[:, None]  # (N, T)
    junk = np.array([np.nan, np.inf, 1e30, -7.0], dtype=np.float32)
    noisy[past] = junk[np.arange(int(past.sum())) % 4][:, None]
    return noisy


def test_npy_and_npz_follow_one_padding_rule(tmp_path: Path) -> None:
    x, y, lengths = arrays()
    noisy = garbage_padding(x, lengths)
    np.savez(tmp_path / "d.npz", X=noisy, y=y, lengths=lengths)
    for name, array in (("X", noisy), ("y", y), ("lengths", lengths)):
        np.save(tmp_path / f"{name}.npy", array)
    from_npz, from_npy = read(tmp_path / "d.npz"), read(tmp_path / "X.npy")
    assert isinstance(from_npy.values, np.memmap)  # accepted without a copy in memory
    for i in range(6):
        np.testing.assert_array_equal(from_npy.sequence(i), x[i, : lengths[i]])
        np.testing.assert_array_equal(from_npz.sequence(i), x[i, : lengths[i]])
    assert not np.any(from_npz.values[np.arange(5)[None, :] >= lengths[:, None]])


def test_memory_mapped_padding_is_zero_in_every_read(tmp_path: Path) -> None:
    x, y, lengths = arrays()
    noisy = garbage_padding(x, lengths)
    for name, array in (("X", noisy), ("y", y), ("lengths", lengths)):
        np.save(tmp_path / f"{name}.npy", array)
    data = read(tmp_path / "X.npy")
    expected = np.where(np.arange(5)[None, :, None] < lengths[:, None, None], x, 0)
    source = batch_source(data)
    assert isinstance(source, StreamingSet)
    batch = source.take(torch.tensor([3, 5, 1]))
    np.testing.assert_array_equal(batch.x.numpy(), expected[[3, 5, 1], : batch.x.shape[1]])
    np.testing.assert_array_equal(read_rows(data, np.array([2, 4])).values, expected[[2, 4]])
    np.testing.assert_array_equal(data.subset([5, 0]).values, expected[[5, 0]])
    np.testing.assert_array_equal(read(tmp_path / "X.npy", features=["f1"]).values,
                                  expected[:, :, 1:2])
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy"), noisy)  # the file is untouched


def test_dropping_from_a_memory_map_zeroes_the_copy(tmp_path: Path) -> None:
    x, y, lengths = arrays()
    noisy = garbage_padding(x, lengths)
    noisy[2, 0, 0] = np.nan  # a real step
    for name, array in (("X", noisy), ("y", y), ("lengths", lengths)):
        np.save(tmp_path / f"{name}.npy", array)
    kept = read(tmp_path / "X.npy", nan="drop")
    assert kept.ids == ["0", "1", "3", "4", "5"]
    keep = [0, 1, 3, 4, 5]
    expected = np.where(np.arange(5)[None, :, None] < lengths[keep, None, None], x[keep], 0)
    np.testing.assert_array_equal(kept.values, expected)
