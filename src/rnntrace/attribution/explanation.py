"""One explanation of a model on a set of sequences: why one prediction, what the units do,
where the model fails. `explain()` assembles it; `attribute()` is the tensor-level entry."""

from __future__ import annotations

import time

import numpy as np
from torch import nn

from rnntrace.attribution.hardest import hardest_cases, prediction_of
from rnntrace.attribution.sequences import attribute_sequences
from rnntrace.attribution.terms import unit_terms
from rnntrace.attribution.units import unit_responses
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.records.explanation import Explanation

MAX_SEQUENCES = 512  # units and losses are measured over at most this many sequences


def explained_limit(batch_size: int) -> int:
    """How many memory-mapped sequences an explanation reads: a batch, and at least 512."""
    return max(batch_size, MAX_SEQUENCES)


def sequence_index(data: SequenceSet, sequence: int | str | None) -> int:
    """The index of a sequence given by id (a string) or position; None means the first."""
    if sequence is None:
        return 0
    if isinstance(sequence, str):
        if sequence in data.ids:
            return data.ids.index(sequence)
        shown = ", ".join(repr(i) for i in data.ids[:5])
        raise ConfigError(f"no sequence {sequence!r} in {data.source or 'the data'} "
                          f"(ids such as {shown})")
    if not 0 <= sequence < len(data):
        raise ConfigError(f"sequence {sequence} is outside 0..{len(data) - 1}")
    return int(sequence)


def explain(
    model: nn.Module,
    data: SequenceSet,
    *,
    sequence: int | str | None = None,
    target: int | None = None,
    hard_cases: int = 5,
    max_sequences: int = MAX_SEQUENCES,
) -> Explanation:
    """Explain `model` on `data` (held-out sequences): the attribution and per-unit terms of
    one sequence (the first, unless `sequence` names one by id or position), what each hidden
    unit responds to, and the `hard_cases` sequences with the largest loss."""
    started = time.perf_counter()
    index = sequence_index(data, sequence)
    sample = data if len(data) <= max_sequences else data.subset(np.arange(max_sequences))
    (attribution,) = attribute_sequences(model, data, [index], target)
    return Explanation(
        attribution=attribution,
        terms=unit_terms(model, data, index),
        units=unit_responses(model, sample),
        hard_cases=hardest_cases(model, sample, hard_cases),
        prediction=prediction_of(model, data, index),
        seconds=round(time.perf_counter() - started, 3),
    )
