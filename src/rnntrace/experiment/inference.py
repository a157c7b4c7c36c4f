"""A saved run's class probabilities for new sequences, written as CSV or JSON lines; new files
read as the run read its training data."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnntrace.data.readers import READERS, read
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import DataError, RunError
from rnntrace.run.directory import Run
from rnntrace.train.loop import predict_logits


@dataclass
class Predictions:
    """One row per sequence: its id, the predicted class and every class's probability."""

    ids: list[str]
    predicted: list[str]
    probabilities: list[list[float]]  # (N, C)
    class_names: list[str]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", "predicted", *(f"p_{name}" for name in self.class_names)])
        for row_id, label, probs in zip(self.ids, self.predicted, self.probabilities, strict=True):
            writer.writerow([row_id, label, *(f"{p:.6f}" for p in probs)])
        return buffer.getvalue()

    def to_jsonl(self) -> str:
        lines = []
        for row_id, label, probs in zip(self.ids, self.predicted, self.probabilities, strict=True):
            probabilities = {n: round(p, 6) for n, p in zip(self.class_names, probs, strict=True)}
            lines.append(
                json.dumps({"id": row_id, "predicted": label, "probabilities": probabilities})
            )
        return "\n".join(lines) + "\n"


def check_features(saved: Run, data: SequenceSet) -> None:
    """The new data must have the features the model was trained on, in the same order."""
    expected = saved.config.data.feature_names
    if data.n_features != saved.config.model.n_features:
        raise DataError(
            f"{data.source}: {data.n_features} features, but the run was trained on "
            f"{saved.config.model.n_features} ({', '.join(expected)})"
        )
    if expected and data.feature_names != expected and not _generic(data.feature_names):
        raise DataError(
            f"{data.source}: features {', '.join(data.feature_names)} differ from the "
            f"training features {', '.join(expected)}; name them alike, in the same order"
        )


def check_weights(saved: Run) -> None:
    """A model with NaN or inf weights would write nan probabilities: refuse it instead."""
    for name, tensor in saved.model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise RunError(f"{saved.path}: the weight {name} holds NaN or inf (training "
                           "diverged?); retrain, e.g. with a lower --lr")


def _generic(names: list[str]) -> bool:
    # Arrays carry no feature names; they get f0, f1, ... and are matched by position.
    return names == [f"f{i}" for i in range(len(names))]


def classify(saved: Run, data: SequenceSet, batch_size: int = 512) -> Predictions:
    """Class probabilities for every sequence of `data` from a saved run's model."""
    check_features(saved, data)
    check_weights(saved)
    probs = torch.softmax(predict_logits(saved.model, data, batch_size), dim=-1)  # (N, C)
    names = saved.config.data.class_names or [str(i) for i in range(probs.shape[1])]
    return Predictions(
        ids=list(data.ids),
        predicted=[names[i] for i in probs.argmax(1).tolist()],
        probabilities=probs.tolist(),
        class_names=list(names),
    )


def read_as_trained(saved: Run, path: Path, **given: Any) -> SequenceSet:
    """The sequences in `path`, read as the run read its training data.

    `given` overrides the run's read options (id, time, label, nan) where not None; named
    columns take the run's features by name, whatever else the file holds. No label is needed.
    """
    options = dict(saved.config.data.read_options) | {
        k: v for k, v in given.items() if v is not None
    }
    if READERS.get(path.suffix.lower()) in ("csv", "tsv", "parquet"):
        options["features"] = saved.config.data.feature_names or options.get("features")
    steps = saved.config.model.task == "steps"  # a label per row, if the file has any
    return read(path, **options, min_classes=1, labelled=False, task="steps" if steps else None)
