"""The no-flag defaults: settings for a user's own data, chosen from the training file alone.

A small fixed list of candidates is trained on a stratified split of the training data (never
the test file, which this module is not given) with early stopping that keeps the best held-out
weights; the best held-out accuracy wins, and a tie goes to the earlier candidate. Not to the
lower held-out loss: on a few dozen held-out sequences that several candidates all classify
correctly, the losses differ in the fourth decimal and measure how sharp the logits are, not how
well the model generalises (18 set–seed pairs of 8 UCR/UEA sets, each candidate's model scored
on the test file: 7 ties went differently, the loss mostly to attention; the earlier candidate
scored 0.06 higher once, 0.011 higher twice, equal three times, 0.002 lower once). The
final model is then trained on all the training data for the winner's best number of epochs
(refit.py, whose held-out pass the candidates share with `train --text`). Both the candidates
and the final model then train SWA_EPOCHS more epochs at a constant small lr and end on the mean
of those epochs' weights (averaging.py; each candidate is scored as the averaged model it would
become): on PickupGestureWiimoteZ (40 training sequences) the averaged models scored 0.02 higher
on the test file than the plain ones, on average over the four candidates and seeds 0–2, and the
choice made with them 0.673 against 0.613 (both before the batching fix in data/batching.py).

Why a fixed list and not a search library: with 40–200 training sequences a held-out split
holds 8–40 of them, so held-out accuracy moves in steps of 2–12 %; a search over many
configurations would mostly fit that noise, and inside a budget of minutes on two cores only a
handful of trainings fit anyway. The list covers what measurably decides recurrent classifiers
on real series (issue 11): the summary (max, mean or attention over the real steps, instead of
a last state that forgets the start), and a convolutional front end reading windows of steps so
that no series is longer than about 128 recurrent steps — or the same windows without the
convolutions: on a few dozen training sequences the convolutions' 30,000-odd weights can learn
the training set by heart (PickupGestureWiimoteZ, 40 sequences: every conv candidate reaches
100 % training accuracy and 0.50–0.66 test accuracy, the plain windows 0.62–0.72, before the
batching fix), so the held-out split decides whether they help.

Sequences of unequal lengths are resampled to the longest length first, in every candidate
(frontends.resample): on the two such sets measured, lengths vary because the same gesture or
vowel was made faster or slower, and reading every sequence on one time scale raised the no-flag
test accuracy (PickupGestureWiimoteZ, JapaneseVowels; the figures are in the README).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import RowSubset, SequenceSet, stratified_split
from rnntrace.errors import ConfigError
from rnntrace.records import CandidateScore, Choice, EpochEnd
from rnntrace.train.averaging import SWA_EPOCHS, SWA_LR
from rnntrace.train.loop import evaluate
from rnntrace.train.refit import best_epoch, held_out_pass
from rnntrace.train.resources import free_cores, intra_op_threads, thread_budget
from rnntrace.train.split import Split, fold_splits, split
from rnntrace.train.step_search import StepPlan, plan_steps

PRESETS = ("auto", "lesson")
TARGET_STEPS = 128  # the front end's window makes every series at most about this many steps
MAX_EPOCHS = 100  # per candidate; early stopping usually ends sooner
PATIENCE = 25  # epochs without a better held-out loss before a candidate stops
MIN_FINAL_EPOCHS = 10
MIN_HELD_OUT = 20  # regression: held-out sequences, over several folds, that scores rest on
REPEATS = 5  # at most this many folds per candidate
# Regression: a candidate's budget and patience counted in optimiser updates. MAX_EPOCHS and
# PATIENCE were set for about four updates an epoch (auto_batch_size), 400 and 100 updates;
# under 32 training sequences the batch floor of 8 leaves two or three, and a recurrent
# regressor on a few dozen sequences often starts slowly: the plain GRU of the regression
# README, on MinimalGasPrices (its test file read each epoch, seeds 0-2), gets worse for its
# first ~15 updates and is back at its starting loss only after ~25, then improves until
# epoch 40-60. With patience 25 epochs (50 updates there) the search stopped the plain
# last-state candidate in 2 of 4 splits at epoch 1 for seed 1 (its held-out R² 0.14, test
# RMSE 0.102 against 0.070 for the same GRU trained 100 epochs); with 100 updates of patience
# it ran to epochs 46-118, R² 0.78, test RMSE 0.070.
MIN_UPDATES = 400
PATIENCE_UPDATES = 100
# The search's work, in recurrent sequence-steps trained (each training sequence's steps as the
# recurrent layer reads them, after resampling and windows, times each candidate's epoch cap
# and averaging epochs), summed over the candidates and folds. Deterministic, as text's
# WORK_BUDGET: the clock of a shared machine would make one seed choose differently. Every set
# of the README's benchmarks stays under it (Tecator's five candidates: 8.3 million; OSULeaf's
# four: 8.2 million); a larger set is scored on a seeded stratified share of its training and
# held-out parts that fits. Measured: 4,000 series of 50 steps (3,200 to train) spent 112 s on
# its first candidate alone, about 100,000 sequence-steps a second on one core, where 3 minutes
# must hold the search, the final model and the trace.
SEARCH_WORK = 12_000_000
MIN_SCALED_EPOCHS = 3  # the final model's epochs, and its averaged ones, when scaled down

# Shared by every candidate: a GRU (gates keep gradients alive over ~100 steps, where a plain
# RNN's vanish) of 64 units, Adam at 3e-3 falling along a cosine (so the final model, trained
# without a held-out set, ends on small steps rather than wherever the last step left it),
# gradient clipping at 1.
_BASE_MODEL: dict[str, Any] = {"cell": "gru", "hidden_size": 64, "front_end": "conv"}
_BASE_TRAIN: dict[str, Any] = {"lr": 3e-3, "lr_schedule": "cosine"}
# In order of preference on a tie.
CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("conv+gru+max", {"summary": "max"}),
    ("conv+gru+mean", {"summary": "mean"}),
    ("conv+gru+attention", {"summary": "attention"}),
    ("window+gru+max", {"summary": "max", "front_end": "window"}),
)
# A label per step: step_search.py (every step read, or windows of steps for long streams).
# What a candidate's held-out score (EpochRecord.accuracy) is, per task (task.py).
SCORE_NAMES = {"classify": "accuracy", "regress": "R²", "steps": "frame accuracy"}
# Regression: the plain last state first (no front end), then the classifier's list. On the
# 20 training sequences of MinimalGasPrices the conv front ends learn the training targets by
# heart (test RMSE 0.081 chosen among them, against 0.068 for the plain GRU's last state).
# Sequences of unequal lengths: the plain last state also reads them as they are, first, as
# well as resampled. Lengths differ because a pattern was made faster or slower (a gesture,
# resampling lines it up) or because a series was cut (UnequalMinimalGasPrices: values
# removed from the start and end; stretching what is left distorts it: resampled, the plain
# last state scored test RMSE 0.074 and 0.068 on seeds 0-1, against 0.067 for the plain GRU
# reading the real steps); the held-out folds decide which it is.
# In order of preference, simplest first (the one-standard-error rule, within_one_se, keeps
# the first candidate close to the best): the last state, the max over the steps without
# convolutions, then the conv front end's ~30,000 weights.
REGRESSION_CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("gru+last", {"summary": "last", "front_end": "none", "resample": 0}),
    ("resample+gru+last", {"summary": "last", "front_end": "none"}),
    CANDIDATES[3],  # window+gru+max
    *CANDIDATES[:3],  # conv+gru+max, conv+gru+mean, conv+gru+attention
)
# Regression trains at a constant lr (then averages, as every no-flag model does): the epochs
# chosen on the held-out folds then mean the same in the final model. Under the cosine, the
# final model's lr falls to 0 over the chosen e epochs where each candidate's fell over the
# whole cap: at e = 35 it had taken about half the steps' length the candidate had
# (MinimalGasPrices seed 2, 5 folds: test RMSE 0.088; at a constant lr the same rule gave
# 0.064-0.068 on seeds 0-2 for the plain last state). Tecator, seed 0: 0.884 constant against
# 1.096 under the cosine.
REGRESSION_SCHEDULE = "none"
MODEL_KEYS = ("cell", "hidden_size", "summary", "front_end", "window", "resample", "num_layers",
              "bidirectional", "dropout", "nonlinearity", "proj_size")
STEP_KEYS = ("smoothing",)  # model settings of a per-step head only
TRAIN_KEYS = ("lr", "batch_size", "epochs", "lr_schedule")


@dataclass
class SearchProgress:
    """What `on_progress` receives: an epoch of a candidate, or (epoch None) its final score."""

    index: int  # 1-based
    total: int
    name: str
    epoch: EpochEnd | None = None
    score: CandidateScore | None = None
    score_name: str = "accuracy"  # what the score's val_accuracy holds (SCORE_NAMES)
    # Regression on few sequences scores every candidate on each of several folds (_folds):
    # which fold this is, 1-based, of how many.
    fold: int = 1
    folds: int = 1
    scored: str = "held-out"  # what the score is on: "training" when nothing was held out


def auto_window(max_length: int) -> int:
    """Steps per window so that the recurrent layer reads at most about TARGET_STEPS steps."""
    return max(1, math.ceil(max_length / TARGET_STEPS))


def auto_batch_size(n_train: int) -> int:
    """About four steps per epoch for small sets, 32 sequences per step for larger ones.

    A recurrent step is sequential, so an epoch costs about (batches × steps): on ACSF1
    (80 × 122 steps after the front end) batches of 10 took twice as long as batches of 20.
    """
    return max(8, min(32, n_train // 4))


def choose(
    data: SequenceSet,
    user: dict[str, Any],
    *,
    seed: int = 0,
    val: SequenceSet | None = None,
    val_fraction: float = 0.2,
    on_progress: Callable[[SearchProgress], Any] | None = None,
    n_jobs: int | None = None,
    **engine: Any,
) -> tuple[ModelConfig, TrainConfig, Choice]:
    """The final model and training settings for `data`, and how they were chosen.

    `user` holds the settings the user set explicitly (ModelConfig/TrainConfig field names);
    they override every candidate. `engine` passes other TrainConfig fields (threads, device,
    clip_grad_norm) through unchanged. Deterministic for a seed.

    `n_jobs` trains the candidates in that many joblib workers (-1: one per core), each on one
    thread; None means 1 unless a `joblib.parallel_config` around the call says otherwise
    (which is how joblib's Ray or Dask backends take the candidates to a cluster). With
    workers, `on_progress` hears of each candidate's score, in candidate order, not its epochs.
    """
    started = time.perf_counter()
    if n_jobs == 0:  # joblib's rule: a count of workers, or -1 for one per core, -2 all but one
        raise ConfigError("jobs must be a number of processes (-1: one per core), not 0")
    fixed_model = {k: v for k, v in user.items() if k in MODEL_KEYS + STEP_KEYS}
    fixed_train = {k: v for k, v in user.items() if k in TRAIN_KEYS}
    schedule = str(fixed_train.get("lr_schedule", REGRESSION_SCHEDULE if data.task == "regress"
                                   else _BASE_TRAIN["lr_schedule"]))
    max_epochs, averaged = MAX_EPOCHS, SWA_EPOCHS
    search_config = TrainConfig(
        average_epochs=averaged,
        epochs=int(fixed_train.get("epochs", max_epochs)), seed=seed, val_fraction=val_fraction,
        patience=PATIENCE, checkpoint=False, lr_schedule=schedule, **engine,
    )
    parts = split(data, val, search_config)
    on_training = parts.held_out is None
    if on_training:  # val_fraction 0: score on the training data itself, and say so
        parts = dataclasses.replace(parts, held_out=parts.train)
        if on_progress is not None:
            told = on_progress
            on_progress = lambda p: told(dataclasses.replace(p, scored="training"))  # noqa: E731
    held_out = parts.held_out
    assert held_out is not None
    batch_size = int(fixed_train.get("batch_size", auto_batch_size(len(parts.train))))
    if data.task == "steps" and "batch_size" not in fixed_train:
        # A few long streams, each full of labels: several updates per epoch, not one.
        batch_size = max(2, min(16, len(parts.train) // 4))
    window = auto_window(data.max_length)
    candidates = _candidates(data, fixed_model, window)
    lr = float(fixed_train.get("lr", _BASE_TRAIN["lr"]))
    plan = None
    if data.task == "steps":
        plan = _step_plan(parts.train, fixed_model, fixed_train.get("epochs"), window,
                          max(1, data.n_targets))
        candidates = [(c.name, c.settings) for c in plan.trained]
    all_parts = [parts]  # regression on few held-out sequences: k folds (_folds)
    if data.task == "regress" and val is None and val_fraction > 0 and \
            len(held_out) < MIN_HELD_OUT:
        all_parts = _folds(data, search_config, val_fraction)
    shared = dataclasses.replace(search_config, lr=lr, batch_size=batch_size)
    if data.task == "regress" and "epochs" not in fixed_train:
        shared = _in_updates(shared, len(all_parts[0].train))
    full_train = len(all_parts[0].train)
    if plan is None:  # per step: step_search.py budgets its own candidates
        all_parts = _within_budget(all_parts, candidates, shared.epochs + averaged, seed)
    own = None if plan is None else [  # per step: each candidate's epochs within the budget
        dataclasses.replace(shared, epochs=c.epochs, average_epochs=c.averaged)
        for c in plan.trained]
    per_split = [_score_all(data, each, candidates, shared,
                            _in_fold(on_progress, fold, len(all_parts)), n_jobs, own)
                 for fold, each in enumerate(all_parts, start=1)]
    scores, best, top, errors = _pick(per_split, len(candidates))
    held_out_count = sum(len(each.held_out) for each in all_parts if each.held_out is not None)
    winner = scores[best]
    if plan is not None:
        averaged = plan.trained[best].averaged
    model_config = ModelConfig(n_features=data.n_features, n_classes=data.n_classes,
                               **candidates[best][1])
    epochs = int(fixed_train.get("epochs", max(winner.best_epoch, MIN_FINAL_EPOCHS)))
    searched = len(all_parts[0].train)
    share = None if searched == full_train else (searched, full_train)
    if share is not None:
        # Scored on a share: the final model takes the best epoch's optimiser updates (and
        # the averaging's) over all the training data, where an epoch holds more of them.
        ratio = math.ceil(searched / batch_size) / math.ceil(len(data) / batch_size)
        if "epochs" not in fixed_train:
            epochs = max(MIN_SCALED_EPOCHS, round(winner.best_epoch * ratio))
        averaged = max(MIN_SCALED_EPOCHS, round(averaged * ratio))
    train_config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                               val_fraction=0.0 if val is None else val_fraction,
                               lr_schedule=schedule, average_epochs=averaged, **engine)
    keys = MODEL_KEYS + (STEP_KEYS if data.task == "steps" else ())
    if data.task == "steps":  # every step is labelled: no summary of the sequence is read
        keys = tuple(k for k in keys if k != "summary")
    settings = {k: getattr(model_config, k) for k in keys} | {
        "lr": lr, "lr_schedule": schedule, "batch_size": batch_size, "epochs": epochs,
        "averaged_epochs": averaged, "averaging_lr": SWA_LR}
    choice = Choice(
        chosen=winner.name,
        settings=settings,
        user_settings=dict(user),
        candidates=scores,
        held_out=0 if on_training else held_out_count,
        reason=_reason(scores, best, held_out_count, epochs, val is None,
                       "epochs" in fixed_train, SCORE_NAMES[data.task], averaged,
                       len(all_parts), top, errors[top], _alone(plan, fixed_model), share,
                       on_training)
        + (plan.note() if plan is not None else ""),
        seconds=round(time.perf_counter() - started, 2),
        score=SCORE_NAMES[data.task],
    )
    return model_config, train_config, choice


def _candidates(data: SequenceSet, fixed_model: dict[str, Any], window: int
                ) -> list[tuple[str, dict[str, Any]]]:
    """The task's candidates with the user's model settings over each, duplicates dropped (a
    fixed setting can make two the same), each named as the flags left it. Per step: none
    here; step_search.py lists them with their epochs."""
    # Unequal lengths: every candidate reads each sequence resampled to the longest's length
    # (frontends.resample), so a pattern made faster or slower lines up with itself.
    resample = 0 if data.equal_length else data.max_length
    task = {"task": data.task, "n_targets": max(1, data.n_targets)}
    listed = {"steps": (), "regress": REGRESSION_CANDIDATES}.get(data.task, CANDIDATES)
    candidates: list[tuple[str, dict[str, Any]]] = []
    for _, options in listed:
        settings = {**_BASE_MODEL, "window": window, "resample": resample, **options,
                    **fixed_model, **task}
        if settings["front_end"] == "none":
            settings["window"] = fixed_model.get("window", 1)
            if window > 1 and "front_end" not in fixed_model and "window" not in fixed_model:
                # Series longer than TARGET_STEPS: the plain last state reads windows of
                # steps too, as every classifier candidate does. Read step by step, one series
                # of 5,000 steps among 40 kept a single candidate training for 135 s, and the
                # resampled one (every series stretched to 5,000 steps) past 400 s.
                settings.update(front_end="window", window=window)
        if all(settings != other for _, other in candidates):
            candidates.append((_name(settings), settings))
    return candidates


def _within_budget(parts: list[Split], candidates: list[tuple[str, dict[str, Any]]],
                   epochs: int, seed: int) -> list[Split]:
    """`parts` as they are when training every candidate on them costs at most SEARCH_WORK;
    else each part's training and held-out sequences cut to a seeded stratified share that
    does (the statistics stay those of the whole training part)."""
    def steps(part: SequenceSet | RowSubset, settings: dict[str, Any]) -> int:
        lengths = part.data.lengths[part.rows] if isinstance(part, RowSubset) else part.lengths
        read = np.full(len(lengths), settings["resample"]) if settings.get("resample") \
            else np.asarray(lengths)
        k = settings["window"] if settings["front_end"] != "none" else 1
        return int(np.ceil(read / k).sum())

    work = epochs * sum(steps(p.train, s) for p in parts for _, s in candidates)
    if work <= SEARCH_WORK:
        return parts
    share = SEARCH_WORK / work
    return [Split(_share(p.train, share, seed), None if p.held_out is None
                  else _share(p.held_out, share, seed), p.mean, p.std) for p in parts]


def _share(part: SequenceSet | RowSubset, share: float, seed: int) -> SequenceSet | RowSubset:
    """A seeded stratified `share` of `part` (every stratum keeps at least one sequence)."""
    labels = part.data.labels[part.rows] if isinstance(part, RowSubset) else part.labels
    _, kept = stratified_split(labels, share, seed)
    if isinstance(part, RowSubset):
        return RowSubset(part.data, part.rows[kept])
    return part.subset(kept)


def _step_plan(train: SequenceSet | RowSubset, fixed_model: dict[str, Any], epochs: Any,
               window: int, n_targets: int) -> StepPlan:
    """The per-step candidates and each one's epochs within the budget (step_search.py)."""
    # A memory-mapped file's training rows are a RowSubset.
    lengths = train.data.lengths[train.rows] if isinstance(train, RowSubset) else train.lengths
    task = {"task": "steps", "n_targets": n_targets}
    # "last" is never read by a per-step head; it names the summary setting as left.
    return plan_steps(lengths, {**_BASE_MODEL, "summary": "last", **task}, fixed_model,
                      window=window, max_epochs=MAX_EPOCHS, swa_epochs=SWA_EPOCHS,
                      epochs_given=epochs)


def _in_fold(on_progress: Callable[[SearchProgress], Any] | None, fold: int, folds: int
             ) -> Callable[[SearchProgress], Any] | None:
    """`on_progress` told which fold each candidate's progress is on (several folds run every
    candidate again: without it the same candidates would be reported twice, as if anew)."""
    if on_progress is None or folds == 1:
        return on_progress
    report = on_progress
    return lambda progress: report(dataclasses.replace(progress, fold=fold, folds=folds))


def _folds(data: SequenceSet, config: TrainConfig, val_fraction: float) -> list[Split]:
    """Regression on a handful of held-out sequences: one split's R² is mostly which few
    sequences were drawn (MinimalGasPrices holds out 4 of 20, and the candidate that won there
    scored 0.081 test RMSE against 0.068 for the plain GRU), so the candidates are scored on
    several folds (k-fold cross-validation, each fold a held-out part of val_fraction, no
    sequence held out twice) until about MIN_HELD_OUT sequences were held out in all (at most
    REPEATS folds), and each score is the mean over them. Classification keeps its one split.
    """
    per_fold = max(1, round(len(data) * val_fraction))
    return fold_splits(data, config, min(REPEATS, -(-MIN_HELD_OUT // per_fold)))


def _pick(per_split: list[list[tuple[CandidateScore, HeldOut]]], n: int
          ) -> tuple[list[CandidateScore], int, int, list[float]]:
    """Each candidate's score over the splits; the one kept; the best; the standard errors.

    One split: the best is kept. Several (regression's folds): the first candidate within one
    standard error of the best (within_one_se)."""
    scores = [_mean_score([s[i] for s in per_split]) for i in range(n)]
    best = top = best_candidate(scores)
    errors = [0.0] * n
    if len(per_split) > 1:
        errors = [standard_error([s[i][1] for s in per_split]) for i in range(n)]
        best = within_one_se(scores, errors)
    return scores, best, top, errors


def _in_updates(config: TrainConfig, n_train: int) -> TrainConfig:
    """A regression candidate's epoch cap and patience, each at least MIN_UPDATES and
    PATIENCE_UPDATES optimiser updates (see there); unchanged from four updates an epoch on."""
    updates = max(1, math.ceil(n_train / config.batch_size))  # per epoch
    return dataclasses.replace(
        config, epochs=max(config.epochs, math.ceil(MIN_UPDATES / updates)),
        patience=max(config.patience or 0, math.ceil(PATIENCE_UPDATES / updates)))


@dataclass
class HeldOut:
    """One candidate on one held-out part, unrounded, for _mean_score."""

    losses: list[float]  # the held-out loss after each epoch
    numbers: int  # the loss's terms: held-out sequences (× targets for regression)
    loss: float  # the scored (averaged) model's mean held-out loss
    score: float  # ... and its score (R² for regression)

    def spread(self) -> float:
        """Regression: Σ z(y)², the squared distance of the held-out targets from the training
        mean (R² = 1 − SSE / spread, so spread = SSE / (1 − R²))."""
        sse = self.loss * self.numbers
        return sse / (1 - self.score) if self.score < 1 else sse


def _mean_score(scored: list[tuple[CandidateScore, HeldOut]]) -> CandidateScore:
    """One candidate's scores over several held-out parts (regression's folds) as one: the R²
    of all their sequences together, the mean loss, and the epoch of lowest mean held-out loss
    (the rule of xgboost.cv and LightGBM's cv).

    R² pooled, 1 − Σ SSE / Σ spread, not the mean of each part's: a part of 4 sequences whose
    targets lie close to the training mean has a tiny spread, and its R² can be far below 0
    for a model no worse than on the others (MinimalGasPrices, seed 0, constant lr: the plain
    last state's mean of 5 folds' R² was −0.004, the mean of its held-out losses the lowest of
    the five candidates). The pooled R² orders candidates as the summed held-out squared
    error does, when the parts' spreads are the same.

    Not the median of each part's own best epoch: on 4 held-out sequences a part's loss curve
    is noisy and its lowest point is partly chance. On MinimalGasPrices (5 folds, seed 1) the
    parts' best epochs were 25, 61, 28, 89 and 4: the median, 28, gave a final model of test
    RMSE 0.096, the mean curve's lowest point, epoch 50, one of 0.069. A part stopped early
    (patience) counts with its last held-out loss for the epochs it did not run.
    """
    scores = [score for score, _ in scored]
    if len(scores) == 1:
        return scores[0]
    parts = [held for _, held in scored]
    curves = [held.losses for held in parts if held.losses]
    longest = max((len(c) for c in curves), default=0)
    mean = [sum(c[min(e, len(c) - 1)] for c in curves) / len(curves) for e in range(longest)]
    spread = sum(held.spread() for held in parts)
    sse = sum(held.loss * held.numbers for held in parts)
    return dataclasses.replace(
        scores[0],
        val_accuracy=round(1 - sse / spread if spread > 0 else 0.0, 4),
        val_loss=round(sse / max(1, sum(held.numbers for held in parts)), 4),
        best_epoch=1 + min(range(longest), key=lambda e: (mean[e], e)) if mean
        else scores[0].best_epoch,
        epochs_run=max(s.epochs_run for s in scores),
        seconds=round(sum(s.seconds for s in scores), 2),
    )


def standard_error(parts: list[HeldOut]) -> float:
    """The standard error of a pooled R² over k held-out parts: each part's share of the error,
    u = k · SSE_part / Σ spread (their mean is 1 − R²), varies from part to part; the standard
    error of their mean is their sample standard deviation over √k."""
    k = len(parts)
    spread = sum(held.spread() for held in parts)
    if k < 2 or spread <= 0:
        return 0.0
    shares = [k * held.loss * held.numbers / spread for held in parts]
    mean = sum(shares) / k
    return math.sqrt(sum((u - mean) ** 2 for u in shares) / (k - 1) / k)


def within_one_se(scores: list[CandidateScore], errors: list[float]) -> int:
    """The first candidate, in order of preference, whose score is within one standard error of
    the best score: the one-standard-error rule of cross-validation (Breiman et al. 1984;
    Hastie, Tibshirani & Friedman, The Elements of Statistical Learning, 7.10).

    With a handful of sequences per fold, the best of several candidates' scores is partly the
    luck of the folds (the winner's curse); a candidate earlier in the list (simplest first)
    that is not measurably worse is the safer choice. `benchmarks/heads.py`, seeds 0-2, before
    and after this rule with the list put simplest first: MinimalGasPrices chose gru+max,
    gru+last, gru+max (test RMSE mean 0.0687), then gru+max, gru+last, gru+last (0.0669);
    UnequalMinimalGasPrices resample+gru+max three times (0.0718), then gru+last,
    resample+gru+last, gru+last (0.0680).
    """
    top = best_candidate(scores)
    bar = scores[top].val_accuracy - errors[top]
    return next(i for i, score in enumerate(scores) if score.val_accuracy >= bar)


def best_candidate(scores: list[CandidateScore]) -> int:
    """The index of the best held-out accuracy; of several, the earliest (see the docstring)."""
    return min(range(len(scores)), key=lambda i: (-scores[i].val_accuracy, i))


def _name(settings: dict[str, Any]) -> str:
    """resample+conv+gru+max: resampling and front end (if any), cell and summary."""
    parts = [settings["cell"], settings.get("summary", "last")]
    if settings["front_end"] != "none" and not (settings["front_end"] == "window"
                                                and settings.get("window", 1) == 1):
        parts.insert(0, settings["front_end"])
    if settings.get("resample"):
        parts.insert(0, "resample")
    return "+".join(parts)


def _score_all(
    data: SequenceSet,
    parts: Split,
    candidates: list[tuple[str, dict[str, Any]]],
    config: TrainConfig,
    on_progress: Callable[[SearchProgress], Any] | None,
    n_jobs: int | None,
    configs: list[TrainConfig] | None = None,
) -> list[tuple[CandidateScore, HeldOut]]:
    """Every candidate's score and held-out figures (HeldOut), in order: here one after another,
    or in joblib's workers; with `configs`, candidate i trains with configs[i] instead of
    `config`.

    A candidate depends only on its settings and the seed (held_out_pass seeds the weights and
    the batch order comes from the seed), so the scores, and so the choice, are the same either
    way. Each worker trains on one intra-op thread: n small models side by side on n cores
    beat one model on n threads, whose small matmuls split across cores mostly wait (and more
    threads than cores stall one another; resources.py has the figures).
    """
    total = len(candidates)
    each = configs if configs is not None else [config] * total
    one_thread = [c if c.threads is not None else dataclasses.replace(c, threads=1)
                  for c in each]
    indexed = list(enumerate(candidates, start=1))
    if n_jobs is None and _unconfigured():
        return _score_auto(data, parts, indexed, one_thread, on_progress)
    if workers(n_jobs, total) <= 1:
        return [_score(data.n_features, data.n_classes, parts, settings, each[i - 1], i, total,
                       name, on_progress)
                for i, (name, settings) in indexed]
    return _score_in_workers(data, parts, indexed, one_thread, total, on_progress, n_jobs)


# No --jobs given: after the first candidate, the others train in workers when it took this long
# and two cores are free. Starting two workers (each imports torch) took 2.1 s on the shared
# 2-core machine; a search of a few seconds is faster in this process.
AUTO_WORKERS_AFTER = 10.0


def _score_auto(data: SequenceSet, parts: Split,
                indexed: list[tuple[int, tuple[str, dict[str, Any]]]],
                configs: list[TrainConfig],
                on_progress: Callable[[SearchProgress], Any] | None,
                ) -> list[tuple[CandidateScore, HeldOut]]:
    """The candidates with no --jobs: the first here, then the rest in workers (one per free
    core) when it took AUTO_WORKERS_AFTER seconds or more and two cores are free, else here.

    Every candidate trains on one intra-op thread either way (configs), so where it trained
    changes the wall time only, never a score: the choice and the trace are the same. What
    decides is the clock and the machine's load, as for choose_threads, and neither reaches a
    result. Tecator's five candidates took 179 s for the whole run one after another, at the
    edge of the 3-minute budget.
    """
    total = len(indexed)
    first, (name, settings) = indexed[0]
    scores = [_score(data.n_features, data.n_classes, parts, settings, configs[0], first, total,
                     name, on_progress)]
    rest = indexed[1:]
    spare = min(free_cores(), thread_budget() or total)
    if rest and spare >= 2 and scores[0][0].seconds >= AUTO_WORKERS_AFTER:
        return scores + _score_in_workers(data, parts, rest, configs, total, on_progress,
                                          min(spare, len(rest)))
    return scores + [_score(data.n_features, data.n_classes, parts, settings, configs[i - 1], i,
                            total, name, on_progress)
                     for i, (name, settings) in rest]


def _score_in_workers(data: SequenceSet, parts: Split,
                      indexed: list[tuple[int, tuple[str, dict[str, Any]]]],
                      configs: list[TrainConfig], total: int,
                      on_progress: Callable[[SearchProgress], Any] | None, n_jobs: int | None,
                      ) -> list[tuple[CandidateScore, HeldOut]]:
    """These candidates in joblib's worker processes, each on one intra-op thread; each score
    reported as its candidate ends, in order."""
    from joblib import Parallel, delayed

    tasks = (delayed(_score_in_worker)(data.n_features, data.n_classes, parts, settings,
                                       configs[i - 1], i, total, name)
             for i, (name, settings) in indexed)
    try:  # each score as its candidate ends, in order, where the backend can
        parallel = Parallel(n_jobs=n_jobs, return_as="generator", prefer="processes")
    except ValueError:  # Ray's backend returns them all at the end
        parallel = Parallel(n_jobs=n_jobs, prefer="processes")
    scores: list[tuple[CandidateScore, HeldOut]] = []
    for (i, (_, settings)), (score, held) in zip(indexed, parallel(tasks), strict=True):
        scores.append((score, held))
        if on_progress is not None:
            task = str(settings.get("task", "classify"))
            on_progress(SearchProgress(i, total, score.name, score=score,
                                       score_name=SCORE_NAMES[task]))
    return scores


def _unconfigured() -> bool:
    """No joblib.parallel_config around the call: nobody chose how the candidates run."""
    from joblib import effective_n_jobs
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend(prefer="processes")
    return int(effective_n_jobs(None)) == 1 and not getattr(backend, "uses_threads", False)


def workers(n_jobs: int | None, candidates: int) -> int:
    """How many candidates train at once: joblib's count for `n_jobs`, in processes only.

    Threads would share one torch: its global seed (each candidate seeds its initial weights)
    and its thread count, so candidates side by side in threads would race and the choice
    would depend on timing. That is the backend joblib gives a Parallel nested in a worker
    (the search of an estimator fitted inside GridSearchCV(n_jobs=...)), or one a user picks
    with parallel_config(backend="threading"); the candidates then train one after another,
    and the outer workers already keep the cores busy.
    """
    from joblib import effective_n_jobs
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend(prefer="processes")
    if getattr(backend, "uses_threads", False):
        return 1
    return min(int(effective_n_jobs(n_jobs)), candidates)


def _score_in_worker(
    n_features: int, n_classes: int, parts: Split, settings: dict[str, Any],
    config: TrainConfig, index: int, total: int, name: str,
) -> tuple[CandidateScore, HeldOut]:
    """_score in a joblib worker: one thread for everything, the scoring too, then as before
    (a Ray or Dask worker may run other tasks after this one)."""
    with intra_op_threads(1):
        return _score(n_features, n_classes, parts, settings, config, index, total, name, None)


def _score(
    n_features: int,
    n_classes: int,
    parts: Split,
    settings: dict[str, Any],
    config: TrainConfig,
    index: int,
    total: int,
    name: str,
    on_progress: Callable[[SearchProgress], Any] | None,
) -> tuple[CandidateScore, HeldOut]:
    """Train one candidate with early stopping and score its best weights on the held-out set;
    also what _mean_score reads to pool several held-out parts."""
    started = time.perf_counter()

    def report(end: EpochEnd) -> None:
        if on_progress is not None:
            on_progress(SearchProgress(index, total, name, epoch=end))

    model_config = ModelConfig(n_features=n_features, n_classes=n_classes, **settings)
    model, history = held_out_pass(model_config, parts, config, report,  # standardises by parts
                                   average=True)
    assert parts.held_out is not None  # choose() scores on the training data without one
    val_loss, val_acc = evaluate(model, parts.held_out)
    score = CandidateScore(
        name=name,
        settings={k: settings[k] for k in ("summary", "front_end", "window", "resample", "cell",
                                          "hidden_size")} | {"lr": config.lr},
        val_accuracy=round(val_acc, 4),
        val_loss=round(val_loss, 4),
        best_epoch=best_epoch(history, "loss"),
        epochs_run=len(history.records),
        seconds=round(time.perf_counter() - started, 2),
    )
    if on_progress is not None:
        on_progress(SearchProgress(index, total, name, score=score,
                                   score_name=SCORE_NAMES[str(settings.get("task", "classify"))]))
    terms = len(parts.held_out) * (model_config.n_targets if model_config.task_spec.numeric
                                   else 1)
    losses = [r.val_loss for r in history.records if r.val_loss is not None]
    return score, HeldOut(losses, terms, val_loss, val_acc)


def _alone(plan: StepPlan | None, fixed_model: dict[str, Any]) -> str:
    """Why a per-step search trained one candidate when the flags did not leave just one
    ('' when they did, or when there were several)."""
    if plan is None or len(plan.trained) != 1:
        return ""
    if plan.skipped:  # the budget's note, after the reason, names the others
        return "the one candidate the budget lets train"
    if int(plan.trained[0].settings.get("window", 1)) == 1 and not (
            {"window", "front_end"} & fixed_model.keys()):
        return (f"the one candidate for streams of at most {TARGET_STEPS} steps (windows of "
                "steps are tried only on longer ones)")
    return ""


def _reason(
    scores: list[CandidateScore], best: int, held_out: int, epochs: int, refit: bool,
    epochs_given: bool, score_name: str = "accuracy", averaged: int = SWA_EPOCHS,
    splits: int = 1, top: int | None = None, error: float = 0.0, alone: str = "",
    share: tuple[int, int] | None = None,
    on_training: bool = False,
) -> str:
    """Why the winner won, in words. `on_training`: nothing was held out (val_fraction 0), so
    `held_out` counts the training sequences the candidates were scored on, having fit them."""
    winner = scores[best]
    sequences = "sequence" if held_out == 1 else "sequences"
    scored = "held-out"
    where = f"on {held_out} training {sequences} held out"
    if on_training:
        scored = "training"
        where = (f"on the {held_out} training {sequences} it trained on (--val-fraction 0: "
                 "nothing held out, so this favours the candidate that fits the training data "
                 "best, not the one that generalises)")
    if len(scores) == 1 and alone:
        why = f"{alone}; {scored} {score_name} {winner.val_accuracy:.3f} {where}"
    elif len(scores) == 1:
        why = "your flags fixed every setting the search varies"
    elif top is not None and top != best:
        why = (f"held-out {score_name} {winner.val_accuracy:.3f} on {held_out} training "
               f"{sequences} held out over {splits} folds, within one standard error "
               f"({error:.3f}) of the best, {scores[top].name}'s {scores[top].val_accuracy:.3f}: "
               "the first candidate so close is kept (the one-standard-error rule: the best "
               "of a few noisy scores is partly luck)")
    else:
        others = [s for i, s in enumerate(scores) if i != best]
        runner = max(others, key=lambda s: s.val_accuracy)  # the first of the best others
        tie = runner.val_accuracy == winner.val_accuracy
        why = (f"best {scored} {score_name} {winner.val_accuracy:.3f} {where}"
               + (f", the mean over {splits} folds (no sequence held out twice)"
                  if splits > 1 else "")
               + f" (next: {runner.name} {runner.val_accuracy:.3f}"
               f"{', a tie: the earlier candidate wins' if tie else ''})")
    which = "as you asked" if epochs_given else "its best epoch"
    if share is not None and not epochs_given:
        which = f"the optimiser updates of its best epoch, {winner.best_epoch}, on the share"
    final = (f"then trained on all the training data for {epochs} epochs ({which})"
             if refit else f"then trained for {epochs} epochs ({which})")
    final += f" and {averaged} more at lr {SWA_LR:g}, ending on their mean weights"
    if share is None:
        return f"{winner.name}: {why}; {final}"
    return (f"{winner.name}: {why}; {final}. The candidates were scored on a seeded share of "
            f"the data, {share[0]:,} of the {share[1]:,} training sequences and a like share of "
            f"the held-out ones, which keeps the search within its budget of "
            f"{SEARCH_WORK / 1e6:g} million sequence-steps of training")
