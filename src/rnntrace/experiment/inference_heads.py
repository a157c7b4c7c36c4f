"""Predictions of a saved regression or per-step run: a number per sequence, or a label per step.

    regress   id,predicted_<target>            one row per sequence, in the target's units
    steps     id,TIME,predicted,probability     one row per real step (the long format it read)

A per-step table's TIME column is named and valued as the file's own time column (10, 20, 30 or
dates, not positions after sorting), so the predictions join back to the file on (id, time);
data with no time column (NumPy, or a table read in file order) numbers the steps from 0 as
`step`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from rnntrace.data.sequences import SequenceSet
from rnntrace.experiment.heads import predict_steps, predict_targets
from rnntrace.experiment.inference import check_features, check_weights
from rnntrace.run.directory import Run


@dataclass
class HeadPredictions:
    """Rows of predictions, as a table with named columns."""

    columns: list[str]
    rows: list[list[str | int | float]]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()

    def to_jsonl(self) -> str:
        lines = [json.dumps(dict(zip(self.columns, row, strict=True))) for row in self.rows]
        return "\n".join(lines) + "\n"


def predict_head(saved: Run, data: SequenceSet, batch_size: int = 512) -> HeadPredictions:
    """The saved model's predictions for every sequence of `data`."""
    check_features(saved, data)
    check_weights(saved)
    model = saved.model
    if model.config.task_spec.numeric:
        values = predict_targets(model, data, batch_size)  # (N, K) in the target's units
        names = [f"predicted_{n}" for n in saved.config.data.target_names or
                 [f"target_{k}" if values.shape[1] > 1 else "target"
                  for k in range(values.shape[1])]]
        rows: list[list[str | int | float]] = [
            [i, *(float(f"{v:.7g}") for v in row)] for i, row in zip(data.ids, values.tolist(),
                                                                    strict=True)]
        return HeadPredictions(["id", *names], rows)
    labels, confidence = predict_steps(model, data, batch_size)
    names = saved.config.data.class_names
    rows = [[i, t, names[int(label)], round(float(p), 6)]
            for n, (i, seq, probs) in enumerate(zip(data.ids, labels, confidence, strict=True))
            for t, label, p in zip(data.step_time(n), seq, probs, strict=True)]
    return HeadPredictions(["id", _step_column(data), "predicted", "probability"], rows)


def _step_column(data: SequenceSet) -> str:
    """The step column's name: the file's time column, unless it would repeat another."""
    name = data.time_column
    return name if name and name not in ("id", "predicted", "probability") else "step"
