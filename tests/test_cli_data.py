"""`train` and `predict` on real files, and bad files refused with one line, exit 2, nothing left.

The data is a small learnable set written to CSV, .npz and .ts by the tests themselves.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from rnntrace.cli.main import main
from rnntrace.data.synthetic import lesson
from rnntrace.errors import DataError
from rnntrace.run.directory import load_run

FEATURES = ["a", "b"]


pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def write_csv(path: Path, rows: range, labels: bool = True) -> np.ndarray:
    """Sequences `rows` of one lesson data set (one seed: the same distribution throughout)."""
    data = lesson(n_sequences=200, steps=6, n_features=2, noise=0.2, seed=1)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "time", *(["label"] if labels else []), *FEATURES])
        for i in rows:
            for t in range(6):
                label = [data.class_names[data.labels[i]]] if labels else []
                w.writerow([f"s{i}", t, *label, *data.values[i, t].tolist()])
    return data.values[rows.start : rows.stop]


def write_ts(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n@data\n" + "\n".join(rows) + "\n")
    return path


TS_HEADER = (
    "@problemName t\n@timeStamps false\n@missing false\n@univariate false\n@dimensions 2\n"
    "@equalLength true\n@seriesLength 3\n@classLabel true up down"
)


def test_train_and_predict_on_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_csv(tmp_path / "train.csv", range(0, 150))
    write_csv(tmp_path / "test.csv", range(150, 180))
    rc = main(["train", "train.csv", "--test", "test.csv", "--cell", "gru", "--hidden", "8",
               "--epochs", "8", "--out", "run"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Test set: 30 sequences" in out and "Confusion matrix" in out
    saved = load_run(tmp_path / "run")
    assert saved.trace is not None and saved.trace.test is not None
    assert saved.trace.test.accuracy >= 0.8
    assert saved.config.data.feature_names == FEATURES

    # Predict on the same sequences without labels: the probabilities are the model's own.
    values = write_csv(tmp_path / "new.csv", range(150, 180), labels=False)
    assert main(["predict", "run", "new.csv", "--out", "pred.csv"]) == 0
    rows = list(csv.DictReader((tmp_path / "pred.csv").read_text().splitlines()))
    assert [r["id"] for r in rows] == [f"s{i}" for i in range(150, 180)]
    names = saved.config.data.class_names
    assert names == ["falling", "peak", "rising"]  # labels as text, in natural order
    probs = np.array([[float(r[f"p_{c}"]) for c in names] for r in rows])
    with torch.no_grad():
        expected = saved.model.predict_proba(torch.from_numpy(values)).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert [r["predicted"] for r in rows] == [names[i] for i in expected.argmax(1)]
    assert main(["predict", "run", "new.csv", "--format", "jsonl"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["id"] == "s150" and set(first["probabilities"]) == {"rising", "falling", "peak"}


def test_train_on_ts_and_npz(tmp_path: Path) -> None:
    data = lesson(n_sequences=60, steps=5, n_features=2, seed=3)
    rows = [
        ":".join(",".join(f"{v:.5f}" for v in data.values[i, :, d]) for d in range(2))
        + f":{data.class_names[data.labels[i]]}"
        for i in range(60)
    ]
    header = TS_HEADER.replace("@seriesLength 3", "@seriesLength 5").replace(
        "up down", "rising falling peak"
    )
    write_ts(tmp_path / "d.ts", header, rows)
    assert main(["train", "d.ts", "--epochs", "2", "--out", "ts-run", "--json"]) == 0
    assert load_run(tmp_path / "ts-run").config.data.class_names == ["rising", "falling", "peak"]
    np.savez(tmp_path / "d.npz", X=data.values, y=data.labels)
    assert main(["train", "d.npz", "--epochs", "1", "--bidirectional", "--cell", "lstm",
                 "--out", "npz-run", "--json"]) == 0


def _bad_files(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """Each case: the train command's arguments and a word its message must contain."""
    def text(name: str, content: str) -> str:
        (tmp / name).write_text(content)
        return name

    good = "id,time,label,a\n" + "".join(f"s{i},{t},{'xy'[i % 2]},{t * i}\n"
                                          for i in range(6) for t in range(3))
    text("good.csv", good)
    np.savez(tmp / "missing_key.npz", X=np.zeros((3, 4, 2), np.float32))
    np.savez(tmp / "mismatch.npz", X=np.zeros((3, 4, 2), np.float32), y=np.array([0, 1]))
    np.savez(tmp / "flat.npz", X=np.zeros((3, 4), np.float32), y=np.array([0, 1, 0]))
    np.savez(tmp / "objects.npz", X=np.zeros((2, 4, 2), np.float32),
             y=np.array([{"a": 1}, None], dtype=object))
    (tmp / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    (tmp / "garbage.npz").write_bytes(b"PK\x03\x04" + os.urandom(200))
    two_dims = "1,2,3:4,5,6:up"
    return {
        "empty": ([text("empty.csv", "")], "empty"),
        "header only": ([text("header.csv", "id,time,label,a\n")], "no rows"),
        "ragged": ([text("ragged.csv", "id,time,label,a\ns,0,x,1\ns,1,x,2,9\n")], "fields"),
        "non-numeric": ([text("word.csv", good.replace("s1,1,y,1", "s1,1,y,one"))], "number"),
        "nan": ([text("nan.csv", good.replace("s1,1,y,1", "s1,1,y,nan"))], "is NaN (not a number)"),
        "times mix numbers and dates": (
            [text("mixed.csv", good.replace("s0,0,", "s0,2024-01-01,"))],
            "line 2 (id 's0'): time column 'time' mixes numbers and dates"),
        "label named as a feature": (["good.csv", "--features", "a,label"],
                                     "'label' is the label column and cannot also be a feature"),
        "no label column": ([text("nolabel.csv", good.replace("label", "kind"))], "label"),
        "no id column": ([text("noid.csv", good.replace("id,", "key,"))], "id"),
        "one class": ([text("one.csv", good.replace(",y,", ",x,"))], "class"),
        "label changes": ([text("change.csv", good.replace("s1,2,y", "s1,2,x"))], "changes"),
        "ts dimensions disagree": ([text("dims.ts", TS_HEADER + "\n@data\n" + two_dims
                                         + "\n1,2,3:down\n")], "dimension"),
        "ts malformed header": ([text("head.ts", TS_HEADER.replace("true up", "maybe up")
                                      + "\n@data\n" + two_dims + "\n")], "classLabel"),
        "ts no data line": ([text("nodata.ts", TS_HEADER + "\n")], "@data"),
        "binary garbage": (["garbage.csv"], "binary"),
        "not a zip": (["garbage.npz"], "npz"),
        "npz missing key": (["missing_key.npz"], "'y'"),
        "npz mismatched lengths": (["mismatch.npz"], "match"),
        "npz 2-D X": (["flat.npz"], "(N, T, F)"),
        "npz object array": (["objects.npz"], "objects"),
        "test labels unseen": (["good.csv", "--test", text("unseen.csv", good.replace(
            ",y,", ",z,"))], "never saw"),
        "test features differ": (["good.csv", "--test", text("feat.csv", good.replace(
            "label,a", "label,b"))], "features"),
        "missing file": (["nowhere.csv"], "no such file"),
        "unknown nan policy": (["good.csv", "--nan", "mean"], "nan"),
        "bad cell": (["good.csv", "--cell", "transformer"], "cell"),
    }


BAD_CASES = [
    "empty", "header only", "ragged", "non-numeric", "nan", "times mix numbers and dates",
    "label named as a feature", "no label column", "no id column",
    "one class", "label changes", "ts dimensions disagree", "ts malformed header",
    "ts no data line", "binary garbage", "not a zip", "npz missing key",
    "npz mismatched lengths", "npz 2-D X", "npz object array", "test labels unseen",
    "test features differ", "missing file", "unknown nan policy", "bad cell",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, word = _bad_files(tmp_path)[case]
    before = set(tmp_path.iterdir())
    rc = main(["train", *args, "--epochs", "1", "--out", "run"])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rnntrace: error: ")
    assert word.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in err
    assert set(tmp_path.iterdir()) == before  # no run directory, no runs/, nothing written


def _small_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A one-epoch run at ./run, trained on ./train.csv."""
    write_csv(tmp_path / "train.csv", range(60))
    assert main(["train", "train.csv", "--epochs", "1", "--out", "run", "--json"]) == 0
    capsys.readouterr()


def test_predict_refuses_other_features_and_foreign_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _small_run(tmp_path, capsys)
    np.savez(tmp_path / "three.npz", X=np.zeros((2, 6, 3), np.float32))
    assert main(["predict", "run", "three.npz"]) == 2
    assert "3 features" in capsys.readouterr().err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["data"]["class_names"].append("extra")  # names no longer match the model's classes
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    assert main(["predict", "run", "train.csv"]) == 2
    assert "4 class names for a model of 3 classes" in capsys.readouterr().err
    config["data"]["class_names"].pop()
    config["model"]["layers"] = 2  # a setting rnntrace does not have
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    assert main(["predict", "run", "train.csv"]) == 2
    assert "unknown setting 'layers'" in capsys.readouterr().err
    (tmp_path / "notrun").mkdir()
    assert main(["predict", "notrun", "three.npz"]) == 2
    assert "config.json is missing" in capsys.readouterr().err
    assert main(["predict", "run", "train.csv", "--out", "p.csv", "--format", "xml"]) == 2
    assert not (tmp_path / "p.csv").exists()


def test_predict_reads_new_data_as_the_run_read_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _small_run(tmp_path, capsys)
    assert main(["predict", "run", "train.csv", "--out", "p.csv"]) == 0
    expected = (tmp_path / "p.csv").read_text()
    # Other column names, the features in another order, an extra column: picked by name.
    with (tmp_path / "train.csv").open() as f:
        rows = list(csv.DictReader(f))
    with (tmp_path / "other.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "extra", *reversed(FEATURES), "seq"])
        for r in rows:
            w.writerow([r["time"], 7.0, *(r[c] for c in reversed(FEATURES)), r["id"]])
    assert main(["predict", "run", "other.csv", "--id", "seq", "--time", "step",
                 "--out", "p.jsonl"]) == 0
    lines = (tmp_path / "p.jsonl").read_text().splitlines()  # the format from the suffix
    by_csv = list(csv.DictReader(expected.splitlines()))
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in by_csv]
    for line, r in zip(lines, by_csv, strict=True):
        probs = json.loads(line)["probabilities"]
        assert all(abs(probs[c] - float(r[f"p_{c}"])) < 1e-6 for c in probs)


def test_nan_drop_names_what_it_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnntrace.data.readers import read

    X = np.ones((6, 3, 2), np.float32)
    X[2, 1, 0] = np.nan  # on a real step: sequence 2 goes
    X[4, 2, 1] = np.nan  # past its length (2): padding, kept
    lengths = np.array([3, 3, 3, 3, 2, 3])
    np.savez(tmp_path / "n.npz", X=X, y=np.array([0, 1] * 3), lengths=lengths)
    write_ts(tmp_path / "n.ts", TS_HEADER, ["1,2,3:4,5,6:up", "1,?,3:4,5,6:down",
                                            "1,2,3:4,5,6:down", "1,2,3:4,5,6:up"])
    assert read(tmp_path / "n.npz", nan="drop").dropped == ["2"]
    assert read(tmp_path / "n.ts", nan="drop").dropped == ["1"]
    assert read(tmp_path / "n.ts", nan="fill").dropped == []  # filled, not left out
    assert main(["train", "n.npz", "--nan", "drop", "--epochs", "1", "--val-fraction", "0",
                 "--json", "--out", "run"]) == 0
    err = capsys.readouterr().err
    assert err == "rnntrace: note: n.npz: --nan drop left out 1 of 6 sequences (ids '2')\n"


@pytest.mark.parametrize("maker", ["csv", "npz", "ts"])
def test_unlabelled_files_read_for_prediction(tmp_path: Path, maker: str) -> None:
    from rnntrace.data.readers import read

    makers: dict[str, Callable[[], Path]] = {
        "csv": lambda: (write_csv(tmp_path / "u.csv", range(4), labels=False),
                        tmp_path / "u.csv")[1],
        "npz": lambda: (np.savez(tmp_path / "u.npz", X=np.ones((4, 6, 2), np.float32)),
                        tmp_path / "u.npz")[1],
        "ts": lambda: write_ts(tmp_path / "u.ts", TS_HEADER.replace("true up down", "false"),
                               ["1,2,3:4,5,6"] * 4),
    }
    data = read(makers[maker](), labelled=False)
    assert len(data) == 4 and data.class_names == [""]
    with pytest.raises(DataError, match=r"label|'y'|classLabel"):
        read(makers[maker]())


def test_npy_with_garbage_padding_trains_like_the_npz(tmp_path: Path) -> None:
    data = lesson(n_sequences=60, steps=6, n_features=2, seed=4)
    lengths = np.random.default_rng(0).integers(2, 7, 60)
    past = np.arange(6)[None, :] >= lengths[:, None]  # (N, T)
    noisy = data.values.copy()
    noisy[past] = np.nan  # NaN padding would poison every gradient if a batch carried it
    for name, array in (("X", noisy), ("y", data.labels), ("lengths", lengths)):
        np.save(tmp_path / f"{name}.npy", array)
    np.savez(tmp_path / "d.npz", X=noisy, y=data.labels, lengths=lengths)
    for name in ("X.npy", "d.npz"):
        assert main(["train", name, "--epochs", "2", "--out", name + "-run", "--json"]) == 0
    npy, npz = load_run(tmp_path / "X.npy-run"), load_run(tmp_path / "d.npz-run")
    assert npy.trace is not None and npz.trace is not None
    losses = [r.loss for r in npy.trace.training]
    assert all(np.isfinite(losses))
    assert losses == [r.loss for r in npz.trace.training]
