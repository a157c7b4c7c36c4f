"""The Trace of a regression or per-step model: its stages, the recomputed first layer, one
sequence's prediction, and its scores on held-out and test data beside their chance lines.

The classifier's trace (assemble.py) reads logits and a softmax over classes; these heads end
otherwise (task.py), so the stages end with their own head, the prediction is a number or a
label per step (task_records.HeadExample), and the scores are the task's (task_scores.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from rnntrace.attribution.heads import explain_head
from rnntrace.config.settings import RunConfig
from rnntrace.config.task import direction_note, steps_ahead
from rnntrace.data.batching import batch_order
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset, batch_source
from rnntrace.experiment.assemble import _stages_sample, model_inputs
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.frontends import conv_reach
from rnntrace.model.modes import eval_mode
from rnntrace.quiz.heads import head_quiz
from rnntrace.records import History, Stage, Trace
from rnntrace.records.heads import HeadExample, HeadReport, ScoredSet, ScoreLine
from rnntrace.tracing.dataflow import trace_stages
from rnntrace.tracing.hooks import trace_modules
from rnntrace.tracing.prediction import trace_steps
from rnntrace.tracing.sample import sample_values
from rnntrace.train.head_scores import (
    last_value_meaningful,
    majority_steps,
    regression_scores,
    step_scores,
)
from rnntrace.train.observations import BARELY

MAX_PAIRS = 500  # predicted-vs-actual points kept for the plots
SIGNIFICANT = 6  # digits kept of a number in the target's units (trace.json stays small)
MAX_STRIPS = 6  # sequences shown as label strips
QUIZ_QUESTIONS = 10  # as the classifier's trace holds


def _kept(value: float) -> float:
    """`value` to SIGNIFICANT significant digits: a target of 1e-6 keeps its digits, where
    round(v, 6) would write 0 or 1e-06 (targets are in the user's units, any scale)."""
    return float(f"{value:.{SIGNIFICANT}g}")


def _batches(model: SequenceClassifier, data: SequenceSet | RowSubset, batch_size: int
             ) -> Iterator[tuple[Tensor, Tensor | None, list[int]]]:
    """(x, lengths, each sequence's length) per batch, in order."""
    source = batch_source(data, next(model.parameters()).device)
    for index in batch_order(source, batch_size, bucket=False):
        batch = source.take(index, model.config.batch_first)
        yield batch.x, batch.lengths, source.lengths[index].tolist()


def predict_targets(model: SequenceClassifier, data: SequenceSet | RowSubset,
                    batch_size: int = 256) -> npt.NDArray[np.float32]:
    """Regression: (N, K) predictions in the target's units, in order."""
    with eval_mode(model), torch.inference_mode():
        out = [model.predict_values(x, lengths).cpu()
               for x, lengths, _ in _batches(model, data, batch_size)]
    return torch.cat(out).numpy()


def predict_steps(model: SequenceClassifier, data: SequenceSet | RowSubset,
                  batch_size: int = 256) -> tuple[list[npt.NDArray[np.int64]],
                                                  list[npt.NDArray[np.float32]]]:
    """Per step: each sequence's predicted labels over its real steps (T_i,), and the
    probability the model gave each of them (T_i,)."""
    labels: list[npt.NDArray[np.int64]] = []
    confidence: list[npt.NDArray[np.float32]] = []
    with eval_mode(model), torch.inference_mode():
        for x, lengths, real in _batches(model, data, batch_size):
            probs = torch.softmax(model(x, lengths), dim=-1)  # (B, T, C)
            if not model.config.batch_first:
                probs = probs.transpose(0, 1)
            best, which = probs.max(-1)  # (B, T)
            for row, length in enumerate(real):
                labels.append(which[row, :length].cpu().numpy())
                confidence.append(best[row, :length].cpu().numpy())
    return labels, confidence


def step_truth(data: SequenceSet) -> list[npt.NDArray[np.int64]]:
    """Each sequence's true step labels over its real steps."""
    assert data.step_labels is not None
    return [data.step_labels[i, : data.lengths[i]] for i in range(len(data))]


def _in_memory(data: SequenceSet | RowSubset) -> SequenceSet:
    return data.head(len(data)) if isinstance(data, RowSubset) else data


def score_sets(
    model: SequenceClassifier, train: SequenceSet | RowSubset,
    sets: list[tuple[str, SequenceSet]],
) -> tuple[list[ScoredSet], HeadReport]:
    """Each named set scored beside the chance lines taken from `train`, and the report's
    plot data from the last set."""
    training = _in_memory(train)
    report = HeadReport(task=model.config.task, sets=[], example=None)
    scored: list[ScoredSet] = []
    if model.config.task_spec.numeric:
        assert training.targets is not None
        mean = training.targets.mean(axis=0)  # (K,)
        report.last_value = last_value_meaningful(
            [training.sequence(i) for i in range(len(training))], training.targets)
        for name, data in sets:
            assert data.targets is not None
            predicted = predict_targets(model, data)
            lines = [ScoreLine("model", regression_scores(predicted, data.targets)),
                     ScoreLine("training mean", regression_scores(
                         np.broadcast_to(mean, data.targets.shape), data.targets))]
            if report.last_value:
                last = np.array([data.sequence(i)[-1, 0] for i in range(len(data))])
                lines.append(ScoreLine("last value", regression_scores(last[:, None],
                                                                       data.targets)))
            scored.append(ScoredSet(name, len(data), lines))
            report.actual = [_kept(float(v)) for v in data.targets[:MAX_PAIRS, 0]]
            report.predicted = [_kept(float(v)) for v in predicted[:MAX_PAIRS, 0]]
        return scored, report
    majority = int(np.argmax(training.class_counts()))
    for name, data in sets:
        truth = step_truth(data)
        labels, confidence = predict_steps(model, data)
        lines = [ScoreLine("model", step_scores(labels, truth)),
                 ScoreLine("majority label", step_scores(majority_steps(truth, majority),
                                                         truth))]
        scored.append(ScoredSet(name, len(data), lines))
        report.strips = [
            HeadExample(data.ids[i], int(data.lengths[i]), [int(v) for v in labels[i]],
                        [int(v) for v in truth[i]],
                        [round(float(v), 4) for v in confidence[i]])
            for i in range(min(MAX_STRIPS, len(data)))
        ]
    return scored, report


def _example(model: SequenceClassifier, data: SequenceSet) -> HeadExample:
    """The first sequence of `data`, predicted alone."""
    one = data.subset([0])
    if model.config.task_spec.numeric:
        assert one.targets is not None
        predicted = predict_targets(model, one)
        return HeadExample(one.ids[0], int(one.lengths[0]),
                           [float(v) for v in predicted[0]], [float(v) for v in one.targets[0]])
    labels, confidence = predict_steps(model, one)
    truth = step_truth(one)[0]
    times = [str(v) for v in one.step_time(0)] if one.step_times is not None else []
    return HeadExample(one.ids[0], int(one.lengths[0]), [int(v) for v in labels[0]],
                       [int(v) for v in truth], [round(float(v), 4) for v in confidence[0]],
                       times)


def head_stages(model: SequenceClassifier, x: Tensor, lengths: Tensor | None) -> list[Stage]:
    """The classifier's stages up to the recurrent layer (and summary), then this head's."""
    stages = trace_stages(model, x, lengths)
    cfg = model.config
    with eval_mode(model), torch.no_grad():
        out = model(x, lengths)
    width, n_out = model.head.in_features, model.head.out_features
    params = width * n_out + n_out
    if cfg.task_spec.numeric:
        stages = stages[:-2]  # the summary stays; the classifier's Linear and Softmax go
        scale = model.target_scale
        assert scale is not None
        units = out * scale.std + scale.mean
        stages.append(Stage("Linear", stages[-1].output_shape, list(out.shape),
                            f"ŷ = W·h + b: the target in training z-scores ({width}×{n_out} "
                            f"weights + {n_out} biases = {params} parameters)",
                            sample_values(out)))
        stages.append(Stage("Target units", list(out.shape), list(units.shape),
                            "ŷ·std + mean with the training targets' statistics: the "
                            "prediction in the target's own units", sample_values(units)))
        return stages
    stages = stages[:-3]  # per step: no summary of the whole sequence
    rnn_out = stages[-1].output_shape
    probs = torch.softmax(out, dim=-1)
    k = cfg.window
    with eval_mode(model), torch.no_grad():
        windows = model.window_logits(x, lengths)  # (B, T', C): T' = ceil(T / k)
    each = "window" if k > 1 else "step"
    stages.append(Stage(f"Linear at every {each}", rnn_out, list(windows.shape),
                        "logits_t = W·h_t + b at each recurrent step"
                        + (f" (one per window of {k} input steps)" if k > 1 else "")
                        + f": one score per label ({width}×{n_out} weights + {n_out} biases = "
                        f"{params} parameters, shared by the {each}s)",
                        sample_values(windows[0] if cfg.batch_first else windows[:, 0])))
    if k > 1:
        steps = int(out.shape[1 if cfg.batch_first else 0])
        stages.append(Stage("Repeat to the steps", list(windows.shape), list(out.shape),
                            f"each window's logits given to the {k} input steps it read "
                            f"(repeat_interleave({k}) along time, cropped to T = {steps}): a "
                            f"label changes only at a window's edge; copies past a sequence's "
                            "end are padding, never scored",
                            sample_values(out[0] if cfg.batch_first else out[:, 0])))
    stages.append(Stage("Softmax per step", list(out.shape), list(probs.shape),
                        "softmax over the labels at each step; the loss is CrossEntropyLoss on "
                        "logits moved to (B, C, T), ignoring padded steps",
                        sample_values(probs[0] if cfg.batch_first else probs[:, 0])))
    return stages


def assemble_head_trace(
    model: SequenceClassifier,
    data: SequenceSet,
    history: History | None,
    *,
    config: RunConfig,
    train: SequenceSet | RowSubset | None = None,
    held_out: SequenceSet | RowSubset | None = None,
    test: SequenceSet | None = None,
) -> Trace:
    """The Trace of a regression or per-step model (see the module docstring)."""
    batch_size = config.train.batch_size
    sample = _stages_sample(data, batch_size)
    x, lengths = model_inputs(model, sample)
    shown = _in_memory(held_out) if held_out is not None else data
    # A validation file (--val) stands where the held-out part would: named as its own file,
    # not as "the held-out part of the training file".
    held_name = "validation" if isinstance(held_out, SequenceSet) and \
        held_out.source != data.source else "held-out"
    sets = ([(held_name, shown)] if held_out is not None else []) + (
        [("test", test)] if test is not None else [])
    if not sets:
        sets = [("training", data)]
    scored, report = score_sets(model, train if train is not None else data, sets)
    report.sets = scored
    report.example = _example(model, shown)
    report.example_set = held_name if held_out is not None else "training"
    if model.config.task_spec.numeric:
        assert model.target_scale is not None
        report.target_names = list(data.target_names)
        report.target_mean = [float(v) for v in model.target_scale.mean]
        report.target_std = [float(v) for v in model.target_scale.std]
    else:
        report.class_names = list(data.class_names)
        report.time_column = shown.time_column if shown.step_times is not None else ""
        report.direction = direction_note(model.config.task_spec, model.config.bidirectional,
                                          model.config.window, conv_reach(model.config.front_end))
    why = explain_head(model, shown, 0)
    report.attribution = [[_kept(v) for v in row] for row in why.values]
    report.attribution_rows, report.attribution_holds = why.rows, why.holds
    report.attribution_note = why.note
    steps, recomputation = trace_steps(model, shown, 0)
    records = history.records if history is not None else []
    return Trace(
        config=config,
        stages=head_stages(model, x, lengths),
        training=records,
        prediction=None,
        insight=head_insight(report, model.config.bidirectional, model.config.window,
                             conv_reach(model.config.front_end),
                             train_score=_train_score(history)),
        module_calls=trace_modules(model, x, lengths),
        steps=steps,
        recomputation=recomputation,
        quiz=head_quiz(model.config, n=QUIZ_QUESTIONS, seed=config.train.seed,
                       input_shape=(int(x.shape[0]), int(x.shape[1]), int(x.shape[2]))),
        head=report,
    )


def _train_score(history: History | None) -> float | None:
    """The kept model's score on its training data: the averaged weights' when the run
    averaged, else the last epoch's."""
    if history is None:
        return None
    if history.averaging is not None:
        return history.averaging.accuracy
    return history.records[-1].accuracy if history.records else None


MEAN_TIE = 0.02  # an RMSE within 2 % of the mean line's is no better and no worse than it
SHIFTED = -0.1  # the mean line's R² on a set below this: its targets lie away from training's


def _worse_than_mean(name: str, mean_r2: float, train_score: float | None) -> str:
    """Why a model can score worse than always predicting the training mean, from its figures:
    it fitted its training sequences and that does not carry over, and (when the mean line's
    own R² on the set is well below 0) the set's targets are centred elsewhere."""
    said = ("worse than always predicting the training mean: what the model learned from the "
            f"training sequences does not carry over to the {name} sequences")
    if train_score is not None and train_score > BARELY:
        said += f" (it scores R² {train_score:.2f} on its training data)"
    if mean_r2 < SHIFTED:
        said += (f"; the {name} targets also lie away from the training mean (always "
                 f"predicting it scores R² {mean_r2:.2f} there)")
    return said


def head_insight(report: HeadReport, bidirectional: bool, window: int = 1, ahead: int = 0,
                 train_score: float | None = None) -> str:
    """The run's key insight, from its own figures: how far above its chance line it is.
    `ahead`: the windows a front end's convolutions read past each one; `train_score`: the
    model's score on its training data (R² for regression), which tells a model that learned
    nothing from one whose learning does not carry over."""
    scored = report.sets[-1]
    model = scored.line("model")
    assert model is not None
    if report.task == "regress":
        mean = scored.line("training mean")
        assert mean is not None
        rmse, base = model.scores["rmse"], mean.scores["rmse"]
        ratio = rmse / base if base > 0 else float("inf")
        verdict = (_worse_than_mean(scored.name, mean.scores["r2"], train_score)
                   if ratio > 1 + MEAN_TIE else
                   "no better than always predicting the training mean: the model has not "
                   "learned the target from these sequences" if ratio >= 1 - MEAN_TIE else
                   "barely better than always predicting the training mean" if ratio > 0.9
                   else "well below always predicting the training mean: the sequences carry "
                   "the target and the model found it")
        return (f"On the {scored.name} set the model's RMSE is {rmse:.4g} against {base:.4g} "
                f"for always predicting the training mean ({ratio:.2f}×): {verdict}. The head "
                "learned the target in z-scores (MSE on a target of mean 0 and std 1 starts "
                "near 1 whatever the units, so one learning rate fits every target) and "
                "reports it back in the target's units.")
    majority = scored.line("majority label")
    assert majority is not None
    acc, base = model.scores["frame_accuracy"], majority.scores["frame_accuracy"]
    edit = model.scores["edit"]
    return (f"On the {scored.name} set {acc:.1%} of the steps get their label, against "
            f"{base:.1%} for the majority label everywhere; the edit score {edit:.1%} says how "
            "well the order of segments is kept (over-segmentation lowers it, frame accuracy "
            "hardly sees it). "
            + ("The output at every step goes through one Linear layer shared by the steps. "
               if window == 1 else
               f"The recurrent layer read windows of {window} steps, {window} times fewer "
               "recurrent steps; each window's output goes through one Linear layer and its "
               f"labels go to each of its {window} steps, so a boundary is placed to within a "
               "window. ")
            + _online(bidirectional, window, ahead))


def _online(bidirectional: bool, window: int, ahead: int) -> str:
    """The insight's sentence on live use, true of this model's direction and front end."""
    if bidirectional:
        return ("Being bidirectional, each step's label also reads the steps after it: fine for "
                "recorded sequences, not for labelling a live stream.")
    late = steps_ahead(window, ahead)
    if ahead:
        return (f"The layer reads one direction, but the convolutions before it read {ahead} "
                f"{'windows' if window > 1 else 'steps'} ahead, so each step's label reads up to "
                f"{late} steps after it: it can label a live stream only {late} steps late.")
    return ("Reading one direction, each step's label depends only on the past"
            + ("" if window == 1 else f" and the rest of its window (up to {window - 1} "
               "steps ahead)") + ": it can label a live stream"
            + ("." if window == 1 else f", {window - 1} steps late at most."))
