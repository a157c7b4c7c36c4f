"""Predictions of a text run on new texts: typed on the command line, or in a file."""

from __future__ import annotations

from pathlib import Path

from rnntrace.data.text import TextRows, encode, read_rows
from rnntrace.data.vocabulary import Vocabulary, printable
from rnntrace.errors import DataError, RunError
from rnntrace.experiment.inference import Predictions, classify
from rnntrace.run.directory import Run


def vocabulary_of(saved: Run) -> Vocabulary:
    """The run's saved vocabulary; a run trained on numbers has none."""
    if not saved.config.data.vocabulary:
        raise RunError("this run was trained on numeric sequences, not text; give a data file "
                       "without --text")
    return Vocabulary.from_dict(saved.config.data.vocabulary)


def predict_texts(saved: Run, items: list[str], given: bool) -> Predictions:
    """Classify `items`: the texts themselves (`given`), or one file read as training was."""
    vocabulary = vocabulary_of(saved)
    if given:
        texts = [t.strip() for t in items]
        for i, t in enumerate(texts, start=1):
            if not t:
                raise DataError(f"text {i} is empty; give each text as one argument")
        rows = TextRows(texts, [""] * len(texts), [f"text {i + 1}" for i in range(len(texts))],
                        "the command line")
    else:
        if len(items) != 1:
            raise DataError(f"predict reads one file of texts, got {len(items)}; to classify "
                            "texts typed here, add --text")
        options = saved.config.data.read_options
        rows = read_rows(Path(items[0]), options.get("text"), None)
    return classify(saved, encode(rows, vocabulary, min_classes=1).data)


def top_classes(predictions: Predictions, top: int = 3) -> str:
    """One line per text: the text, then its `top` classes with their probabilities."""
    lines = []
    width = min(24, max(len(printable(t)) for t in predictions.ids))
    for text, probs in zip(predictions.ids, predictions.probabilities, strict=True):
        ranked = sorted(zip(predictions.class_names, probs, strict=True), key=lambda p: -p[1])
        shown = "  ".join(f"{name} {p:.2f}" for name, p in ranked[:top])
        lines.append(f"{printable(text):<{width}}  {shown}")
    return "\n".join(lines) + "\n"
