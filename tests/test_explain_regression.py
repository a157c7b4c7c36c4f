"""`rnntrace explain` on a regression run: every number it prints is recomputed here from the
saved model with plain PyTorch and numpy (predictions, RMSEs, the attribution's sum against the
model's own change from the baseline, the units' correlations through a forward hook)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnntrace as rt
from rnntrace.cli.main import main

pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def _levels_csv(path: Path, n: int, seed: int) -> None:
    """The target is the mean level of steps 3–5 (of 8); the other steps are noise."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "time", "x", "level"])
        for i in range(n):
            x = rng.normal(0, 1, 8)
            target = round(float(x[2:5].mean()) * 10 + 40, 3)
            for t in range(8):
                out.writerow([f"s{i}", t, round(float(x[t]), 4), target])


@pytest.fixture
def regression_run(capsys: pytest.CaptureFixture[str]) -> Path:
    _levels_csv(Path("train.csv"), 60, 0)
    assert main(["train", "train.csv", "--preset", "lesson", "--cell", "gru", "--hidden", "6",
                 "--epochs", "4", "--lr", "0.02", "--label", "level", "--out", "run",
                 "--json"]) == 0
    capsys.readouterr()
    return Path("run")


def test_explain_regression_numbers_against_pytorch(regression_run, capsys):
    assert main(["explain", str(regression_run), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["regression"]
    saved = rt.load_run(regression_run)
    model = saved.model.eval()
    data = rt.read("train.csv", label="level")
    from rnntrace.data.sequences import stratified_split

    _, held = stratified_split(data.labels, 0.2, 0)  # the run's seeded split, rebuilt
    part = data.subset(held)
    x = torch.from_numpy(part.values)
    with torch.no_grad():
        predicted = model.predict_values(x)[:, 0].double().numpy()
    actual = part.targets[:, 0].astype(np.float64)
    mean = float(saved.model.target_scale.mean[0])
    assert found["n_scored"] == len(part) and found["scored_on"].startswith(f"{len(part)} held")
    assert found["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - actual) ** 2)), rel=1e-5)
    assert found["mean_rmse"] == pytest.approx(np.sqrt(np.mean((mean - actual) ** 2)), rel=1e-5)
    one = found["attribution"]
    assert one["sequence_id"] == part.ids[0]
    assert one["predicted"] == pytest.approx(predicted[0], rel=1e-5)
    assert one["actual"] == pytest.approx(actual[0])
    baseline = saved.model.standardize.mean.expand(1, 8, 1)  # the training mean at every step
    with torch.no_grad():
        base_value = float(model.predict_values(baseline)[0, 0])
    total = float(np.sum(one["values"]))
    assert one["completeness"]["f_baseline"] == pytest.approx(base_value, rel=1e-5)
    if one["completeness"]["error"] <= one["completeness"]["tolerance"]:
        assert total == pytest.approx(predicted[0] - base_value, rel=0.02, abs=1e-3)
    # The largest errors are those of largest |predicted − actual|, largest first.
    order = np.argsort(-np.abs(predicted - actual), kind="stable")[:5]
    assert [a["sequence_id"] for a in found["largest_errors"]] == [part.ids[i] for i in order]
    # Units: Pearson's r of each unit's mean activation (a forward hook on the GRU) and actual.
    outputs: list[torch.Tensor] = []
    handle = next(m for m in model.modules() if isinstance(m, torch.nn.GRU)).register_forward_hook(
        lambda _m, _i, out: outputs.append(out[0]))
    with torch.no_grad():
        model(x)
    handle.remove()
    means = outputs[0].double().mean(1).numpy()  # (N, H), equal lengths
    for unit in found["units"]:
        r = np.corrcoef(means[:, unit["unit"]], actual)[0, 1]
        assert unit["r"] == pytest.approx(r, abs=1e-3)
    strongest = max(abs(np.corrcoef(means[:, u], actual)[0, 1]) for u in range(means.shape[1]))
    assert abs(found["units"][0]["r"]) == pytest.approx(strongest, abs=1e-3)


def test_explain_regression_says_what_it_measured(regression_run, capsys):
    assert main(["explain", str(regression_run)]) == 0
    shown = capsys.readouterr().out
    found = json.loads((regression_run / "explain.json").read_text())["regression"]
    assert (f"Explaining level on {found['scored_on']}: RMSE {found['rmse']:.4g}, "
            f"{found['rmse'] / found['mean_rmse']:.2f}× that of always predicting the training "
            f"mean") in shown
    one = found["attribution"]
    assert f"is predicted level = {one['predicted']:.4g}, actual {one['actual']:.4g}" in shown
    mark = "✓ holds" if one["completeness"]["error"] <= one["completeness"]["tolerance"] \
        else "✗ does NOT hold"
    assert mark in shown and "Largest errors" in shown
    page = (regression_run / "report.html").read_text()
    assert "Why this number" in page and "Explaining level on" in page


def test_explain_given_sequences_and_one_by_id(regression_run, capsys):
    _levels_csv(Path("more.csv"), 12, 5)
    assert main(["explain", str(regression_run), "--data", "more.csv", "--sequence", "s3",
                 "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["regression"]
    assert found["attribution"]["sequence_id"] == "s3"
    assert found["n_scored"] == 12 and "more.csv" in found["scored_on"]


def test_explain_still_refuses_a_per_step_run(capsys):
    with Path("steps.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["series", "step", "x", "label"])
        for i in range(12):
            for t in range(6):
                out.writerow([i, t, t * (1 if i % 2 else -1), "up" if t % 3 else "down"])
    assert main(["train", "steps.csv", "--id", "series", "--time", "step", "--task", "steps",
                 "--preset", "lesson", "--epochs", "1", "--out", "run", "--json"]) == 0
    capsys.readouterr()
    assert main(["explain", "run"]) == 2
    err = capsys.readouterr().err
    assert "output-step × input-step matrix" in err and len(err.strip().splitlines()) == 1
