"""A second data set (validation, test, new data) aligned with the training set's features and
classes, or one line saying why it cannot be."""

from __future__ import annotations

import numpy as np

from rnntrace.data import targets
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import DataError


def check_compatible(train: SequenceSet, other: SequenceSet, what: str = "test") -> SequenceSet:
    """`other` with its labels renumbered to `train`'s classes, or a DataError saying why not.

    The features must match in number and name; every class present in `other` must be one
    the training data had (a test file may hold fewer classes, not new ones).
    """
    where = other.source or f"the {what} data"
    if other.feature_names != train.feature_names:
        if other.n_features != train.n_features:
            raise DataError(
                f"{where}: the {what} data has {other.n_features} "
                f"feature{'' if other.n_features == 1 else 's'} "
                f"({', '.join(other.feature_names)}) but training had {train.n_features} "
                f"({', '.join(train.feature_names)}); use the same feature columns")
        pairs = [(o, t) for o, t in zip(other.feature_names, train.feature_names, strict=True)
                 if o != t]
        raise DataError(
            f"{where}: the {what} features differ from training's: "
            f"{', '.join(f'{o!r} where training had {t!r}' for o, t in pairs)}; use the same "
            "feature columns in the same order")
    if train.targets is not None:  # regression: numbers, not classes, to line up
        other = targets.as_regression(other)
        if other.n_targets != train.n_targets:
            raise DataError(f"{where}: {other.n_targets} targets per sequence but training had "
                            f"{train.n_targets}")
        other.target_names = list(train.target_names)
        return other
    if other.targets is not None:
        raise DataError(f"{where}: the {what} data has numeric targets (regression) but the "
                        "training data has classes")
    codes = other.labels if other.step_labels is None else np.unique(
        other.step_labels[other.step_labels >= 0])
    present = [other.class_names[c] for c in np.unique(codes)]
    unseen = [c for c in present if c not in train.class_names]
    if unseen:
        raise DataError(
            f"{where}: the {what} data has label{'s' if len(unseen) > 1 else ''} "
            f"{', '.join(map(repr, unseen))} that training never saw (it knew "
            f"{', '.join(map(repr, train.class_names))}); remove those sequences or retrain")
    position = {name: i for i, name in enumerate(train.class_names)}
    remap = np.array([position.get(name, -1) for name in other.class_names], dtype=np.int64)
    steps = None
    if other.step_labels is not None:
        steps = np.where(other.step_labels >= 0,
                         remap[np.maximum(other.step_labels, 0)], other.step_labels)
    return SequenceSet(values=other.values, lengths=other.lengths, labels=remap[other.labels],
                       class_names=list(train.class_names),
                       feature_names=list(other.feature_names), ids=list(other.ids),
                       source=other.source, dropped=other.dropped, step_labels=steps,
                       step_times=other.step_times, time_column=other.time_column)
