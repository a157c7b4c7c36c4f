"""Built-in lessons for the heads: a number per sequence (its slope) and a label per step
(rising or falling), both learnable by a small GRU in a few seconds.

    slope     a noisy line, y = offset + slope·t + noise, 20 steps; the target is the slope
              (per 100 steps). The offset is large and random, so a sequence's level says
              nothing: the model must compare steps, which is what a recurrent state is for.

              ▁▂▂▃▄▅▅▆▇█  slope +4.1      █▇▇▆▅▄▃▂▂▁  slope −3.8

    updown    a walk made of runs that rise or fall for 4–12 steps, with noise; each step is
              labelled rising or falling by the run it belongs to. Sequences are 20–40 steps:
              variable lengths, padding never read.

              ▁▂▃▄▅▄▃▂▃▄▅▆     truth  r r r r f f f f r r r r
"""

from __future__ import annotations

import numpy as np

from rnntrace.config.task import PADDING_LABEL
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.targets import strata

UPDOWN_LABELS = ("falling", "rising")


def slope_lesson(n_sequences: int = 800, steps: int = 20, *, seed: int = 0) -> SequenceSet:
    """N noisy lines (N, T, 1); the target is each line's slope per 100 steps."""
    rng = np.random.default_rng(seed)
    slope = rng.uniform(-5.0, 5.0, n_sequences)  # per 100 steps
    offset = rng.uniform(-3.0, 3.0, n_sequences)
    t = np.arange(steps, dtype=np.float64)
    values = offset[:, None] + slope[:, None] * t[None, :] / 100 * 10 \
        + rng.normal(0, 1.0, (n_sequences, steps))  # (N, T): as large as a 10-step rise
    targets = slope.astype(np.float32)[:, None]  # (N, 1)
    return SequenceSet(values=values.astype(np.float32)[..., None],
                       lengths=np.full(n_sequences, steps, dtype=np.int64),
                       labels=strata(targets), class_names=[], feature_names=["value"],
                       ids=[f"line{i:04d}" for i in range(n_sequences)],
                       source="synthetic:slope", targets=targets, target_names=["slope"])


def updown_lesson(n_sequences: int = 600, *, min_steps: int = 20, max_steps: int = 40,
                  seed: int = 0) -> SequenceSet:
    """N walks of 20–40 steps (N, T_max, 1) with a rising/falling label at every step."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_steps, max_steps + 1, n_sequences)
    values = np.zeros((n_sequences, max_steps, 1), dtype=np.float32)
    step_labels = np.full((n_sequences, max_steps), PADDING_LABEL, dtype=np.int64)
    for i, length in enumerate(lengths):
        labels = np.empty(length, dtype=np.int64)
        direction, t = int(rng.integers(0, 2)), 0
        while t < length:
            run = int(rng.integers(4, 13))
            labels[t : t + run] = direction
            t, direction = t + run, 1 - direction
        moves = np.where(labels == 1, 1.0, -1.0) * rng.uniform(0.3, 1.0, length)
        walk = np.cumsum(moves) + rng.normal(0, 0.4, length)
        values[i, :length, 0] = walk
        step_labels[i, :length] = labels
    counts = np.stack([(step_labels == c).sum(axis=1) for c in range(2)], axis=1)
    return SequenceSet(values=values, lengths=lengths, labels=counts.argmax(axis=1),
                       class_names=list(UPDOWN_LABELS), feature_names=["value"],
                       ids=[f"walk{i:04d}" for i in range(n_sequences)],
                       source="synthetic:updown", step_labels=step_labels)
