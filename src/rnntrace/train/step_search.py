"""The no-flag candidates for a label per step, and the work each may take.

A per-step model's recurrent layer either reads every step, or (the standard temporal down- and
up-sampling of action segmentation) windows of k steps, each window's logits given back to its
k steps (model/classifier.to_steps). Every step read keeps boundaries exact, which short
segments need; windows make a long stream short enough to learn from within the budget: a
bidirectional GRU over every step of OSULeaf's streams (854–2,135 steps) trains about 9 epochs
in 3 minutes and predicts the majority label everywhere (../shared/data/segmentation). So:

    candidate            front end          recurrent steps per stream
    conv+bigru           conv, window 1     T
    conv(k=K)+bigru      conv, windows of K ceil(T / K), K from the longest stream (≤ ~128)

All read both directions (offline segmentation: a step's label may depend on what follows).
Both read through the conv front end. Without it (a BiGRU on the raw steps, or on plain windows)
every candidate lost on held-out data, on the three shared per-step sets and seeds 0–2: held-out
frame accuracy 0.72 and 0.63 against 0.97 and 0.94 with it (BasicMotions, seed 0), 0.26 and 0.25
against 0.40 and 0.51 (PickupGestureWiimoteZ, seed 0), and the one time one won (Pickup seed 2,
0.499 against 0.485) it scored 0.368 on the test file. A classifier's conv can learn a few
dozen training sequences by heart (search.py); a label per step gives it a label at every step
to fit, hundreds per stream, and the plain BiGRU over every step cost as much as the conv one
(60 CPU seconds of BasicMotions' run), which put the whole run past 3 minutes.
The held-out split decides between them, so labels that change every few steps keep a
window-1 model and long segments may take windows. Each candidate gets the same work,
STEP_WORK recurrent step-epochs (its training part's recurrent steps × epochs: deterministic,
unlike a clock), so a windowed candidate trains about K times more epochs (and each costs less
than 1/K of reading every step: on OSULeaf's training part an epoch took 32.5 CPU seconds over
every step, 0.26 over windows of 17, on the shared machine); a candidate that
gets fewer than MIN_STEP_EPOCHS epochs in it is not trained, and the choice says so (at least
one, the one that gets the most epochs, always is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# The work each candidate may take, in recurrent step-epochs: Σ over the training part's streams
# of its recurrent steps (ceil(T / window)), times the epochs. At 150,000 the whole no-flag run
# (two candidates, the final model on every stream for the best epoch's count, the trace) took
# 213 s on the idle 2-core machine for BasicMotions seed 0, whose every-step candidate used its
# whole budget (62 s) and whose final model trained 57 + 12 epochs (82 s): past 3 minutes.
# Two thirds of it leave the search and the final model two thirds of their time.
STEP_WORK = 100_000
# Fewer epochs than this in STEP_WORK and a candidate is not trained: with a few streams per
# batch, the handful of updates it would get leave it at the majority label (the plain BiGRU
# tagger of ../shared/data/segmentation does exactly that on OSULeaf in its 8-9 epochs).
MIN_STEP_EPOCHS = 20

# In order of preference on a tie; "windowed" takes the window from the longest stream.
STEP_CANDIDATES: tuple[tuple[dict[str, Any], bool], ...] = (
    ({"front_end": "conv", "bidirectional": True}, False),
    ({"front_end": "conv", "bidirectional": True}, True),
)


@dataclass(frozen=True)
class StepCandidate:
    """One per-step candidate: its name, model settings and the epochs it may train."""

    name: str
    settings: dict[str, Any]  # ModelConfig fields
    recurrent_steps: int  # per epoch, over the training part
    epochs: int  # within STEP_WORK (or as the user asked)
    averaged: int  # averaging epochs after them (averaging.py), within the same work


@dataclass(frozen=True)
class StepPlan:
    """The candidates to train and those the budget leaves out."""

    trained: list[StepCandidate]
    skipped: list[StepCandidate]
    budgeted: bool = True  # False when the user gave the epochs: no candidate is left out

    def note(self) -> str:
        """What the choice's reason adds about the candidates left out ('' for none)."""
        if not self.budgeted:
            return ""
        note = ""
        if self.skipped:
            each = ", ".join(f"{c.name} ({c.epochs} epoch{'s' if c.epochs != 1 else ''} of "
                             f"{c.recurrent_steps:,} recurrent steps)" for c in self.skipped)
            note = (f"; not trained, as the budget of {STEP_WORK:,} recurrent step-epochs per "
                    f"candidate allows fewer than the {MIN_STEP_EPOCHS} epochs one needs: "
                    f"{each}")
        short = [c for c in self.trained if c.epochs < MIN_STEP_EPOCHS]
        if short:
            n = short[0].epochs
            note += (f"; {short[0].name} trained all the same, for {n} "
                     f"epoch{'s' if n != 1 else ''}, as the candidate that reads the fewest steps")
        return note


def step_name(settings: dict[str, Any]) -> str:
    """conv+bigru, window(k=17)+bigru: the front end, its window when > 1, the layer."""
    layer = ("bi" if settings.get("bidirectional") else "") + str(settings["cell"])
    front, window = str(settings.get("front_end", "none")), int(settings.get("window", 1))
    if window > 1:
        return f"{front}(k={window})+{layer}"
    return layer if front in ("none", "window") else f"{front}+{layer}"


def recurrent_steps(lengths: npt.ArrayLike, window: int) -> int:
    """Steps the recurrent layer reads in one epoch over sequences of these lengths."""
    return int(np.sum(-(-np.asarray(lengths, dtype=np.int64) // window)))


def plan_steps(
    train_lengths: npt.ArrayLike,
    base: dict[str, Any],
    fixed: dict[str, Any],
    *,
    window: int,
    max_epochs: int,
    swa_epochs: int,
    epochs_given: int | None = None,
) -> StepPlan:
    """The per-step candidates for a training part of these lengths.

    `base` holds the settings every candidate shares (cell, width, task), `fixed` the user's
    model settings (they override every candidate), `window` the windowed candidates' window
    (from the longest stream). With `epochs_given` every candidate trains that many epochs and
    none is left out: the user asked.
    """
    built: list[StepCandidate] = []
    for options, windowed in STEP_CANDIDATES:
        settings = {**base, **options, "window": window if windowed else 1, "resample": 0,
                    **fixed}
        if settings["front_end"] == "window" and settings["window"] == 1:
            settings["front_end"] = "none"  # windows of one step are the steps themselves
        elif settings["front_end"] == "none" and settings["window"] > 1:
            settings["front_end"] = "window"  # as ModelConfig reads a window with no front end
        if any(settings == other.settings for other in built):
            continue  # short streams: the windowed candidates read every step too
        steps = recurrent_steps(train_lengths, int(settings["window"]))
        epochs = (epochs_given if epochs_given is not None
                  else min(max_epochs, STEP_WORK // max(steps, 1)))
        averaged = max(2, min(swa_epochs, epochs // 5))  # within the same work
        built.append(StepCandidate(step_name(settings), settings, steps, epochs, averaged))
    if epochs_given is not None:
        return StepPlan(built, [], budgeted=False)
    trained = [c for c in built if c.epochs >= MIN_STEP_EPOCHS]
    if not trained:  # so many steps, even in windows: the cheapest still trains, ≥ 1 epoch
        cheapest = max(built, key=lambda c: c.epochs)
        trained = [StepCandidate(cheapest.name, cheapest.settings, cheapest.recurrent_steps,
                                 max(1, cheapest.epochs), cheapest.averaged)]
    kept = {c.name for c in trained}
    return StepPlan(trained, [c for c in built if c.name not in kept])
