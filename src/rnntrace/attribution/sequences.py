"""Attribution records for chosen sequences of a SequenceSet: IG, its check, step occlusion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from rnntrace.attribution.integrated import STEPS, TOLERANCE, attribute
from rnntrace.attribution.occlusion import occlude_steps, rank_agreement
from rnntrace.attribution.scope import batch_first_of
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.records.explanation import Attribution, StepOcclusion


def attribute_sequences(
    model: nn.Module,
    data: SequenceSet,
    indices: Sequence[int],
    target: int | None = None,
    *,
    occlusion: bool = True,
    tolerance: float = TOLERANCE,
    steps: Sequence[int] = STEPS,
) -> list[Attribution]:
    """One Attribution per index, computed together as one padded batch of those sequences."""
    if not indices:
        return []
    for i in indices:
        if not 0 <= i < len(data):
            raise ConfigError(f"sequence index {i} is outside 0..{len(data) - 1}")
    part = data.subset(list(indices))
    t_max = int(part.lengths.max())
    x = torch.from_numpy(np.ascontiguousarray(part.values[:, :t_max]))  # (B, T, F)
    if not batch_first_of(model):
        x = x.transpose(0, 1)  # (T, B, F)
    # Equal lengths need no lengths at all: the model then reads every step, as in training.
    lengths = None if bool((part.lengths == t_max).all()) else torch.from_numpy(part.lengths)
    found = attribute(model, x, lengths, target, tolerance=tolerance, steps=steps)
    drops = occlude_steps(model, x, lengths, found) if occlusion else None
    probs = torch.softmax(found.logits, dim=-1)  # (B, C)
    out = []
    for row, index in enumerate(indices):
        n = int(part.lengths[row])
        values = found.values[row, :n].double()  # (T_i, F)
        per_step = values.sum(1).tolist()
        check = None
        if drops is not None:
            occluded = drops[row, :n].double().tolist()
            check = StepOcclusion(per_step=occluded, rank_agreement=rank_agreement(per_step,
                                                                                     occluded))
        out.append(Attribution(
            index=int(index),
            sequence_id=part.ids[row],
            length=n,
            target=int(found.target[row]),
            predicted=int(found.logits[row].argmax()),
            true_class=int(part.labels[row]),
            class_names=list(data.class_names),
            feature_names=list(data.feature_names),
            probabilities=probs[row].double().tolist(),
            values=values.tolist(),
            per_step=per_step,
            per_feature=values.sum(0).tolist(),
            baseline=found.baseline_text,
            completeness=found.completeness[row],
            occlusion=check,
        ))
    return out


def window_share(
    attribution: Attribution, steps: tuple[int, int], features: Sequence[int]
) -> float:
    """The share of |attribution| inside steps [first, last] (1-based) × `features`."""
    values = np.abs(np.asarray(attribution.values, dtype=np.float64))  # (T, F)
    total = values.sum()
    if total == 0:
        return 0.0
    inside = values[steps[0] - 1 : steps[1]][:, list(features)].sum()
    return float(inside / total)
