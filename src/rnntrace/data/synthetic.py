"""The built-in lesson data set: three classes that differ only in the order of time steps.

Every sequence is built from the same values (a ramp from -1 to 1) arranged in one of three
temporal shapes, then scaled per feature, shifted by a random offset and noised:

    rising          falling         peak (rise, then fall)
         ▁▂▃▄▅▆▇█   █▇▆▅▄▃▂▁        ▁▃▅▇█▆▄▂

Because the three shapes hold the same multiset of values, a model that ignores temporal order
(mean pooling, a shuffled-time baseline) cannot beat chance by much; an RNN can.
"""

from __future__ import annotations

import numpy as np

from rnntrace.data.sequences import FloatArray, SequenceSet
from rnntrace.errors import ConfigError

LESSON_CLASSES = ("rising", "falling", "peak")


def shapes(steps: int) -> FloatArray:
    """The three class templates, (3, T): the same values in three temporal orders."""
    ramp = np.linspace(-1.0, 1.0, steps, dtype=np.float32)
    # Even-indexed values climb, odd-indexed ones come back down: the same multiset as the ramp.
    peak = np.concatenate([ramp[0::2], ramp[1::2][::-1]])
    return np.stack([ramp, ramp[::-1], peak])


def lesson(
    n_sequences: int = 1000,
    steps: int = 10,
    n_features: int = 5,
    *,
    noise: float = 1.0,
    offset: float = 1.0,
    seed: int = 0,
) -> SequenceSet:
    """The lesson's N × T × F sequences in 3 balanced classes (rising, falling, peak), seeded."""
    if n_sequences < len(LESSON_CLASSES):
        raise ConfigError(f"the lesson needs at least 3 sequences, got {n_sequences}")
    if steps < 3:
        raise ConfigError(f"the lesson's shapes need at least 3 time steps, got {steps}")
    if n_features < 1:
        raise ConfigError(f"the lesson needs at least 1 feature, got {n_features}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_sequences) % len(LESSON_CLASSES)).astype(np.int64)
    templates = shapes(steps)  # (3, T)
    # Each feature sees the shape through its own gain; some features see it upside down, so the
    # classes are not just "which feature is large".
    gain = rng.uniform(0.5, 1.5, n_features) * rng.choice([-1.0, 1.0], n_features)  # (F,)
    base = templates[labels][:, :, None] * gain[None, None, :]  # (N, T, F)
    shift = rng.uniform(-offset, offset, (n_sequences, 1, n_features))  # (N, 1, F)
    jitter = rng.normal(0.0, noise, (n_sequences, steps, n_features))  # (N, T, F)
    values = (base + shift + jitter).astype(np.float32)
    return SequenceSet(
        values=values,
        lengths=np.full(n_sequences, steps, dtype=np.int64),
        labels=labels,
        class_names=list(LESSON_CLASSES),
        feature_names=[f"x{i}" for i in range(n_features)],
        ids=[f"seq{i:04d}" for i in range(n_sequences)],
        source="synthetic:lesson",
    )


LONG_SHAPE_STEPS = 10  # the long lesson's shape steps, before the noise it must be carried over


def long_lesson(
    n_sequences: int = 1000,
    steps: int = 30,
    n_features: int = 5,
    *,
    noise: float = 0.3,
    seed: int = 0,
) -> SequenceSet:
    """The lesson's shapes in the first LONG_SHAPE_STEPS steps, then only noise to the end.

    The class is decided at the start and must be carried through the remaining steps: the
    long-memory test on which a plain RNN's vanishing gradient shows and gated cells (GRU,
    LSTM) differ from it. Same classes, features and seeding as `lesson`; less noise (0.3), so
    that what is hard is the carrying, not the seeing.
    """
    if steps <= LONG_SHAPE_STEPS:
        raise ConfigError(f"the long lesson needs more than {LONG_SHAPE_STEPS} steps, got {steps}")
    head = lesson(n_sequences, LONG_SHAPE_STEPS, n_features, noise=noise, seed=seed)
    rng = np.random.default_rng([seed, steps])  # its own stream: the head stays the lesson's
    tail = rng.normal(0.0, noise, (n_sequences, steps - LONG_SHAPE_STEPS, n_features))
    # The tail keeps each sequence's offset (its level through the shape), so nothing but
    # the order of the first steps tells the classes apart.
    offset = head.values.mean(axis=1, keepdims=True)  # (N, 1, F)
    values = np.concatenate([head.values, (tail + offset).astype(np.float32)], axis=1)
    return SequenceSet(
        values=values.astype(np.float32),
        lengths=np.full(n_sequences, steps, dtype=np.int64),
        labels=head.labels,
        class_names=list(head.class_names),
        feature_names=list(head.feature_names),
        ids=list(head.ids),
        source="synthetic:long-lesson",
    )
