"""Malformed inputs made by editing small valid ones, for tests/test_fuzz.py and benchmarks/fuzz.py.

Each case is a format, a valid seed file (one of a few variants) and a list of Edits. An Edit is
plain data (a kind, a place as a fraction of the file, a pick among hostile values, a size), so
Hypothesis can draw and shrink it and the on-demand run can draw it from a seeded random:

    seed files ──► edits (bytes, lines, fields, .npy headers, zip members, JSON values) ──► files
    files ──► rnntrace.read / load_run + predict ──► accepted (and checked) | RnnTraceError | bug

`check_case` is the property: an input is read correctly (every real value finite, lengths and
labels in range, probabilities that sum to 1) or refused with one RnnTraceError line that names
the input's folder or file.
"""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = ("csv", "tsv", "parquet", "npz", "npy", "ts", "run")
# How a case is read: a nan policy, as predict reads (no labels needed), or naming features.
MODES = ("error", "drop", "fill", "unlabelled", "features")

# Values that broke or fooled a reader once, and their relatives.
HOSTILE = [
    "", " ", "?", "1_000", "1_0", "1e400", "-1e400", "1e-400", "NA", "None", "null", "nan", "inf",
    "-Infinity", "\x1b[2J\x1b[H", "\u202egnp.exe", "²", "①", "١٢", "0x10", "9" * 5000, "[1, 2]",
    "2020-01-01T00:00:00+05:00", "2020-01-01T00:00:00Z", "2020-01-01", "99999-01-01", ",", ":",
    "\t", '"', "'", "🙂", "\ufeff", "-0", "TRUE", "1,5", "@data", "\x00", "a\nb", "9" * 25,
]
# Values put into a run's JSON in place of a setting.
HOSTILE_JSON: list[Any] = [
    8.0, True, 1e308, -1, 0, 10**12, 100_000, "x", "abc", None, [], {}, [1, 2], {"a": 1},
    ["a", 5], "rnn", "lstm", 65_537, 2**63, -(2**63) - 1, float("nan"), "\x1b[31mred",
]
_SHAPES = [(10**9,), (-1, 3, 2), (10**12, 10**6), (2**40, 2**40, 2**40), (), (0, 3, 2),
           (2, 3), (4, 3, 2, 1), (3,), (2**62, 2**62), (4, 10**6, 2), (True, 3, 2)]
_DESCRS = ["[('a', '<f4')]", "'|O'", "'<U3'", "'<c8'", "'|V8'", "'<M8[s]'", "'bogus'", "'<f4",
           "'>f8'", "'|b1'", "'<i8'", "('<f4', (2,))", "'S3'", "'<f2'"]
TEXT_EDITS = ("flip", "cut", "drop", "insert", "field", "extra", "dup", "header", "key")
NPY_EDITS = ("flip", "cut", "drop", "insert", "shape", "descr", "header", "version", "fortran")
NPZ_EDITS = (*NPY_EDITS, "rename", "twice", "junk", "deflate")
PARQUET_EDITS = ("variant", "flip", "cut")
RUN_EDITS = ("set", "delete", "add", "deep", "bigint", "nan_weights", "flip", "trace")
EDITS = {"csv": TEXT_EDITS, "tsv": TEXT_EDITS, "ts": TEXT_EDITS, "npy": NPY_EDITS,
         "npz": NPZ_EDITS, "parquet": PARQUET_EDITS, "run": RUN_EDITS}


@dataclass(frozen=True)
class Edit:
    """One change to a file: what, where (0..1 of the file or its parts), which value, how much."""

    kind: str
    at: float
    pick: int
    size: int


# ---------------------------------------------------------------- valid seed files

def _long_rows(sep: str, variant: int) -> bytes:
    times = (["0", "1", "2"] if variant % 2 == 0
             else ["2020-01-01T00:00:00Z", "2020-01-01T00:01:00Z", "2020-01-01T00:02:00Z"])
    lines = [sep.join(["id", "time", "label", "a", "b"])]
    for i, label in enumerate(["up", "down", "up", "down"]):
        for t, when in enumerate(times[: 2 + (i % 2)]):
            lines.append(sep.join([f"s{i}", when, label, f"{i + t * 0.5:.2f}", f"{-t:.1f}"]))
    return ("\n".join(lines) + "\n").encode()


def _ts(variant: int) -> bytes:
    head = ("#c\n@problemName P\n@timeStamps false\n@missing true\n@univariate false\n"
            "@dimensions 2\n@equalLength false\n@seriesLength 3\n@classLabel true a b\n@data\n")
    rows = ["1.0,2.0,3.0:4.0,5.0,6.0:a", "0.5,?,1.5:2.5,3.5,4.5:b", "1,2:3,4:a", "7,8,9:1,2,3:b"]
    if variant % 2:
        rows[1] = "0.5,0.7,1.5:2.5,3.5,4.5:b"
    return (head + "\n".join(rows) + "\n").encode()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _arrays(variant: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(variant)
    out = {"X": rng.normal(size=(4, 3, 2)).astype(np.float32 if variant % 2 == 0 else np.float64),
           "y": np.array(["a", "b", "a", "b"]) if variant % 3 else np.array([0, 1, 0, 1]),
           "lengths": np.array([3, 2, 3, 1])}
    if variant % 4 == 3:
        out["feature_names"] = np.array(["p", "q"])
        out["ids"] = np.array(["w", "x", "y", "z"])
    return out


def _zip(members: list[tuple[str, bytes]], deflate: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", method) as archive:
        warnings.simplefilter("ignore", UserWarning)  # a duplicate name is the point of "twice"
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def _parquet(variant: int) -> bytes:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"id": ["s0", "s0", "s1", "s1", "s2"], "time": [0, 1, 0, 1, 0],
                          "label": ["up", "up", "down", "down", "up"],
                          "a": [0.1, 0.2, 0.3, 0.4, 0.5], "b": [1, 2, 3, 4, 5]})
    kind = variant % 12
    if kind == 1:
        frame.index = pd.Index(["r0", "r1", "r2", "r3", "r4"], name="row")
    elif kind == 2:
        frame.index = pd.Index([10, 11, 12, 13, 14])
    elif kind == 3:
        frame.index = pd.MultiIndex.from_arrays([[0, 0, 1, 1, 2], list("vwxyz")])
    elif kind == 4:
        frame["id"] = [["s0"], ["s0"], ["s1"], ["s1"], ["s2"]]
    elif kind == 5:
        frame["label"] = [["up"], ["up"], ["down"], ["down"], ["up"]]
    elif kind == 6:
        frame["c"] = [[1.0, 2.0]] * 5
    elif kind == 7:
        frame["c"] = [{"x": 1}] * 5
    elif kind == 8:
        frame["c"] = [b"\x00\x01"] * 5
    elif kind == 9:
        frame.loc[3, "label"] = None
        frame.loc[1, "a"] = np.nan
    elif kind == 10:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.rename_columns(["id", "time", "label", "a", "a"])
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()
    elif kind == 11:
        frame.index = pd.RangeIndex(5, 10)
        frame["time"] = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-01", "2020-01-03",
                                        "2020-01-01"], utc=True)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _run_files() -> dict[str, bytes]:
    import torch
    from safetensors.torch import save

    from rnntrace.config.settings import DataConfig, ModelConfig, RunConfig
    from rnntrace.model.classifier import SequenceClassifier
    from rnntrace.records import EpochRecord, Stage, Trace

    config = RunConfig(model=ModelConfig(n_features=2, n_classes=2, hidden_size=4),
                       data=DataConfig(source="x.npz", n_sequences=4, max_length=3, n_features=2,
                                       class_names=["a", "b"], feature_names=["f0", "f1"],
                                       feature_mean=[0.0, 0.0], feature_std=[1.0, 1.0],
                                       read_options={"nan": "error"}))
    torch.manual_seed(0)
    model = SequenceClassifier.from_config(config.model)
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    trace = Trace(config=config, stages=[Stage("rnn", [1, 3, 2], [1, 3, 4], "d")],
                  training=[EpochRecord(1, 0.5, 0.5, None, None, 1.0, 0.01, "ok")],
                  prediction=None, insight="i")
    return {"config.json": json.dumps(config.to_dict()).encode(),
            "model.safetensors": save(tensors, metadata={"format": "rnntrace-run"}),
            "trace.json": trace.to_json().encode()}


_RUN_CACHE: dict[str, bytes] = {}
LAST_MESSAGE = [""]  # the latest refusal, for benchmarks/fuzz.py --show
VARIANTS = {"csv": 2, "tsv": 2, "ts": 2, "npy": 8, "npz": 8, "parquet": 12, "run": 1}


def seed_files(fmt: str, variant: int) -> dict[str, bytes]:
    """A valid input of `fmt`: file name → bytes; the first name is the one to read."""
    if fmt in ("csv", "tsv"):
        return {f"d.{fmt}": _long_rows("," if fmt == "csv" else "\t", variant)}
    if fmt == "ts":
        return {"d.ts": _ts(variant)}
    if fmt == "npy":
        arrays = _arrays(variant)
        return {"X.npy": _npy(arrays["X"]), "y.npy": _npy(arrays["y"]),
                "lengths.npy": _npy(arrays["lengths"])}
    if fmt == "npz":
        members = [(f"{k}.npy", _npy(v)) for k, v in _arrays(variant).items()]
        return {"d.npz": _zip(members)}
    if fmt == "parquet":
        return {"d.parquet": _parquet(variant)}
    if not _RUN_CACHE:
        _RUN_CACHE.update(_run_files())
    return dict(_RUN_CACHE)


# ---------------------------------------------------------------- edits

def _pos(edit: Edit, n: int) -> int:
    return min(max(int(edit.at * n), 0), max(n - 1, 0))


def _bytes_edit(data: bytes, edit: Edit) -> bytes:
    i = _pos(edit, len(data))
    if edit.kind == "flip" and data:
        return data[:i] + bytes([data[i] ^ (1 << (edit.pick % 8))]) + data[i + 1 :]
    if edit.kind == "cut":
        return data[:i]
    if edit.kind == "drop":
        return data[:i] + data[i + 1 + edit.size % 16 :]
    if edit.kind == "insert":
        return data[:i] + HOSTILE[edit.pick % len(HOSTILE)].encode() + data[i:]
    return data


def _text_edit(data: bytes, edit: Edit, sep: str) -> bytes:
    if edit.kind in ("flip", "cut", "drop", "insert"):
        return _bytes_edit(data, edit)
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    hostile = HOSTILE[edit.pick % len(HOSTILE)]
    k = _pos(edit, len(lines))
    if edit.kind == "dup":
        lines.insert(k, lines[k])
    elif edit.kind in ("field", "extra", "header"):
        k = 0 if edit.kind == "header" and sep != ":" else k
        fields = lines[k].split(sep)
        if edit.kind == "extra":
            fields.append(hostile if edit.size % 2 else "")
        else:
            fields[edit.size % len(fields)] = hostile
        lines[k] = sep.join(fields)
    elif edit.kind == "key":
        keys = [i for i, line in enumerate(lines) if line.startswith("@") and " " in line]
        if keys:
            j = keys[edit.size % len(keys)]
            lines[j] = lines[j].split(" ")[0] + " " + hostile
        else:
            lines.insert(k, hostile)
    return "\n".join(lines).encode()


def _npy_edit(data: bytes, edit: Edit) -> bytes:
    if edit.kind in ("flip", "cut", "drop", "insert"):
        return _bytes_edit(data, edit)
    if len(data) < 10:
        return data
    if edit.kind == "version":
        return data[:6] + bytes([edit.pick % 5, 0]) + data[8:]
    size = struct.unpack("<H", data[8:10])[0]
    header, rest = data[10 : 10 + size].decode("latin1"), data[10 + size :]
    if edit.kind == "shape":
        start, end = header.find("'shape': ") + 9, header.find(")", header.find("'shape'")) + 1
        header = header[:start] + repr(_SHAPES[edit.pick % len(_SHAPES)]) + header[end:]
    elif edit.kind == "descr":
        start = header.find("'descr': ") + 9
        header = header[:start] + _DESCRS[edit.pick % len(_DESCRS)] + header[header.find(",",
                                                                                       start):]
    elif edit.kind == "fortran":
        header = header.replace("False", "True")
    elif edit.kind == "header":
        i = _pos(edit, len(header))
        header = header[:i] + HOSTILE[edit.pick % len(HOSTILE)][:20] + header[i + edit.size % 3 :]
    raw = header.encode("latin1", errors="replace")
    return data[:8] + struct.pack("<H", len(raw)) + raw + rest


def _npz_edit(data: bytes, edit: Edit) -> bytes:
    if edit.kind in ("flip", "cut", "drop", "insert") and edit.size % 2:
        return _bytes_edit(data, edit)  # the archive's own bytes
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(i.filename, archive.read(i)) for i in archive.infolist()]
            deflated = any(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    except Exception:
        return _bytes_edit(data, edit)
    if not members:
        return data
    k = edit.pick % len(members)
    name, content = members[k]
    if edit.kind == "rename":
        members[k] = (["X", "X.txt", "dir/", "y.NPY", "X.npy.npy"][edit.size % 5], content)
    elif edit.kind == "twice":
        members.append((name, content))
    elif edit.kind == "junk":
        members.append(([f"j{edit.size}.npy", "notes.txt"][edit.size % 2],
                        HOSTILE[edit.pick % len(HOSTILE)].encode()))
    elif edit.kind == "deflate":
        return _bytes_edit(_zip(members, deflate=True),
                           Edit("flip", edit.at, edit.pick, 0)) if edit.size % 2 else _zip(
            members, deflate=True)
    else:
        members[k] = (name, _npy_edit(content, edit))
    return _zip(members, deflate=deflated)


def _json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        out = [prefix] if prefix else []
        for key, item in value.items():
            out += _json_paths(item, (*prefix, key))
        return out
    if isinstance(value, list) and value:
        return [prefix, *_json_paths(value[0], (*prefix, 0))]
    return [prefix]


def _json_edit(text: bytes, edit: Edit) -> bytes:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return _bytes_edit(text, edit)
    paths = _json_paths(value)
    if not paths:
        return text
    path = paths[_pos(edit, len(paths))]
    parent: Any = value
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1] if path else None
    if edit.kind == "set" and last is not None:
        parent[last] = HOSTILE_JSON[edit.pick % len(HOSTILE_JSON)]
    elif edit.kind == "delete" and isinstance(parent, dict) and last is not None:
        del parent[last]
    elif edit.kind == "add" and isinstance(parent, dict):
        parent[f"extra{edit.pick}"] = HOSTILE_JSON[edit.pick % len(HOSTILE_JSON)]
    elif edit.kind == "deep" and last is not None:
        return json.dumps(value).replace(json.dumps(last) + ":", json.dumps(last) + ": " + "[" *
                                         100_000 + "]" * 100_000 + ", \"_\":", 1).encode()
    elif edit.kind == "bigint":
        return json.dumps(value).replace(": 4,", ": " + "4" * 5000 + ",", 1).encode()
    return json.dumps(value).encode()


def _run_edit(files: dict[str, bytes], edit: Edit) -> None:
    if edit.kind == "nan_weights":
        from safetensors.numpy import load, save

        try:
            tensors = load(files["model.safetensors"])
        except Exception:  # an earlier edit broke the file: nothing to put NaN into
            return
        name = sorted(tensors)[edit.pick % len(tensors)]
        tensors[name] = tensors[name].copy()
        tensors[name].flat[edit.size % tensors[name].size] = [np.nan, np.inf][edit.size % 2]
        files["model.safetensors"] = save(tensors, metadata={"format": "rnntrace-run"})
    elif edit.kind == "flip":
        name = ["model.safetensors", "config.json", "trace.json"][edit.size % 3]
        files[name] = _bytes_edit(files[name], Edit(["flip", "cut", "drop"][edit.pick % 3],
                                                    edit.at, edit.pick, edit.size))
    elif edit.kind == "trace":
        files["trace.json"] = _json_edit(files["trace.json"], Edit(
            ["set", "delete", "add", "deep"][edit.size % 4], edit.at, edit.pick, edit.size))
    else:
        files["config.json"] = _json_edit(files["config.json"], edit)


def mutate(fmt: str, files: dict[str, bytes], edits: list[Edit]) -> dict[str, bytes]:
    """`files` with every edit applied in turn (an edit of another format's kind is skipped)."""
    files = dict(files)
    names = list(files)
    for edit in edits:
        if fmt == "run":
            _run_edit(files, edit)
        elif fmt in ("csv", "tsv", "ts"):
            sep = {"csv": ",", "tsv": "\t", "ts": ":"}[fmt]
            files[names[0]] = _text_edit(files[names[0]], edit, sep)
        elif fmt == "npy":
            name = names[edit.size % len(names)]
            files[name] = _npy_edit(files[name], edit)
        elif fmt == "npz":
            files[names[0]] = _npz_edit(files[names[0]], edit)
        elif fmt == "parquet":
            if edit.kind == "variant":
                files[names[0]] = _parquet(edit.pick)
            else:
                files[names[0]] = _bytes_edit(files[names[0]], edit)
    return files


# ---------------------------------------------------------------- the property

def write(directory: Path, files: dict[str, bytes]) -> Path:
    """The files written into `directory`; the path to read (the folder for a run)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory if "config.json" in files else directory / next(iter(files))


def _check_set(data: Any) -> None:
    """What a set read without complaint must satisfy, whatever its file held."""
    n = len(data)
    assert data.values.shape[0] == n == len(data.ids) == data.lengths.shape[0]
    assert (data.lengths >= 1).all() and (data.lengths <= data.max_length).all()
    if data.task == "classify":
        assert ((data.labels >= 0) & (data.labels < data.n_classes)).all()
    elif data.task == "regress":  # a numeric y is read as targets, and says so
        assert np.isfinite(data.targets).all() and data.task_note
    else:
        real_steps = np.arange(data.max_length)[None, :] < data.lengths[:, None]
        labels = np.asarray(data.step_labels)
        assert ((labels[real_steps] >= 0) & (labels[real_steps] < data.n_classes)).all()
    real = np.arange(data.max_length)[None, :] < data.lengths[:, None]
    assert np.isfinite(np.asarray(data.values)[real]).all(), "a non-finite value was accepted"


def _run_case(path: Path) -> None:
    from rnntrace.data.arrays import from_arrays
    from rnntrace.experiment.predict import predict
    from rnntrace.run.directory import load_run
    from rnntrace.run.files import read_trace

    saved = load_run(path)
    x = np.random.default_rng(0).normal(size=(3, 3, saved.config.model.n_features))
    data = from_arrays(x.astype(np.float32), np.array(["", "", ""]), None, source="new.npz",
                       min_classes=1)
    result = predict(saved, data)
    probabilities = np.array(result.probabilities)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    read_trace(path / "trace.json")


def run_case(fmt: str, path: Path, nan: str) -> str:
    """'accepted' after checking what was read; an RnnTraceError or any other exception raises."""
    import rnntrace as rt

    if fmt == "run":
        _run_case(path)
    elif nan == "unlabelled":  # read as predict reads: labels may be absent
        _check_set(rt.read(path, labelled=False, nan="drop"))
    elif nan == "features" and fmt in ("csv", "tsv", "parquet"):
        _check_set(rt.read(path, features=["b", "a"], nan="fill"))
    else:
        _check_set(rt.read(path, nan=nan if nan in ("error", "drop", "fill") else "error"))
    return "accepted"


def check_case(fmt: str, path: Path, nan: str, call: Callable[[], str] | None = None) -> str:
    """'accepted' or 'refused'; anything else (a bug) raises. Refusals are one line naming it."""
    from rnntrace.errors import RnnTraceError

    try:
        return run_case(fmt, path, nan) if call is None else call()
    except RnnTraceError as exc:
        message = LAST_MESSAGE[0] = str(exc)
        assert "\n" not in message and message.isprintable(), repr(message)
        folder = path if path.is_dir() else path.parent
        assert folder.name in message or path.name in message, message
        return "refused"
