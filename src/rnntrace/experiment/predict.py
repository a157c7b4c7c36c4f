"""`rt.predict`: a saved run's predictions for new sequences, as `rnntrace predict` gives them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.experiment.from_files import note_dropped
from rnntrace.experiment.inference import Predictions, classify, read_as_trained
from rnntrace.experiment.inference_heads import HeadPredictions, predict_head
from rnntrace.experiment.inference_text import predict_texts
from rnntrace.run.directory import Run, load_run


def predict(
    run: Run | str | Path,
    data: SequenceSet | str | Path | Sequence[str],
    *,
    id: str | None = None,
    time: str | None = None,
    label: str | list[str] | None = None,
    nan: str | None = None,
    text: bool = False,
) -> Predictions | HeadPredictions:
    """Class probabilities for new sequences from a trained run (a Run or its directory); for a
    regression run the predicted numbers, for a per-step run a label per step
    (inference_heads.py).

    `data` is a SequenceSet, or a file read as the run read its training data (`id`, `time`,
    `label`, `nan` override the run's read options); for a text run, a file of texts, or with
    `text=True` the texts themselves. One row per sequence, as `rnntrace predict RUN DATA`.
    """
    saved = run if isinstance(run, Run) else load_run(Path(run), with_trace=False)
    if isinstance(data, SequenceSet):
        return _predict(saved, data)
    items = [str(data)] if isinstance(data, str | Path) else [str(d) for d in data]
    if text or saved.config.data.vocabulary:
        return predict_texts(saved, items, given=text)
    if len(items) != 1:
        raise ConfigError(f"predict reads one data file, got {len(items)}; texts need --text")
    sequences = read_as_trained(saved, Path(items[0]), id=id, time=time, label=label, nan=nan)
    note_dropped(sequences)
    return _predict(saved, sequences)


def _predict(saved: Run, data: SequenceSet) -> Predictions | HeadPredictions:
    """The task's predictions (config/task.py): classes, numbers, or a label per step."""
    if saved.config.model.task != "classify":
        return predict_head(saved, data)
    return classify(saved, data)
