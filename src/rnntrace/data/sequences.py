"""SequenceSet: labelled sequences of (T_i, F) float32 values, stored padded and contiguous.

Sequences are kept as one (N, T_max, F) array plus each one's length, so batches are slices of
contiguous memory and a large `.npy` can stay memory-mapped. Steps past a sequence's length are
padding, never read as data: zero in memory; a memory-mapped file may hold anything there, and
its rows are zeroed as they are read (subset, rnntrace.data.streaming):

    seq 0  [x0 x1 x2 x3 x4]      length 5
    seq 1  [x0 x1 x2 0  0 ]      length 3   ← the zeros are padding, not observations
    seq 2  [x0 x1 x2 x3 0 ]      length 4
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rnntrace.data import labels as label_codes
from rnntrace.data import missing
from rnntrace.data.rowread import RowReader
from rnntrace.errors import DataError

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass
class SequenceSet:
    """N labelled sequences, padded to a common length; labels index `class_names`."""

    values: FloatArray  # (N, T_max, F), padding past each length (zero unless memory-mapped)
    lengths: IntArray  # (N,), each in 1..T_max
    labels: IntArray  # (N,), each in 0..C-1
    class_names: list[str]
    feature_names: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    source: str = ""
    dropped: list[str] = field(default_factory=list)  # ids a reader left out (nan="drop")
    # Regression: the numbers to predict, (N, K), in their own units; `labels` then only
    # stratify the held-out split (quantile bins of the first target) and class_names is empty.
    targets: FloatArray | None = None
    target_names: list[str] = field(default_factory=list)
    # A label per step: (N, T_max) codes into class_names, task.PADDING_LABEL past each length;
    # `labels` then hold each sequence's most frequent step label (for splits and counts).
    step_labels: IntArray | None = None
    # A label per step read from a table with a time column: (N, T_max) each real step's value
    # in that column as the file holds it (numbers, or dates as text), and the column's name,
    # so predictions can be joined back to the file; None: steps are positions 0..T_i-1.
    step_times: npt.NDArray[Any] | None = None
    time_column: str = ""
    # What the reader inferred about the task when none was given, and why (readers.read).
    task_note: str = ""

    def __post_init__(self) -> None:
        if self.values.ndim != 3:
            raise DataError(
                f"{self._where()}expected values of shape (N, T, F), got {self.values.shape}"
            )
        n, t_max, f = self.values.shape
        if n == 0:
            raise DataError(f"{self._where()}no sequences")
        if t_max == 0 or f == 0:
            raise DataError(f"{self._where()}sequences have no time steps or no features")
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.lengths.shape != (n,) or self.labels.shape != (n,):
            raise DataError(
                f"{self._where()}{n} sequences but {self.lengths.shape[0]} lengths and "
                f"{self.labels.shape[0]} labels"
            )
        if self.lengths.min() < 1 or self.lengths.max() > t_max:
            raise DataError(f"{self._where()}lengths must lie in 1..{t_max}")
        if self.targets is not None:
            self._check_targets(n)
        elif self.labels.min() < 0 or self.labels.max() >= len(self.class_names):
            raise DataError(f"{self._where()}labels must index the {len(self.class_names)} classes")
        if self.step_labels is not None:
            self._check_step_labels(n, t_max)
        if self.step_times is not None and self.step_times.shape != (n, t_max):
            raise DataError(f"{self._where()}step times of shape {self.step_times.shape} for "
                            f"values of {n} sequences × {t_max} steps")
        if not self.feature_names:
            self.feature_names = [f"f{i}" for i in range(f)]
        if len(self.feature_names) != f:
            raise DataError(f"{self._where()}{f} features but {len(self.feature_names)} names")
        if not self.ids:
            self.ids = [str(i) for i in range(n)]

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def _check_targets(self, n: int) -> None:
        targets = np.asarray(self.targets, dtype=np.float32)
        if targets.ndim == 1:
            targets = targets[:, None]  # (N,) → (N, 1)
        if targets.ndim != 2 or targets.shape[0] != n or targets.shape[1] < 1:
            raise DataError(f"{self._where()}{n} sequences but targets of shape {targets.shape}")
        if not np.isfinite(targets).all():
            i = int(np.flatnonzero(~np.isfinite(targets).all(axis=1))[0])
            raise DataError(f"{self._where()}the target of sequence {i} is not a finite number")
        self.targets = targets
        if not self.target_names:
            self.target_names = (["target"] if targets.shape[1] == 1
                                 else [f"target_{k}" for k in range(targets.shape[1])])
        if len(self.target_names) != targets.shape[1]:
            raise DataError(f"{self._where()}{targets.shape[1]} targets but "
                            f"{len(self.target_names)} names")
        if self.labels.min() < 0:
            raise DataError(f"{self._where()}strata must not be negative")

    def _check_step_labels(self, n: int, t_max: int) -> None:
        from rnntrace.config.task import PADDING_LABEL

        steps = np.asarray(self.step_labels, dtype=np.int64)
        if steps.shape != (n, t_max):
            raise DataError(f"{self._where()}step labels of shape {steps.shape} for values of "
                            f"{n} sequences × {t_max} steps")
        real = np.arange(t_max)[None, :] < self.lengths[:, None]  # (N, T)
        if (steps[real] < 0).any() or (steps[real] >= len(self.class_names)).any():
            raise DataError(f"{self._where()}step labels must index the "
                            f"{len(self.class_names)} labels")
        steps[~real] = PADDING_LABEL  # whatever was there, padding is never a label
        self.step_labels = steps

    def step_time(self, i: int) -> list[Any]:
        """Sequence i's steps as the file named them: its time values, else 0..T_i-1."""
        if self.step_times is None:
            return list(range(int(self.lengths[i])))
        return list(self.step_times[i, : self.lengths[i]].tolist())

    @property
    def task(self) -> str:
        """What the labels ask for: classify, regress or steps (task.py)."""
        if self.targets is not None:
            return "regress"
        return "steps" if self.step_labels is not None else "classify"

    @property
    def n_targets(self) -> int:
        return 0 if self.targets is None else int(self.targets.shape[1])

    def learned(self) -> npt.NDArray[Any]:
        """What the model learns from: labels (N,), targets (N, K) or step labels (N, T_max)."""
        if self.targets is not None:
            return self.targets
        return self.step_labels if self.step_labels is not None else self.labels

    def _part(self, idx: IntArray) -> dict[str, Any]:
        """The task's fields for the sequences at `idx` (keyword arguments of SequenceSet)."""
        part: dict[str, Any] = {}
        if self.targets is not None:
            part.update(targets=self.targets[idx], target_names=list(self.target_names))
        if self.step_labels is not None:
            part["step_labels"] = self.step_labels[idx]
        if self.step_times is not None:
            part.update(step_times=self.step_times[idx], time_column=self.time_column)
        return part

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.values.shape[2])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def max_length(self) -> int:
        return int(self.values.shape[1])

    @property
    def equal_length(self) -> bool:
        return bool(self.lengths.min() == self.max_length)

    def sequence(self, i: int) -> FloatArray:
        """The i-th sequence without padding, (T_i, F)."""
        return np.asarray(self.values[i, : self.lengths[i]])

    def subset(self, indices: Sequence[int] | IntArray) -> SequenceSet:
        idx = np.asarray(indices, dtype=np.int64)
        values = np.ascontiguousarray(self.values[idx])
        missing.zero_padding(values, self.lengths[idx])  # rows of a memmap keep the file's padding
        return SequenceSet(
            values=values,
            lengths=self.lengths[idx],
            labels=self.labels[idx],
            class_names=list(self.class_names),
            feature_names=list(self.feature_names),
            ids=[self.ids[i] for i in idx],
            source=self.source,
            **self._part(idx),
        )

    def class_counts(self) -> IntArray:
        """Sequences per class; for a per-step task, real steps per label."""
        if self.step_labels is not None:
            steps = self.step_labels[self.step_labels >= 0]
            return np.bincount(steps, minlength=self.n_classes).astype(np.int64)
        return np.bincount(self.labels, minlength=self.n_classes).astype(np.int64)

    @classmethod
    def from_sequences(
        cls,
        sequences: Sequence[npt.ArrayLike],
        labels: Sequence[int] | IntArray,
        class_names: Sequence[str],
        **kwargs: object,
    ) -> SequenceSet:
        """Pad a list of (T_i, F) arrays into one set."""
        arrays = [np.asarray(s, dtype=np.float32) for s in sequences]
        if not arrays:
            raise DataError("no sequences")
        f = arrays[0].shape[1] if arrays[0].ndim == 2 else -1
        for i, a in enumerate(arrays):
            if a.ndim != 2 or a.shape[1] != f:
                raise DataError(f"sequence {i} has shape {a.shape}; expected (T, {f})")
        lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        values = np.zeros((len(arrays), int(lengths.max()), f), dtype=np.float32)
        for i, a in enumerate(arrays):
            values[i, : a.shape[0]] = a
        return cls(values, lengths, np.asarray(labels), list(class_names), **kwargs)  # type: ignore[arg-type]


@dataclass
class RowSubset:
    """Some rows of a memory-mapped SequenceSet, chosen without copying its values.

    A train/held-out split of a file larger than memory is two of these over one mapping.
    """

    data: SequenceSet
    rows: IntArray  # (N,) indices into data

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def head(self, n: int) -> SequenceSet:
        """The first n sequences, read into memory (for showing, not for training)."""
        return read_rows(self.data, self.rows[:n])


def read_rows(data: SequenceSet, rows: IntArray) -> SequenceSet:
    """The sequences at `rows` as an in-memory SequenceSet, read without touching the mapping."""
    reader = RowReader.open(data.values)
    if reader is None:
        return data.subset(rows)
    try:
        values = reader.read(np.asarray(rows, dtype=np.int64), data.max_length)
    finally:
        reader.close()
    missing.zero_padding(values, data.lengths[rows])
    return SequenceSet(
        values,
        data.lengths[rows],
        data.labels[rows],
        list(data.class_names),
        feature_names=list(data.feature_names),
        ids=[data.ids[i] for i in rows],
        source=data.source,
        **data._part(np.asarray(rows, dtype=np.int64)),
    )


def finish(
    values: FloatArray,
    lengths: IntArray,
    raw_labels: npt.NDArray[Any],
    ids: list[str],
    *,
    feature_names: list[str],
    source: str,
    nan: str,
    describe: Callable[[int, int, int], str],
    encode: Callable[[npt.NDArray[Any]], tuple[IntArray, list[str]]],
    min_classes: int,
) -> SequenceSet:
    """Every reader's last steps: the nan policy, the dropped ids, the labels encoded, the set.

    `describe(sequence, step, feature)` names a place in the file for a NaN error; `encode`
    turns the raw labels of the sequences kept into codes and class names (a .ts file's
    @classLabel may name classes none of them has: at least `min_classes` must be present).
    """
    values, keep = missing.apply(values, lengths, nan, source, describe)
    dropped = missing.left_out(ids, keep)
    if keep is not None:
        lengths, raw_labels, ids = lengths[keep], raw_labels[keep], [ids[i] for i in keep]
    codes, classes = encode(raw_labels)
    present = classes if len(np.unique(codes)) == len(classes) else [
        classes[c] for c in np.unique(codes)]
    label_codes.require_classes(present, min_classes, source)
    return SequenceSet(values=values, lengths=lengths, labels=codes, class_names=classes,
                       feature_names=feature_names, ids=ids, source=source, dropped=dropped)


def stratified_folds(labels: IntArray, count: int, seed: int) -> list[IntArray]:
    """`count` disjoint held-out parts of about equal size that together hold every index once,
    each class spread evenly over them (stratified k-fold), chosen by `seed`.

    Each class's members, shuffled, are dealt out one per part in turn, and the next class
    starts where the last one stopped, so the parts differ in size by at most one.
    """
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(count)]
    turn = 0
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        for member in members.tolist():
            parts[turn % count].append(member)
            turn += 1
    return [np.sort(np.array(part, dtype=np.int64)) for part in parts]


def stratified_split(labels: IntArray, fraction: float, seed: int) -> tuple[IntArray, IntArray]:
    """Indices (train, held_out): `fraction` of each class held out, chosen by `seed`."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    held: list[int] = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        n_held = round(len(members) * fraction)
        if fraction > 0 and len(members) > 1:
            n_held = min(max(n_held, 1), len(members) - 1)
        held.extend(members[:n_held].tolist())
        train.extend(members[n_held:].tolist())
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))
