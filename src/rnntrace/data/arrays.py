"""NumPy files → SequenceSet: an `.npz` archive, or a pair of `.npy` files read memory-mapped.

`.npz` (np.savez(path, X=X, y=y, ...)) holds
    X              (N, T, F) numbers; past each sequence's length, padding (any values)
    y              (N,) class labels: integers or strings; or (N, K) numbers, K targets
                   to regress on per sequence (floats that are not one-hot, or any numbers
                   with task="regress"); (N, T) a label per step with task="steps", where
                   -100 (PyTorch's ignore_index) after a sequence's end is padding
    lengths        (N,) optional, each in 1..T (default: every sequence is T long)
    class_names    (C,) optional strings; then integer y indexes them, string y must be among them
    feature_names  (F,) optional strings
    target_names   (K,) optional strings, the names of y's K columns
    ids            (N,) optional sequence ids

A `.npy` pair keeps X on disk: X is opened with np.load(mmap_mode="r") and never loaded whole,
so SequenceSet.values is a read-only np.memmap when X is float32 and clean (other dtypes, or
nan="fill"/"drop" when values are missing, need a copy in memory). The labels are found beside
X by replacing the token `X` in its name with `y` (X.npy → y.npy, train_X.npy → train_y.npy,
X_test.npy → y_test.npy), or named with labels="path/to/labels.npy"; lengths likewise
(X.npy → lengths.npy), optional. Nothing is ever unpickled (allow_pickle=False).

Padding, one rule for both: values past a sequence's length are not data and are never checked
or used, whatever they hold (zeros, NaN, leftovers). An X in memory (.npz, or a copy) has them
set to 0 here; a memory-mapped X keeps them on disk, and every read of its rows (batches,
subsets) zeroes them in the rows read, so the file is neither scanned nor copied for padding.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rnntrace.data import labels as label_codes
from rnntrace.data import missing, npyfile
from rnntrace.data.labels import UNLABELLED
from rnntrace.data.sequences import SequenceSet, finish
from rnntrace.data.targets import strata
from rnntrace.errors import DataError

_X_TOKEN = re.compile(r"(?<![A-Za-z0-9])X(?![A-Za-z0-9])")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def companion(x_path: Path, name: str) -> Path | None:
    """The file beside `x_path` whose name has `name` in place of the token X, or None."""
    matches = list(_X_TOKEN.finditer(x_path.stem))
    if not matches:
        return None
    m = matches[-1]
    return x_path.with_name(x_path.stem[: m.start()] + name + x_path.stem[m.end() :] + ".npy")


def _object_hint(source: str, key: str) -> DataError:
    return DataError(
        f"{source}: array {key!r} holds Python objects, which are not loaded (allow_pickle=False "
        f"keeps files from running code); save {key} as numbers or fixed-width strings, "
        f"e.g. np.asarray({key}, dtype=str)"
    )


def _magic(path: Path, size: int) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def _load_npy(path: Path, source: str, key: str, mmap: bool) -> npt.NDArray[Any]:
    if not path.is_file():
        raise DataError(f"{source}: the {key} file {path} does not exist; check the path")
    try:
        return npyfile.load_npy(path, str(path), mmap)
    except npyfile.ObjectArray:
        raise _object_hint(str(path), key) from None
    except OSError as exc:
        raise DataError(f"{path}: unreadable .npy file ({exc.strerror or exc}); save it again "
                        "with np.save") from None


def read_npy(
    path: Path,
    *,
    labels: Path | None = None,
    nan: str = "error",
    min_classes: int = 2,
    labelled: bool = True,
    per_step: bool = False,
    task: str | None = None,
) -> SequenceSet:
    """X from `path` (memory-mapped) and labels from `labels` or the file beside it; with
    `per_step`, y is (N, T): a label per step; `task` as for from_arrays."""
    source = str(path)
    if labels is None and not labelled:
        beside = companion(path, "y")
        if beside is None or beside == path or not beside.is_file():
            values = _load_npy(path, source, "X", mmap=True)
            unknown = np.full(values.shape[0] if values.ndim else 0, UNLABELLED)
            return from_arrays(values, unknown, _lengths_beside(path, source), source=source,
                               nan=nan, min_classes=1)
    if labels is None:
        labels = companion(path, "y")
        if labels is None or labels == path:
            raise DataError(
                f"{source}: a .npy file holds only the values; name it X.npy with y.npy beside "
                "it (or train_X.npy with train_y.npy), or in Python name the labels file with "
                "labels="
            )
        if not labels.is_file():
            raise DataError(
                f"{source}: no labels file {labels.name} beside it (X's name with the token X "
                f"replaced by y); save the labels there, or in Python name the file with labels="
            )
    values = _load_npy(path, source, "X", mmap=True)
    y = _load_npy(labels, source, "y", mmap=False)
    return from_arrays(values, y, _lengths_beside(path, source), source=source, nan=nan,
                       min_classes=min_classes, per_step=per_step, task=task)


def _lengths_beside(path: Path, source: str) -> npt.NDArray[Any] | None:
    lengths_path = companion(path, "lengths")
    if lengths_path is not None and lengths_path.is_file():
        return _load_npy(lengths_path, source, "lengths", mmap=False)
    return None


def read_npz(
    path: Path, *, nan: str = "error", min_classes: int = 2, labelled: bool = True,
    per_step: bool = False, task: str | None = None,
) -> SequenceSet:
    """An .npz archive with X, y and optional lengths, class_names, feature_names, ids,
    target_names; `task` as for from_arrays."""
    source = str(path)
    if _magic(path, 4) not in _ZIP_MAGIC:
        raise DataError(f"{source}: not a .npz archive (not a zip file); save one with "
                        "np.savez(path, X=X, y=y)")
    arrays = _npz_arrays(path, source, ("X", "y") if labelled else ("X",))

    def names(key: str) -> list[str] | None:
        if key not in arrays:
            return None
        if arrays[key].dtype.kind not in "biuUS":
            raise DataError(f"{source}: {key} holds {arrays[key].dtype} values; save it as "
                            f"strings, e.g. np.asarray({key}, dtype=str)")
        return [str(s) for s in _text(arrays[key]).ravel()]

    if "y" not in arrays:  # sequences to classify
        arrays["y"] = np.full(arrays["X"].shape[0] if arrays["X"].ndim else 0, UNLABELLED)
    return from_arrays(
        arrays["X"], arrays["y"], arrays.get("lengths"), source=source, nan=nan,
        min_classes=min_classes, class_names=names("class_names"),
        feature_names=names("feature_names"), ids=names("ids"), per_step=per_step, task=task,
        target_names=names("target_names"),
    )


_KEYS = ("X", "y", "lengths", "class_names", "feature_names", "ids", "target_names")


def _npz_arrays(path: Path, source: str, required: tuple[str, ...]) -> dict[str, npt.NDArray[Any]]:
    """The archive's known arrays, each member's header checked before it is read."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            members: dict[str, zipfile.ZipInfo] = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise DataError(f"{source}: member {info.filename!r} is not an .npy array; "
                                    "an .npz holds only arrays, save it with np.savez")
                key = info.filename[: -len(".npy")]
                if key in members:
                    raise DataError(f"{source}: the archive holds {info.filename!r} twice, so "
                                    "which one is meant is unknown; save it again with np.savez")
                members[key] = info
            for key in required:
                if key not in members:
                    raise DataError(f"{source}: no array {key!r} in the archive (it has "
                                    f"{', '.join(members) or 'nothing'}); save it with "
                                    "np.savez(path, X=X, y=y)")
            for key in _KEYS:
                if key in members:
                    try:
                        arrays[key] = npyfile.load_member(archive, members[key],
                                                          f"{source}: array {key!r}", size)
                    except npyfile.ObjectArray:
                        raise _object_hint(source, key) from None
    except DataError:
        raise
    except npyfile.DAMAGED as exc:
        raise DataError(f"{source}: damaged .npz archive ({type(exc).__name__}: {exc}); save it "
                        "again with np.savez") from None
    return arrays


def _text(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Byte strings as text (undecodable bytes escaped), so labels and names compare as str."""
    if array.dtype.kind == "S":
        return np.char.decode(array, "utf-8", errors="backslashreplace")
    return array


def _check_shapes(
    values: npt.NDArray[Any], y: npt.NDArray[Any], lengths: npt.NDArray[Any] | None, source: str
) -> None:
    if values.ndim != 3:
        hint = "; for one feature use X[..., None]" if values.ndim == 2 else ""
        raise DataError(f"{source}: X has shape {values.shape}; expected (N, T, F) = "
                        f"(sequences, time steps, features){hint}")
    if values.dtype.kind not in "biuf":
        raise DataError(f"{source}: X holds {values.dtype} values; expected numbers")
    if 0 in values.shape:
        raise DataError(f"{source}: X has shape {values.shape}; it holds no data")
    n, t_max = values.shape[:2]
    if y.ndim == 2 and y.shape == (n, t_max) and t_max > 1:
        raise DataError(f"{source}: y has shape {y.shape}, a label for every step of X; to "
                        "label every step say so with --task steps (task='steps')")
    if y.ndim != 1:
        hint = " (for one-hot labels save y.argmax(1))" if y.ndim == 2 else ""
        raise DataError(f"{source}: y has shape {y.shape}; expected ({n},), one label per "
                        f"sequence{hint}")
    if y.shape[0] != n:
        raise DataError(f"{source}: X has {n} sequences but y has {y.shape[0]} labels; "
                        "they must match one to one")
    if y.dtype.kind not in "biufUS":
        raise DataError(f"{source}: y holds {y.dtype} values; expected integers or strings, "
                        "one label per sequence")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise DataError(f"{source}: y[{i}] is {y[i]}; every sequence needs a label")
    if lengths is None:
        return
    if lengths.shape != (n,) or lengths.dtype.kind not in "iu":
        raise DataError(f"{source}: lengths has shape {lengths.shape} and dtype {lengths.dtype}; "
                        f"expected ({n},) integers")
    bad = np.flatnonzero((lengths < 1) | (lengths > t_max))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{source}: lengths[{i}] is {int(lengths[i])}; each length must lie in "
                        f"1..{t_max} (the T of X)")


def from_arrays(
    values: npt.NDArray[Any],
    y: npt.NDArray[Any],
    lengths: npt.NDArray[Any] | None,
    *,
    source: str,
    nan: str = "error",
    min_classes: int = 2,
    class_names: list[str] | None = None,
    feature_names: list[str] | None = None,
    ids: list[str] | None = None,
    per_step: bool = False,
    task: str | None = None,
    target_names: list[str] | None = None,
) -> SequenceSet:
    """Validate raw arrays and build the set; a float32 memmap X stays mapped when clean.

    With `per_step`, y is (N, T): a label for every step (those past a length are ignored).
    A 2-D y of numbers is K targets per sequence when `task` is "regress", or, with no task
    said, when it holds floats that are neither one-hot nor one per step (`_several_numbers`).
    """
    if _several_numbers(values, y, task):
        return _from_target_arrays(values, y, lengths, source=source, nan=nan,
                                   feature_names=feature_names, ids=ids,
                                   target_names=target_names, said=task == "regress")
    if per_step:
        return _from_step_arrays(values, y, lengths, source=source, nan=nan,
                                 min_classes=min_classes, class_names=class_names,
                                 feature_names=feature_names, ids=ids)
    _check_shapes(values, y, lengths, source)
    y = _text(y)
    n, t_max, f = values.shape
    for key, given, count in (("feature_names", feature_names, f), ("ids", ids, n)):
        if given is not None and len(given) != count:
            raise DataError(f"{source}: {key} has {len(given)} entries but X has {count}")
    if class_names is not None and len(set(class_names)) != len(class_names):
        raise DataError(f"{source}: class_names repeats a name; each class needs its own")
    steps = (np.full(n, t_max, dtype=np.int64) if lengths is None
             else np.asarray(lengths, dtype=np.int64))
    if values.dtype != np.float32:
        # a plain in-memory copy (not a memmap); save X as float32 to keep it mapped
        with np.errstate(over="ignore"):  # beyond float32's range becomes inf: reported below
            values = np.array(values, dtype=np.float32)
    if lengths is not None and values.flags.writeable:
        missing.zero_padding(values, steps)  # a read-only memmap is zeroed as rows are read
    id_list = ids if ids is not None else [str(i) for i in range(n)]
    feature_list = feature_names if feature_names is not None else [f"f{i}" for i in range(f)]

    def describe(i: int, t: int, j: int) -> str:
        return f"{source}: sequence {i} (id {id_list[i]!r}), step {t}, feature {feature_list[j]!r}"

    def encode(labels: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], list[str]]:
        return _encode(labels, class_names, source)

    try:
        return finish(values, steps, y, id_list, feature_names=feature_list, source=source,
                      nan=nan, describe=describe, encode=encode, min_classes=min_classes)
    except DataError:
        if lengths is None and nan == "error":
            _refuse_nan_padding(values, id_list, source)
        raise


def _refuse_nan_padding(values: npt.NDArray[Any], ids: list[str], source: str) -> None:
    """A NaN met with no lengths given: when it starts a run of all-NaN steps to the end of its
    sequence, that is padding written as NaN (as in NaN-padded arrays of unequal length), and
    the fix is to save the lengths; --nan fill would copy a value into every padded step.

        seq 0  [x0 x1 x2 x3 x4]
        seq 1  [x0 x1 x2 nan nan]   ← steps 3–4 all NaN: padding, length 3
    """
    where = missing.first_nonfinite(values, np.full(len(values), values.shape[1], np.int64))
    if where is None:
        return
    i, t, _ = where
    if not np.isnan(np.asarray(values[i, t:], dtype=np.float64)).all():
        return
    t_max = values.shape[1]
    raise DataError(
        f"{source}: sequence {i} (id {ids[i]!r}) is NaN in every feature from step {t} to its "
        f"end (step {t_max - 1}): padding? Save each sequence's length beside X "
        "(np.savez(path, X=X, y=y, lengths=lengths), or lengths.npy beside X.npy), and "
        "steps past a length are never read; --nan fill would copy a value into the padding")


def _several_numbers(values: npt.NDArray[Any], y: npt.NDArray[Any], task: str | None) -> bool:
    """Whether a 2-D y holds numbers to regress on, (N, K): said so, or floats that cannot
    be labels (not one-hot rows; not (N, T), which names the per-step task in its error)."""
    if y.ndim != 2 or values.ndim != 3 or y.shape[0] != values.shape[0] or \
            y.dtype.kind not in "biuf" or task not in (None, "regress"):
        return False
    if task == "regress":
        return True
    if y.dtype.kind != "f" or (y.shape[1] == values.shape[1] and values.shape[1] > 1):
        return False
    one_hot = y.shape[1] > 1 and bool(np.isin(y, (0.0, 1.0)).all() and (y.sum(axis=1) == 1).all())
    return not one_hot


def _from_target_arrays(
    values: npt.NDArray[Any],
    y: npt.NDArray[Any],
    lengths: npt.NDArray[Any] | None,
    *,
    source: str,
    nan: str,
    feature_names: list[str] | None,
    ids: list[str] | None,
    target_names: list[str] | None,
    said: bool,
) -> SequenceSet:
    """X (N, T, F) with y (N, K): K numbers per sequence, kept for the sequences `nan` keeps."""
    n, k = y.shape
    if target_names is not None and len(target_names) != k:
        raise DataError(f"{source}: target_names has {len(target_names)} entries but y has "
                        f"{k} columns")
    bad = np.flatnonzero(~np.isfinite(y.astype(np.float64)).all(axis=1))
    if bad.size:
        raise DataError(f"{source}: y[{int(bad[0])}] holds {y[int(bad[0])].tolist()}; every "
                        "sequence needs a finite number for each target")
    # Read as one class first, so NaN handling drops sequences with the same rules as labels.
    data = from_arrays(values, np.zeros(n, dtype=np.int64), lengths, source=source, nan=nan,
                       min_classes=1, feature_names=feature_names, ids=ids)
    id_list = ids if ids is not None else [str(i) for i in range(n)]
    kept = np.array([id_list.index(i) for i in data.ids], dtype=np.int64) if data.dropped \
        else np.arange(n)
    targets = np.asarray(y, dtype=np.float32)[kept]  # (N_kept, K)
    names = target_names or (["target"] if k == 1 else [f"target_{j}" for j in range(k)])
    out = SequenceSet(values=data.values, lengths=data.lengths, labels=strata(targets),
                      class_names=[], feature_names=data.feature_names, ids=data.ids,
                      source=source, dropped=data.dropped, targets=targets, target_names=names)
    if not said:
        out.task_note = (f"y has shape {y.shape}, numbers with fractions: read as {k} "
                         f"number{'s' if k > 1 else ''} to predict per sequence (regression)")
    return out


def _encode(
    y: npt.NDArray[Any], class_names: list[str] | None, source: str
) -> tuple[npt.NDArray[np.int64], list[str]]:
    if class_names is not None and y.dtype.kind in "iu":
        bad = np.flatnonzero((y < 0) | (y >= len(class_names)))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{source}: y[{i}] is {int(y[i])} but class_names has "
                            f"{len(class_names)} names; integer labels must lie in "
                            f"0..{len(class_names) - 1}")
        return y.astype(np.int64), class_names
    try:
        return label_codes.encode(y, class_names)
    except ValueError as exc:
        raise DataError(f"{source}: {exc}; add them to class_names or fix y") from None


def _ignored_as_padding(
    y: npt.NDArray[Any], lengths: npt.NDArray[Any] | None, source: str
) -> npt.NDArray[Any] | None:
    """Step labels of -100 (PyTorch's ignore_index, and PADDING_LABEL here) or NaN (a float y
    padded as pandas and np.full(..., np.nan) pad) are padding after a sequence's end, so
    with no lengths given each length ends at its last labelled step; one before that would
    be a step with no label, which is refused, not made a class ('-100' or 'nan'):

        y[0]  [ 2  0  0  1  1]          length 5
        y[1]  [ 1  1  2 -100 -100]      length 3   (or [1. 1. 2. nan nan])
        y[2]  [ 0 -100 1 -100 -100]     an error: step 1 has no label
    """
    from rnntrace.config.task import PADDING_LABEL

    if y.dtype.kind not in "iuf":
        return lengths
    ignored = np.asarray(y == PADDING_LABEL)  # (N, T)
    if y.dtype.kind == "f":
        ignored |= np.isnan(y)
    if not ignored.any():
        return lengths
    t_max = y.shape[1]
    if lengths is None:
        labelled = ~ignored
        lengths = t_max - np.argmax(labelled[:, ::-1], axis=1)  # one past the last label
        if (empty := np.flatnonzero(~labelled.any(axis=1))).size:
            i = int(empty[0])
            raise DataError(f"{source}: every step of y[{i}] is {_padding_value(y[i, 0])} "
                            "(padding): the sequence has no labelled step; leave it out")
    inside = np.argwhere(ignored & (np.arange(t_max)[None, :] <
                                    np.asarray(lengths, dtype=np.int64)[:, None]))
    if inside.size:
        i, t = (int(v) for v in inside[0])
        raise DataError(f"{source}: y[{i}, {t}] is {_padding_value(y[i, t])} inside sequence "
                        f"{i}, before its last step; {PADDING_LABEL} (PyTorch's ignore_index) "
                        "or NaN marks padding after a sequence's end: give every step up to "
                        "the length a label")
    return np.asarray(lengths, dtype=np.int64)


def _padding_value(value: Any) -> str:
    """-100 or nan, as the error names a padded step's label."""
    return "nan" if np.isnan(value) else str(int(value))


def _from_step_arrays(
    values: npt.NDArray[Any],
    y: npt.NDArray[Any],
    lengths: npt.NDArray[Any] | None,
    *,
    source: str,
    nan: str,
    min_classes: int,
    class_names: list[str] | None,
    feature_names: list[str] | None,
    ids: list[str] | None,
) -> SequenceSet:
    """X (N, T, F) with y (N, T): step labels coded over the real steps only."""
    from rnntrace.config.task import PADDING_LABEL

    if values.ndim != 3 or y.shape != values.shape[:2]:
        raise DataError(f"{source}: a label per step needs y of shape (N, T) = "
                        f"{tuple(values.shape[:2])} beside X of shape (N, T, F); got y "
                        f"{tuple(y.shape)}")
    n, t_max = y.shape
    lengths = _ignored_as_padding(y, lengths, source)
    steps = (np.full(n, t_max, dtype=np.int64) if lengths is None
             else np.asarray(lengths, dtype=np.int64))
    real = np.arange(t_max)[None, :] < steps[:, None]  # (N, T)
    text = _text(np.asarray(y))
    codes, names = _encode(text[real], class_names, source)  # over real steps only
    step_labels = np.full((n, t_max), PADDING_LABEL, dtype=np.int64)
    step_labels[real] = codes
    counts = np.zeros((n, len(names)), dtype=np.int64)
    np.add.at(counts, (np.nonzero(real)[0], codes), 1)
    majority = counts.argmax(axis=1)  # (N,) each sequence's most frequent step label
    data = from_arrays(values, majority, lengths, source=source, nan=nan, min_classes=1,
                       class_names=list(names), feature_names=feature_names, ids=ids)
    id_list = ids if ids is not None else [str(i) for i in range(n)]
    kept = np.array([id_list.index(i) for i in data.ids], dtype=np.int64) if data.dropped \
        else np.arange(n)
    present = np.unique(codes)
    label_codes.require_classes([names[c] for c in present], min_classes, source)
    return SequenceSet(values=data.values, lengths=data.lengths, labels=data.labels,
                       class_names=list(names), feature_names=data.feature_names, ids=data.ids,
                       source=source, dropped=data.dropped, step_labels=step_labels[kept])
