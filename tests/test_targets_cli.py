"""Several numbers per sequence from the command line: `--label a,b` names several numeric
label columns of a CSV/Parquet table; the run predicts each, and its scores and `predict`'s
columns are checked against numpy (and scikit-learn's r2_score). Bad names: one line, exit 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import rnntrace as rt
from rnntrace.cli.main import main
from rnntrace.errors import ConfigError

pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def _lines(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy lines: values (n, 8), and per line its slope and its level (two targets)."""
    rng = np.random.default_rng(seed)
    slope = np.round(rng.uniform(-2, 2, n), 3)
    level = np.round(rng.uniform(10, 50, n), 2)
    values = np.round(level[:, None] + slope[:, None] * np.arange(8)
                      + rng.normal(0, 0.1, (n, 8)), 4)
    return values, slope, level


def _write(path: Path, values: np.ndarray, targets: dict[str, np.ndarray],
           labelled: bool = True) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "time", "x", *(targets if labelled else [])])
        for i, row in enumerate(values):
            for t, x in enumerate(row):
                out.writerow([f"s{i}", t, x, *([v[i] for v in targets.values()]
                                              if labelled else [])])


def test_several_label_columns_read_as_targets_against_numpy():
    values, slope, level = _lines(12, 0)
    _write(Path("d.csv"), values, {"slope": slope, "level": level, "noise": slope * 0 + 7})
    data = rt.read("d.csv", label=["slope", "level"])
    assert data.task == "regress" and data.target_names == ["slope", "level"]
    assert data.feature_names == ["x", "noise"]  # a column not named as a label is a feature
    assert np.array_equal(data.targets, np.stack([slope, level], 1).astype(np.float32))
    assert np.allclose(data.values[:, :, 0], values)
    assert "2 label columns (slope, level)" in data.task_note


def test_parquet_several_targets_read_back():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    values, slope, level = _lines(10, 1)
    frame = pd.DataFrame({"id": np.repeat(np.arange(10), 8), "time": np.tile(np.arange(8), 10),
                          "x": values.ravel(), "slope": np.repeat(slope, 8),
                          "level": np.repeat(level, 8)})
    frame.sample(frac=1, random_state=0).to_parquet("d.parquet")  # rows in any order
    data = rt.read("d.parquet", label=["level", "slope"])
    order = [int(i) for i in data.ids]
    assert np.array_equal(data.targets, np.stack([level, slope], 1)[order].astype(np.float32))


def test_several_targets_train_score_and_predict_from_the_cli(capsys):
    from sklearn.metrics import r2_score

    values, slope, level = _lines(60, 2)
    _write(Path("train.csv"), values, {"slope": slope, "level": level})
    values, slope, level = _lines(15, 3)
    _write(Path("test.csv"), values, {"slope": slope, "level": level})
    rc = main(["train", "train.csv", "--label", "slope,level", "--test", "test.csv",
               "--preset", "lesson", "--cell", "gru", "--hidden", "8", "--epochs", "3",
               "--out", "run", "--json"])
    assert rc == 0
    assert "2 label columns (slope, level)" in capsys.readouterr().err
    trace = json.loads(Path("run/trace.json").read_text())
    assert trace["config"]["data"]["target_names"] == ["slope", "level"]
    assert trace["config"]["model"]["n_targets"] == 2
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    model = next(line for line in test["lines"] if line["name"] == "model")["scores"]
    _write(Path("new.csv"), values, {}, labelled=False)
    assert main(["predict", "run", "new.csv", "--out", "pred.csv"]) == 0
    rows = list(csv.DictReader(Path("pred.csv").read_text().splitlines()))
    assert list(rows[0]) == ["id", "predicted_slope", "predicted_level"]
    predicted = np.array([[float(r["predicted_slope"]), float(r["predicted_level"])]
                          for r in rows])
    truth = np.stack([slope, level], 1)
    assert model["rmse"] == pytest.approx(float(np.sqrt(((predicted - truth) ** 2).mean())),
                                          rel=1e-4)
    assert model["mae"] == pytest.approx(float(np.abs(predicted - truth).mean()), rel=1e-4)
    assert model["r2"] == pytest.approx(r2_score(truth, predicted), rel=1e-3, abs=1e-4)
    # The test file read again with the run's options (a list of labels in read_options).
    assert main(["predict", "run", "test.csv", "--out", "again.csv"]) == 0
    assert Path("again.csv").read_text() == Path("pred.csv").read_text()


@pytest.mark.parametrize(("args", "says"), [
    (["--label", "slope,nope"], "no label column 'nope'"),
    (["--label", "slope,slope"], "named twice"),
    (["--label", "slope,level", "--task", "classify"], "several label columns (slope, level)"),
    (["--label", "slope,level", "--task", "steps"], "not --task steps"),
    (["--label", "slope,name"], "target 'name' is 'abc', not a finite number"),
    (["--label", "slope,drift"], "has target 'drift'"),
])
def test_bad_label_columns_are_one_line(capsys, args, says):
    values, slope, level = _lines(6, 4)
    drift = np.repeat(level[:, None], 8, 1) + np.arange(8)  # changes within each sequence
    with Path("d.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "time", "x", "slope", "level", "name", "drift"])
        for i, row in enumerate(values):
            for t, x in enumerate(row):
                out.writerow([f"s{i}", t, x, slope[i], level[i], "abc", drift[i, t]])
    rc = main(["train", "d.csv", *args, "--preset", "lesson", "--epochs", "1", "--out", "run"])
    err = capsys.readouterr().err
    assert rc == 2 and not Path("run").exists()
    assert says in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1


def test_several_labels_only_name_table_columns(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(6, 4, 1)), y=rng.normal(size=6))
    with pytest.raises(ConfigError, match="CSV/Parquet"):
        rt.read(tmp_path / "d.npz", label=["a", "b"])


def test_explain_picks_the_number_by_name_or_index(capsys):
    values, slope, level = _lines(40, 4)
    _write(Path("train.csv"), values, {"slope": slope, "level": level})
    assert main(["train", "train.csv", "--label", "slope,level", "--preset", "lesson",
                 "--cell", "gru", "--hidden", "8", "--epochs", "2", "--out", "run",
                 "--json"]) == 0
    _write(Path("some.csv"), values[:6], {"slope": slope[:6], "level": level[:6]})
    predicted = rt.predict("run", "some.csv").rows  # (id, slope, level) from the model itself
    for given, index in (("level", 1), ("0", 0)):
        assert main(["explain", "run", "--data", "some.csv", "--target", given, "--json"]) == 0
        found = json.loads(Path("run/explain.json").read_text())["regression"]
        assert (found["target"], found["target_name"]) == (index, ["slope", "level"][index])
        shown = found["attribution"]
        row = next(r for r in predicted if str(r[0]) == shown["sequence_id"])
        assert shown["predicted"] == pytest.approx(row[1 + index], rel=1e-4, abs=1e-4)
        assert shown["actual"] == pytest.approx([slope, level][index][int(row[0][1:])],
                                                rel=1e-5)
    capsys.readouterr()
    assert main(["explain", "run", "--target", "depth"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "numbers are slope, level" in err
