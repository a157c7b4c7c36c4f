"""The held-out split a fit scores on, and the statistics standardisation takes from training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntrace.config.settings import TrainConfig
from rnntrace.data.sequences import (
    FloatArray,
    IntArray,
    SequenceSet,
    stratified_folds,
    stratified_split,
)
from rnntrace.data.streaming import RowSubset, feature_stats, is_memory_mapped
from rnntrace.errors import DataError


def split_validation(
    data: SequenceSet, val: SequenceSet | None, config: TrainConfig
) -> tuple[SequenceSet | RowSubset, SequenceSet | RowSubset | None]:
    """The training and held-out sets: `val` when given, else a stratified seeded split.

    A memory-mapped set is split into row subsets of the one mapping, never copied.
    """
    if val is not None or config.val_fraction == 0:
        return data, val
    train_idx, val_idx = stratified_split(strata(data), config.val_fraction, config.seed)
    if len(val_idx) == 0:
        alone = data.step_labels is None and len(data) > 1  # several, each its class's only one
        why = (f"each of the {len(data)} sequences is the only one of its class, and a class "
               "is never held out whole" if alone else f"too few sequences ({len(data)})")
        raise DataError(f"{data.source}: {why} to hold out {config.val_fraction:.0%}; give a "
                        "validation file (--val), or train on every sequence with "
                        "--val-fraction 0 (val_fraction=0 in Python)")
    if is_memory_mapped(data.values):
        return RowSubset(data, train_idx), RowSubset(data, val_idx)
    return data.subset(train_idx), data.subset(val_idx)


def strata(data: SequenceSet) -> IntArray:
    """What a held-out split keeps in proportion: each sequence's class; per step, its most
    frequent label, where the labels that are the most frequent of one sequence only share one
    stratum. Alone, such a sequence is never held out (a class is not held out whole), so 30
    streams each led by its own label held none out; holding one out still leaves its labels
    in the other streams."""
    if data.step_labels is None:
        return data.labels
    single = np.bincount(data.labels)[data.labels] == 1  # (N,)
    return np.where(single, -1, data.labels)


@dataclass
class Split:
    """What a fit trains and scores on, and the statistics standardisation takes from training.

    `mean` and `std` are the training part's own (streamed in chunks when memory-mapped); a
    held-out or test sequence is standardised with them too, never with its own.
    """

    train: SequenceSet | RowSubset
    held_out: SequenceSet | RowSubset | None
    mean: FloatArray  # (F,)
    std: FloatArray  # (F,), 0 for a constant feature (Standardize divides by 1 there)


def split(data: SequenceSet, val: SequenceSet | None, config: TrainConfig) -> Split:
    """The split `fit` uses for `data` (see split_validation) and its training statistics."""
    train, held_out = split_validation(data, val, config)
    mean, std = feature_stats(train)
    return Split(train, held_out, mean, std)


def shown_part(train: SequenceSet | RowSubset, held_out: SequenceSet | RowSubset | None,
               limit: int) -> SequenceSet:
    """The sequences a run's trace and explanation show: the held-out part (the training data
    when nothing was held out), in memory; a memory-mapped part as its first `limit` rows.

    The one rule for what is shown: the traced sequence is its first, at training time and
    when a saved run is explained again.
    """
    shown = held_out if held_out is not None else train
    return shown.head(limit) if isinstance(shown, RowSubset) else shown


def fold_splits(data: SequenceSet, config: TrainConfig, count: int) -> list[Split]:
    """The first `count` of round(1 / val_fraction) stratified folds of `data` (k-fold cross-
    validation): disjoint held-out parts of about val_fraction each, so no sequence is scored
    twice while another is never scored; each with its training part's statistics."""
    k = max(2, round(1 / config.val_fraction))
    held_parts = stratified_folds(strata(data), k, config.seed)[:count]
    everything = np.arange(len(data))
    out = []
    for held in held_parts:
        train = data.subset(np.setdiff1d(everything, held))
        mean, std = feature_stats(train)
        out.append(Split(train, data.subset(held), mean, std))
    return out
