"""`train` and `predict` for the heads from the command line: the task said or inferred (and
said), numbers and step labels written by predict, the per-step task named when a label
changes within a sequence."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from rnntrace.cli.main import main

pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def _slopes_csv(path: Path, n: int, seed: int, labelled: bool = True) -> np.ndarray:
    """Noisy lines whose slope (with decimals) is the label; returns the slopes."""
    rng = np.random.default_rng(seed)
    slopes = np.round(rng.uniform(-2, 2, n), 3)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "time", "x"] + (["label"] if labelled else []))
        for i, slope in enumerate(slopes):
            for t in range(8):
                value = round(float(slope * t + rng.normal(0, 0.1) + rng.uniform(-1, 1)), 4)
                out.writerow([f"s{i}", t, value] + ([slope] if labelled else []))
    return slopes


def test_numeric_labels_train_a_regressor_and_say_why(capsys):
    _slopes_csv(Path("train.csv"), 80, 0)
    truth = _slopes_csv(Path("test.csv"), 20, 1)
    rc = main(["train", "train.csv", "--test", "test.csv", "--preset", "lesson", "--cell", "gru",
               "--hidden", "8", "--epochs", "3", "--out", "run", "--json"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "numbers with fractions" in err and "regression" in err
    trace = json.loads(Path("run/trace.json").read_text())
    assert trace["config"]["model"]["task"] == "regress"
    assert trace["config"]["data"]["target_names"] == ["label"]
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    assert test["n_sequences"] == 20
    _slopes_csv(Path("new.csv"), 20, 1, labelled=False)
    assert main(["predict", "run", "new.csv", "--out", "pred.csv"]) == 0
    rows = list(csv.DictReader(Path("pred.csv").read_text().splitlines()))
    assert [r["id"] for r in rows] == [f"s{i}" for i in range(20)]
    predicted = np.array([float(r["predicted_label"]) for r in rows])
    rmse = float(np.sqrt(np.mean((predicted - truth) ** 2)))
    model = next(line for line in test["lines"] if line["name"] == "model")
    assert rmse == pytest.approx(model["scores"]["rmse"], rel=1e-4)


def test_task_classify_keeps_numbers_as_classes(capsys):
    _slopes_csv(Path("train.csv"), 30, 0)
    rc = main(["train", "train.csv", "--task", "classify", "--preset", "lesson",
               "--epochs", "1", "--val-fraction", "0", "--out", "run", "--json"])
    assert rc == 0
    trace = json.loads(Path("run/trace.json").read_text())
    assert "task" not in trace["config"]["model"]  # a classifier's files read as before
    assert len(trace["config"]["data"]["class_names"]) == 30


def _steps_csv(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["series", "step", "x", "label"])
        for i in range(n):
            value, rising = 0.0, bool(rng.integers(0, 2))
            for t in range(int(rng.integers(10, 16))):
                if t % 5 == 0 and t:
                    rising = not rising
                value += (1 if rising else -1) * rng.uniform(0.5, 1)
                out.writerow([i, t, round(value, 4), "up" if rising else "down"])


def test_per_step_labels_from_the_command_line(capsys):
    _steps_csv(Path("train.csv"), 40, 0)
    _steps_csv(Path("test.csv"), 10, 1)
    rc = main(["train", "train.csv", "--id", "series", "--time", "step", "--out", "bad"])
    assert rc == 2 and not Path("bad").exists()
    assert "--task steps" in capsys.readouterr().err
    rc = main(["train", "train.csv", "--test", "test.csv", "--id", "series", "--time", "step",
               "--task", "steps", "--preset", "lesson", "--cell", "gru", "--epochs", "2",
               "--out", "run"])
    assert rc == 0
    shown = capsys.readouterr().out
    assert "Label strips" in shown and "majority label" in shown
    assert main(["predict", "run", "test.csv", "--out", "pred.csv"]) == 0
    rows = list(csv.DictReader(Path("pred.csv").read_text().splitlines()))
    assert rows[0].keys() == {"id", "step", "predicted", "probability"}
    expected = len(Path("test.csv").read_text().splitlines()) - 1
    assert len(rows) == expected and {r["predicted"] for r in rows} <= {"up", "down"}


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_quiz_level_holds_for_a_regression_run(capsys, level):
    _slopes_csv(Path("train.csv"), 30, 0)
    assert main(["train", "train.csv", "--preset", "lesson", "--cell", "gru", "--hidden", "4",
                 "--epochs", "1", "--out", "run", "--json"]) == 0
    capsys.readouterr()
    assert main(["quiz", "run", "--level", level, "--n", "5", "--export", "json"]) == 0
    sheet = json.loads(capsys.readouterr().out)
    templates = [q["template"] for q in sheet["questions"]]
    assert templates and {q["level"] for q in sheet["questions"]} == {level}
    # The head's own question (why MSE wants a standardised target) is a medium one.
    assert ("standardised_target" in templates) == (level == "medium")
    assert "classifier_input" not in templates


def test_quiz_level_holds_for_a_per_step_run(capsys):
    _steps_csv(Path("train.csv"), 20, 0)
    assert main(["train", "train.csv", "--id", "series", "--time", "step", "--task", "steps",
                 "--preset", "lesson", "--hidden", "4", "--epochs", "1", "--out", "run",
                 "--json"]) == 0
    capsys.readouterr()
    for level, own in (("easy", "many_to_many_shape"), ("medium", "step_loss_layout")):
        assert main(["quiz", "run", "--level", level, "--n", "4", "--export", "json"]) == 0
        questions = json.loads(capsys.readouterr().out)["questions"]
        assert questions[0]["template"] == own  # the head's question first
        assert {q["level"] for q in questions} == {level}
    assert main(["quiz", "run", "--level", "tricky"]) == 2
    assert "unknown level" in capsys.readouterr().err


def test_too_few_sequences_to_hold_out_says_what_to_do(capsys):
    """One labelled stream: a fifth of it is no sequence at all. One line names the count
    and both ways on, and the second of them then trains (every sequence trained on)."""
    _steps_csv(Path("two.csv"), 1, 0)
    options = ["--id", "series", "--time", "step", "--task", "steps", "--preset", "lesson",
               "--epochs", "1", "--out", "run"]
    assert main(["train", "two.csv", *options]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "too few sequences (1)" in err and "--val-fraction 0" in err
    assert not Path("run").exists()
    assert main(["train", "two.csv", *options, "--val-fraction", "0", "--json"]) == 0
    assert json.loads(Path("run/config.json").read_text())["train"]["val_fraction"] == 0


def test_r2_of_a_single_sequence_is_shown_as_undefined(capsys):
    """A test file of one sequence: its RMSE is that sequence's error, its R² undefined (a dash
    and a note, in the terminal and on the page), where the held-out rows keep their R²."""
    _slopes_csv(Path("train.csv"), 40, seed=6)
    truth = _slopes_csv(Path("one.csv"), 1, seed=7)
    assert main(["train", "train.csv", "--test", "one.csv", "--task", "regress", "--preset",
                 "lesson", "--cell", "gru", "--epochs", "2", "--out", "run"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.count("│") >= 6]
    test_rows = [r for r in rows if "test (1)" in r]
    held_rows = [r for r in rows if "held-out (" in r]
    assert test_rows and all(r.split("│")[-2].strip() == "—" for r in test_rows)
    assert held_rows and all(r.split("│")[-2].strip() != "—" for r in held_rows)
    assert "R² is not defined on a set of one sequence" in out
    assert main(["predict", "run", "one.csv", "--out", "pred.csv"]) == 0
    row = next(csv.DictReader(Path("pred.csv").read_text().splitlines()))
    predicted = float(row["predicted_label"])  # the target column is named "label"
    trace = json.loads(Path("run/trace.json").read_text())
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    model = next(line for line in test["lines"] if line["name"] == "model")["scores"]
    assert model["rmse"] == pytest.approx(abs(predicted - truth[0]), rel=1e-4)
    page = Path("run/report.html").read_text(encoding="utf-8")
    assert "R² is not defined on a set of one sequence" in page
