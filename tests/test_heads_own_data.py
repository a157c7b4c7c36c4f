"""The heads on data as users bring it: targets of any scale, NumPy targets (N, K), padding
written as NaN. Each figure is checked against the file as pandas or numpy reads it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rnntrace as rt
from rnntrace.cli.main import main

pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def _long_frame(n: int, seed: int, scale: float) -> pd.DataFrame:
    """Random walks with string ids, rows shuffled; the label is the walk's mean × scale."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        walk = rng.normal(size=int(rng.integers(4, 12))).cumsum()
        rows += [{"id": f"s-{i}", "time": t, "x": v, "label": walk.mean() * scale}
                 for t, v in enumerate(walk)]
    return pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)


def _trained(scale: float, name: str) -> dict:
    _long_frame(40, 0, scale).to_csv(f"{name}.csv", index=False)
    _long_frame(12, 1, scale).to_csv(f"{name}_test.csv", index=False)
    rt.train_from_files(f"{name}.csv", test=f"{name}_test.csv", task="regress", preset="lesson",
                        epochs=1, out=name)
    return json.loads(Path(name, "trace.json").read_text())


def test_tiny_targets_keep_their_digits_in_the_trace():
    """A target of ~1e-6 trains the same model as one of ~1 (both standardised), so the
    trace's plot points and attribution are the unit run's × 1e-6, not rounded to 0."""
    tiny, unit = _trained(1e-6, "tiny")["head"], _trained(1.0, "unit")["head"]
    test = pd.read_csv("tiny_test.csv").groupby("id", sort=False)["label"].first()
    assert tiny["actual"] == pytest.approx(test.to_numpy(), rel=1e-5)
    predicted = pd.read_csv(io.StringIO(rt.predict("tiny", "tiny_test.csv").to_csv()))
    assert tiny["predicted"] == pytest.approx(predicted["predicted_label"].to_numpy(), rel=1e-5)
    assert np.abs(tiny["predicted"]).min() > 0
    tiny_why, unit_why = np.array(tiny["attribution"]), np.array(unit["attribution"])
    assert np.abs(unit_why).max() > 1e-3  # the unit run's attribution is not itself ~0
    np.testing.assert_allclose(tiny_why * 1e6, unit_why, rtol=2e-3, atol=1e-6)


def test_completeness_of_a_tiny_target_is_written_in_its_digits(capsys):
    """explain's completeness line gives f(x) in the target's units: for a ~1e-6 target it
    is the predicted number (as predict writes it), not -0.0000."""
    _trained(1e-6, "tiny")
    assert main(["explain", "tiny"]) == 0
    out = capsys.readouterr().out
    explained = re.search(r"Why sequence '([^']+)'", out)
    sums = re.search(r"f\(x\) − f\(baseline\) = (\S+) − \((\S+)\) = (\S+);", out)
    assert explained is not None and sums is not None
    f_input, f_baseline, difference = (float(v) for v in sums.groups())
    predicted = pd.read_csv(io.StringIO(rt.predict("tiny", "tiny.csv").to_csv()))
    by_id = dict(zip(predicted["id"], predicted["predicted_label"], strict=True))
    assert f_input == pytest.approx(by_id[explained.group(1)], rel=1e-3)
    assert f_input != 0 and difference == pytest.approx(f_input - f_baseline, rel=1e-2)


def _arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 9, 2)).astype(np.float32)
    y = np.stack([x[:, :, 0].mean(axis=1), 3 * x[:, :, 1].sum(axis=1) + 10], axis=1)  # (N, 2)
    return x, y


def test_numpy_targets_of_shape_n_k_are_k_numbers_per_sequence():
    """y (N, K) of floats in an .npz or a .npy pair is K targets, rows kept as NaN drops them;
    one-hot rows stay refused as labels."""
    x, y = _arrays(30, 0)
    x[4, 3, 1] = np.nan
    np.savez("k.npz", X=x, y=y, target_names=np.array(["mean", "sum"]))
    data = rt.read("k.npz", nan="drop")
    assert data.task == "regress" and data.target_names == ["mean", "sum"]
    assert "2 numbers to predict" in data.task_note
    np.testing.assert_array_equal(data.targets, np.delete(y, 4, axis=0).astype(np.float32))
    assert data.ids == [str(i) for i in range(30) if i != 4]
    np.save("train_X.npy", x[:3]), np.save("train_y.npy", y[:3])
    pair = rt.read("train_X.npy", nan="fill")
    np.testing.assert_array_equal(pair.targets, y[:3].astype(np.float32))
    assert pair.target_names == ["target_0", "target_1"]
    one_hot = np.eye(3, dtype=np.float32)[np.arange(30) % 3]
    np.savez("onehot.npz", X=x, y=one_hot)
    with pytest.raises(rt.errors.DataError, match=r"argmax"):
        rt.read("onehot.npz", nan="fill")


def test_numpy_targets_train_score_and_predict():
    """A run on y (N, K) scores the test file as numpy does from predict's numbers."""
    x, y = _arrays(40, 1)
    np.savez("train.npz", X=x, y=y)
    x_test, y_test = _arrays(12, 2)
    np.savez("test.npz", X=x_test, y=y_test)
    rt.train_from_files("train.npz", test="test.npz", preset="lesson", epochs=1, out="run")
    np.savez("new.npz", X=x_test)
    table = pd.read_csv(io.StringIO(rt.predict("run", "new.npz").to_csv()))
    assert list(table.columns) == ["id", "predicted_target_0", "predicted_target_1"]
    predicted = table[["predicted_target_0", "predicted_target_1"]].to_numpy()
    trace = json.loads(Path("run/trace.json").read_text())
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    model = next(line for line in test["lines"] if line["name"] == "model")["scores"]
    assert model["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - y_test) ** 2)), rel=1e-4)


def test_nan_padding_without_lengths_names_lengths_as_the_fix():
    """Unequal lengths padded with NaN in an .npz: the error says to save the lengths (not
    --nan fill, which would copy values into the padding); saved, the real steps read back."""
    x, y = _arrays(6, 3)
    lengths = np.array([9, 4, 9, 2, 7, 9])
    for i, n in enumerate(lengths):
        x[i, n:] = np.nan
    np.savez("padded.npz", X=x, y=y)
    with pytest.raises(rt.errors.DataError, match=r"sequence 1 \(id '1'\).*lengths=lengths"):
        rt.read("padded.npz")
    np.savez("padded.npz", X=x, y=y, lengths=lengths)
    data = rt.read("padded.npz")
    assert data.lengths.tolist() == lengths.tolist()
    for i, n in enumerate(lengths):
        np.testing.assert_array_equal(data.sequence(i), x[i, :n])
    x[0, 2, 1] = np.nan  # a value missing inside a sequence stays a missing value
    np.savez("gap.npz", X=x, y=y, lengths=lengths)
    with pytest.raises(rt.errors.DataError, match=r"step 2, feature 'f1' is NaN.*--nan fill"):
        rt.read("gap.npz")


def _two_targets(path: str, n: int, seed: int) -> None:
    frame = _long_frame(n, seed, 1.0)
    frame["a"] = frame.pop("label")
    frame["b"] = 1000 * frame["a"] ** 2  # another unit and scale
    frame.to_csv(path, index=False)


def test_several_targets_say_how_one_row_pools_them(capsys):
    """--label a,b: the table's row is over both targets; the sentence saying so is true
    (RMSE over every number as numpy takes it, R² as scikit-learn's uniform average)."""
    from sklearn.metrics import r2_score

    _two_targets("train.csv", 40, 0)
    _two_targets("test.csv", 12, 1)
    assert main(["train", "train.csv", "--test", "test.csv", "--label", "a,b", "--preset",
                 "lesson", "--epochs", "1", "--out", "run"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert ("With 2 targets (a, b), MAE and RMSE are over every number of all of them, each "
            "in its own units; R² is the mean of their R²s.") in said
    assert "R² is the mean of their R²s" in Path("run/report.html").read_text()
    truth = pd.read_csv("test.csv").groupby("id", sort=False)[["a", "b"]].first().to_numpy()
    table = pd.read_csv(io.StringIO(rt.predict("run", "test.csv").to_csv()))
    predicted = table[["predicted_a", "predicted_b"]].to_numpy()
    trace = json.loads(Path("run/trace.json").read_text())
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    model = next(line for line in test["lines"] if line["name"] == "model")["scores"]
    assert model["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - truth) ** 2)), rel=1e-4)
    assert model["r2"] == pytest.approx(r2_score(truth, predicted), rel=1e-4, abs=1e-6)
    rt.train_from_files("train.csv", label="a", preset="lesson", epochs=1, out="one")
    assert main(["report", "one"]) == 0
    assert "R² is the mean" not in Path("one/report.html").read_text()


def test_a_target_far_from_zero_prints_its_errors_apart(capsys):
    """Targets of -5 ± 1e-4: a prediction and its truth print with the digits that tell them
    apart (they read '-5' and '-5' beside an error of -0.0002), as the file holds them."""
    frame = _long_frame(40, 0, 1e-4)
    frame["label"] -= 5
    frame.to_csv("near.csv", index=False)
    truth = frame.groupby("id")["label"].first()
    assert main(["train", "near.csv", "--task", "regress", "--preset", "lesson", "--epochs",
                 "1", "--out", "run"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    example = re.search(r"Sequence (\S+) \(held out from training\) \(\d+ steps\): label "
                        r"predicted (\S+), true (\S+?)\s", said)
    assert example is not None
    predicted, actual = float(example.group(2)), float(example.group(3))
    error = predicted - truth[example.group(1)]
    assert abs(actual - truth[example.group(1)]) <= 0.1 * abs(error)
    assert main(["explain", "run"]) == 0
    rows = re.findall(r"'(\S+)'\s+predicted (\S+), actual (\S+) \(error (\S+)\)",
                      capsys.readouterr().out)
    assert len(rows) == 5
    for sequence, shown_predicted, shown_actual, shown_error in rows:
        error = float(shown_error)
        assert abs(float(shown_actual) - truth[sequence]) <= 0.1 * abs(error)
        assert float(shown_predicted) - float(shown_actual) == pytest.approx(error, rel=0.2)


def test_a_target_with_one_value_is_refused_before_any_work(capsys):
    """A constant target column, alone or beside others, is one error line before a search
    or a run directory; the estimator refuses it too (its std of 0 let predictions of a
    constant 3 drift to 3.2)."""
    from rnntrace.sklearn import RNNRegressor

    _two_targets("train.csv", 30, 0)
    frame = pd.read_csv("train.csv")
    frame["b"] = 3.0
    frame.to_csv("flat.csv", index=False)
    assert main(["train", "flat.csv", "--label", "a,b", "--preset", "lesson", "--out",
                 "run"]) == 2
    assert "target 'b' is the same number (3) on every sequence" in capsys.readouterr().err
    assert main(["train", "flat.csv", "--label", "b", "--task", "regress", "--out", "run"]) == 2
    assert "every target is the same number (3)" in capsys.readouterr().err
    assert not Path("run").exists()
    x, y = _arrays(30, 0)
    with pytest.raises(rt.errors.DataError, match="target 'target_1' is the same number"):
        RNNRegressor(preset="lesson", epochs=1).fit(x, np.stack([y[:, 0], np.full(30, 3.0)], 1))
    with pytest.raises(rt.errors.DataError, match="every target is the same number"):
        RNNRegressor(epochs=1).fit(x, np.full(30, 3.0))


def test_a_validation_file_is_named_as_itself(capsys):
    """--val FILE: the scores' set is that file (its own count, its numbers as numpy takes
    them from predict), not 'the held-out part of the training file'."""
    _long_frame(40, 0, 1.0).to_csv("train.csv", index=False)
    _long_frame(15, 1, 1.0).to_csv("val.csv", index=False)
    assert main(["train", "train.csv", "--val", "val.csv", "--task", "regress", "--preset",
                 "lesson", "--epochs", "1", "--out", "run"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "│ validation (15) │ model" in said and "from the validation file" in said
    page = Path("run/report.html").read_text()
    assert "<caption>Scores on the validation file</caption>" in page
    assert "held-out part of the training file" not in page
    trace = json.loads(Path("run/trace.json").read_text())
    (scored,) = trace["head"]["sets"]
    truth = pd.read_csv("val.csv").groupby("id", sort=False)["label"].first().to_numpy()
    predicted = pd.read_csv(io.StringIO(rt.predict("run", "val.csv").to_csv()))
    rmse = np.sqrt(np.mean((predicted["predicted_label"].to_numpy() - truth) ** 2))
    assert scored["lines"][0]["scores"]["rmse"] == pytest.approx(rmse, rel=1e-4)
    rt.train_from_files("train.csv", task="regress", preset="lesson", epochs=1, out="split")
    assert main(["report", "split"]) == 0
    assert "Scores on the held-out part of the training file" in Path(
        "split/report.html").read_text()


def test_step_labels_of_minus_100_are_padding_as_pytorch_ignores_them():
    """y (N, T) padded with -100 (CrossEntropyLoss's ignore_index) and no lengths: each
    sequence ends at its last labelled step and -100 is never a label; inside a sequence it
    is refused (it trained as a class '-100' on the padded steps)."""
    rng = np.random.default_rng(4)
    lengths = np.array([7, 3, 5, 1, 7, 2])
    x = np.zeros((6, 7, 2), dtype=np.float32)
    y = np.full((6, 7), -100)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.normal(size=(n, 2))
        y[i, :n] = rng.integers(0, 3, n)
    np.savez("steps.npz", X=x, y=y)
    data = rt.read("steps.npz", task="steps")
    assert data.lengths.tolist() == lengths.tolist()
    assert data.class_names == ["0", "1", "2"]
    for i, n in enumerate(lengths):
        names = [data.class_names[c] for c in data.step_labels[i, :n]]
        assert names == [str(v) for v in y[i, :n]]
    y[2, 1] = -100
    np.savez("hole.npz", X=x, y=y)
    with pytest.raises(rt.errors.DataError, match=r"y\[2, 1\] is -100"):
        rt.read("hole.npz", task="steps")


def test_predict_refuses_to_write_csv_under_a_parquet_name(capsys):
    """--out preds.parquet wrote CSV text into it, which no Parquet reader opens: now one
    error line and no file; a .csv name writes what pandas reads back."""
    _long_frame(30, 0, 1.0).to_csv("train.csv", index=False)
    rt.train_from_files("train.csv", task="regress", preset="lesson", epochs=1, out="run")
    assert main(["predict", "run", "train.csv", "--out", "preds.parquet"]) == 2
    assert "predict writes csv or jsonl" in capsys.readouterr().err
    assert not Path("preds.parquet").exists()
    assert main(["predict", "run", "train.csv", "--out", "preds.csv"]) == 0
    table = pd.read_csv("preds.csv")
    assert list(table["id"]) == list(pd.read_csv("train.csv")["id"].unique())
