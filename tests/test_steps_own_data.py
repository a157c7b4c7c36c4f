"""The per-step head on data as users bring it: long tables with their own time values, dates,
many labels, NaN-padded NumPy labels, a front end that reads ahead. Each figure is checked
against the file as pandas or numpy reads it, or against PyTorch's own forward."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rnntrace as rt

pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def _streams(n: int, seed: int, labels: tuple[str, ...] = ("walk", "run", "sit"),
             lengths: tuple[int, int] = (8, 30), start: int = 0, every: int = 1
             ) -> pd.DataFrame:
    """Streams of segments (label k: feature a near k), times start, start + every, …;
    rows shuffled, as a user's export may come."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        length, t = int(rng.integers(lengths[0], lengths[1] + 1)), 0
        while t < length:
            k = int(rng.integers(len(labels)))
            for _ in range(min(int(rng.integers(2, 9)), length - t)):
                rows.append({"series": f"s{s}", "t": start + every * t,
                             "a": k + rng.normal(0, 0.3), "b": rng.normal(),
                             "label": labels[k]})
                t += 1
    return pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)


def _test_scores(run: str) -> dict[str, float]:
    trace = json.loads(Path(run, "trace.json").read_text())
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    return next(line for line in test["lines"] if line["name"] == "model")["scores"]


def test_predict_writes_the_files_own_times_and_joins_back():
    """Times 100, 110, … in shuffled rows: predict's rows carry the file's own time values
    under its time column's name (they held positions 0, 1, … after sorting), so a join on
    (id, time) meets every row once; the joined labels score as the trace says (scikit-learn)."""
    from sklearn.metrics import accuracy_score, f1_score

    _streams(24, 0, start=100, every=10).to_csv("train.csv", index=False)
    test = _streams(8, 1, start=100, every=10)
    test.to_csv("test.csv", index=False)
    rt.train_from_files("train.csv", test="test.csv", id="series", time="t", task="steps",
                        preset="lesson", epochs=2, out="run")
    predicted = pd.read_csv(io.StringIO(rt.predict("run", "test.csv").to_csv()))
    assert list(predicted.columns) == ["id", "t", "predicted", "probability"]
    joined = test.merge(predicted, left_on=["series", "t"], right_on=["id", "t"],
                        validate="one_to_one")
    assert len(joined) == len(test) == len(predicted)
    scores = _test_scores("run")
    assert scores["frame_accuracy"] == pytest.approx(
        accuracy_score(joined["label"], joined["predicted"]), abs=1e-9)
    assert scores["macro_f1"] == pytest.approx(
        f1_score(joined["label"], joined["predicted"], average="macro"), abs=1e-9)
    lines = [json.loads(line) for line in rt.predict("run", "test.csv").to_jsonl().splitlines()]
    assert sorted(row["t"] for row in lines) == sorted(test["t"].tolist())


def test_predict_on_parquet_timestamps_joins_back_on_the_dates():
    """A Parquet timestamp column: each row's time is its date (ISO text) that pandas reads
    back equal to the file's."""
    frame = _streams(20, 2)
    frame["t"] = pd.Timestamp("2024-03-01 08:00") + pd.to_timedelta(frame["t"] * 15, unit="min")
    frame.to_parquet("train.parquet")
    rt.train_from_files("train.parquet", id="series", time="t", task="steps", preset="lesson",
                        epochs=1, out="run")
    predicted = pd.read_csv(io.StringIO(rt.predict("run", "train.parquet").to_csv()))
    predicted["t"] = pd.to_datetime(predicted["t"])
    joined = frame.merge(predicted, left_on=["series", "t"], right_on=["id", "t"],
                         validate="one_to_one")
    assert len(joined) == len(frame)
