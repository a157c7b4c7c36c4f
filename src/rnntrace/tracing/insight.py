"""A short paragraph about a run, written from that run's own numbers."""

from __future__ import annotations

from rnntrace.config.settings import ModelConfig
from rnntrace.records import EpochRecord, PredictionTrace


def write_insight(
    model: ModelConfig,
    training: list[EpochRecord],
    prediction: PredictionTrace | None,
    n_sequences: int,
    max_length: int,
) -> str:
    """What this run shows, in a few sentences a learner can check against the tables above."""
    cell = model.spec.display
    width = model.state_size * model.num_directions
    parts = [
        f"The {cell} read each of the {n_sequences} sequences one step at a time "
        f"(up to {max_length} steps of {model.n_features} features) and folded everything it "
        f"saw into {width} hidden numbers; " + _what_reached(model)
    ]
    if training:
        first, last = training[0], training[-1]
        chance = 1 / model.n_classes
        acc = last.val_accuracy if last.val_accuracy is not None else last.accuracy
        where = "held-out" if last.val_accuracy is not None else "training"
        parts.append(
            f"Over {len(training)} epoch{'s' if len(training) != 1 else ''} the loss went "
            f"from {first.loss:.3f} to {last.loss:.3f} "
            f"and {where} accuracy reached {acc:.0%}, against {chance:.0%} for guessing"
            + (
                ", so the hidden state carries what separates the classes."
                if acc > 1.5 * chance
                else ", so the hidden state does not yet separate the classes well."
            )
        )
    if prediction is not None:
        p = prediction.probabilities[prediction.predicted]
        verdict = (
            "correctly"
            if prediction.true_class == prediction.predicted
            else f"wrongly (it is {prediction.true_label})"
        )
        what = "final hidden state" if model.summary == "last" else f"{model.summary} summary"
        parts.append(
            f"For sequence {prediction.sequence_id} the {what} gave "
            f"{p:.0%} to '{prediction.predicted_label}', {verdict}."
        )
    if model.bidirectional:
        parts.append(
            "Being bidirectional, it also read each sequence backwards; the backward summary "
            "sits at step 0, not at the end."
        )
    return " ".join(parts)


def _what_reached(model: ModelConfig) -> str:
    if model.summary == "last":
        return "only the last hidden state reached the classifier."
    front = ("" if model.front_end == "none" else
             f" A {model.front_end} front end first read every {model.window} steps as one.")
    if model.resample:
        front = (f" Every sequence was first resampled to {model.resample} steps."
                 + front.replace(" A ", " Then a ", 1))
    return {
        "mean": "their mean over every real step reached the classifier, so no step is "
                "forgotten by the end.",
        "max": "each unit's largest value over the real steps reached the classifier, from "
               "whichever step it came.",
        "attention": "a learned weighting of every real step reached the classifier.",
    }[model.summary] + front
