"""Why a regression model predicts the numbers it does: `rnntrace explain` on a regression run.

    the scored set    the model's RMSE beside always predicting the training mean
    one sequence      Integrated Gradients of its predicted number, in the target's units,
                      per step and feature, with the completeness check in those units and
                      step occlusion (no gradients) as a check on the steps' ranking
    largest errors    the sequences predicted furthest from their true number, each attributed
    units             the top layer's units whose mean activation over a sequence follows the
                      true number most closely (Pearson's r): a regression's analogue of the
                      units that separate a classifier's classes

The model's head predicts training z-scores; every number here is turned back into the
target's units (× std, + mean for values), so an attribution of +2.1 means "this step raised
the prediction by 2.1 units".
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from rnntrace.attribution.capture import batches, catch
from rnntrace.attribution.explanation import MAX_SEQUENCES, sequence_index
from rnntrace.attribution.integrated import attribute
from rnntrace.attribution.occlusion import occlude_steps, rank_agreement
from rnntrace.attribution.units import unit_names
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records.explanation import (
    Completeness,
    NumberAttribution,
    PathJump,
    StepOcclusion,
    TargetExplanation,
    UnitCorrelation,
)

STATISTIC = ("Pearson's r between each sequence's mean activation over its real steps and its "
             "true number")
MIN_FOR_UNITS = 3  # sequences needed before a correlation means anything


def explain_targets(
    model: SequenceClassifier,
    data: SequenceSet,
    *,
    sequence: int | str | None = None,
    target: int = 0,
    largest: int = 5,
    scored_on: str = "",
    max_sequences: int = MAX_SEQUENCES,
) -> TargetExplanation:
    """Explain regression `model`'s number `target` (an index of its targets) on `data`."""
    scale = model.target_scale
    if scale is None:
        raise ConfigError("explain_targets reads regression models (task='regress')")
    if data.targets is None:
        raise ConfigError(f"{data.source or 'the data'}: no true numbers to compare with; "
                          "explain a regression model on sequences with their targets")
    n_targets = int(scale.mean.numel())
    if not 0 <= target < n_targets:
        raise ConfigError(f"target {target} is outside 0..{n_targets - 1}")
    index = sequence_index(data, sequence)
    sample = data if len(data) <= max_sequences else data.subset(np.arange(max_sequences))
    std, mean = float(scale.std[target]), float(scale.mean[target])
    predicted, activation = _predicted_and_units(model, sample, target, std, mean)
    actual = sample.targets[:, target].astype(np.float64)  # type: ignore[index]
    error = predicted - actual
    furthest = [int(i) for i in np.argsort(-np.abs(error), kind="stable")[:max(0, largest)]]
    found = _attribute(model, data, [index, *furthest], target, std, mean)
    width = activation.shape[1]
    names = unit_names(width, bool(getattr(_top(model), "bidirectional", False)))
    return TargetExplanation(
        target_name=data.target_names[target] if target < len(data.target_names)
        else f"target_{target}",
        target=target,
        n_targets=n_targets,
        scored_on=scored_on or f"{len(sample)} sequences of {data.source or 'the data'}",
        n_scored=len(sample),
        rmse=float(np.sqrt(np.mean(error**2))),
        mean_rmse=float(np.sqrt(np.mean((mean - actual) ** 2))),
        training_mean=mean,
        attribution=found[0],
        largest_errors=found[1:],
        units=_following_units(activation, actual, names),
        statistic=STATISTIC,
    )


def _top(model: SequenceClassifier) -> torch.nn.Module:
    return [m for m in model.modules() if isinstance(m, torch.nn.RNNBase)][-1]


def _predicted_and_units(model: SequenceClassifier, data: SequenceSet, target: int, std: float,
                         mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence's predicted number (N,) in target units, and each top-layer unit's mean
    activation over the real steps the layer read (N, units)."""
    predicted, activation = [], []
    for index in batches(len(data)):
        caught = catch(model, data, index)
        predicted.append(caught.logits[:, target].double().numpy() * std + mean)
        out = caught.top_output.double()  # (B, T', units)
        real = (torch.arange(out.shape[1])[None, :] < caught.lengths[:, None]).double()
        activation.append(((out * real[:, :, None]).sum(1)
                           / real.sum(1, keepdim=True).clamp(min=1)).numpy())
    return np.concatenate(predicted), np.concatenate(activation)


def _following_units(activation: np.ndarray, actual: np.ndarray, names: list[str],
                     keep: int = 3) -> list[UnitCorrelation]:
    """The `keep` units whose mean activation correlates most (|r|) with the true number."""
    if len(actual) < MIN_FOR_UNITS or float(np.ptp(actual)) == 0.0:
        return []
    found = []
    for unit in range(activation.shape[1]):
        column = activation[:, unit]
        if float(np.ptp(column)) == 0.0:
            continue  # a unit that never changes follows nothing
        found.append(UnitCorrelation(unit, names[unit],
                                     round(float(np.corrcoef(column, actual)[0, 1]), 4)))
    return sorted(found, key=lambda u: (-abs(u.r), u.unit))[:keep]


def _in_units(c: Completeness, std: float, mean: float) -> Completeness:
    """A completeness check computed on z-scores, in the target's units (the relative error
    is unchanged: every term is scaled by the same std)."""
    return dataclasses.replace(
        c, f_input=c.f_input * std + mean, f_baseline=c.f_baseline * std + mean,
        attribution_sum=c.attribution_sum * std, floor=c.floor * std,
        jumps=[PathJump(j.at, j.size * std) for j in c.jumps])


def _attribute(model: SequenceClassifier, data: SequenceSet, indices: list[int], target: int,
               std: float, mean: float) -> list[NumberAttribution]:
    """One NumberAttribution per index, against the training mean, with step occlusion."""
    part = data.subset(indices)
    t_max = int(part.lengths.max())
    x = torch.from_numpy(np.ascontiguousarray(part.values[:, :t_max]))  # (B, T, F)
    if not model.config.batch_first:
        x = x.transpose(0, 1)  # (T, B, F)
    lengths = None if bool((part.lengths == t_max).all()) else torch.from_numpy(part.lengths)
    found = attribute(model, x, lengths, [target] * len(indices))
    drops = occlude_steps(model, x, lengths, found)  # (B, T) z-scores
    out = []
    for row, index in enumerate(indices):
        n = int(part.lengths[row])
        values = found.values[row, :n].double() * std  # (T_i, F) target units
        per_step = values.sum(1).tolist()
        occluded = (drops[row, :n].double() * std).tolist()
        assert part.targets is not None
        out.append(NumberAttribution(
            index=int(index), sequence_id=part.ids[row], length=n,
            target_name=data.target_names[target], predicted=float(
                found.logits[row, target]) * std + mean,
            actual=float(part.targets[row, target]),
            feature_names=list(data.feature_names), values=values.tolist(), per_step=per_step,
            per_feature=values.sum(0).tolist(), baseline=found.baseline_text,
            completeness=_in_units(found.completeness[row], std, mean),
            occlusion=StepOcclusion(occluded, rank_agreement(per_step, occluded)),
        ))
    return out
