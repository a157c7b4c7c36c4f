"""Why a regression or per-step model predicted what it did: Integrated Gradients (integrated.py,
with its completeness check) of the predicted number, or of one step's predicted label.

    regress  the first target's prediction, attributed to every (step, feature) of the input
             and reported in the target's units (the head predicts z-scores; × std)
    steps    for a few output steps s, the logit of the label predicted at s attributed to every
             input step t (summed over features): an output-step × input-step matrix. A
             unidirectional model gives exactly 0 past the end of s's window (t > s for
             window 1: the future; a window of k steps reads up to k − 1 steps ahead); a
             bidirectional one need not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rnntrace.attribution.integrated import attribute
from rnntrace.data.sequences import SequenceSet
from rnntrace.model.classifier import SequenceClassifier

# Output steps of the matrix, evenly spread over the sequence. Each is an Integrated Gradients
# run over the whole sequence: twelve took 28 s of BasicMotions' 3-minute run.
MAX_OUTPUT_STEPS = 8


@dataclass
class HeadAttribution:
    """The attribution of one sequence's prediction, as plain lists."""

    values: list[list[float]]  # regress: (T, F) in target units; steps: (S, T)
    rows: list[int]  # steps: the output steps of the matrix's rows; regress: empty
    holds: bool  # every Integrated Gradients sum matched f(x) − f(baseline) within tolerance
    note: str  # the baseline and the check, in words


class _StepLogits(nn.Module):
    """The model's logits at one output step, (B, C): what attribute() explains."""

    def __init__(self, model: SequenceClassifier, step: int) -> None:
        super().__init__()
        self.model, self.step = model, step
        self.config = model.config  # read by attribute() for the layout
        self.standardize = model.standardize  # read for the baseline (the training mean)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        out: Tensor = self.model(x, lengths)  # (B, T, C) batch first, else (T, B, C)
        return out[:, self.step] if self.config.batch_first else out[self.step]


def explain_head(model: SequenceClassifier, data: SequenceSet, index: int) -> HeadAttribution:
    """The attribution of sequence `index` of `data`, read alone (no padding)."""
    seq = torch.from_numpy(np.asarray(data.sequence(index)))  # (T, F)
    x = seq.unsqueeze(0) if model.config.batch_first else seq.unsqueeze(1)
    if model.config.task_spec.numeric:
        assert model.target_scale is not None
        found = attribute(model, x, target=0)  # the first target's z-score
        scale = float(model.target_scale.std[0])
        values = (found.values[0] * scale).tolist()  # (T, F) in the target's units
        check = found.completeness[0]
        return HeadAttribution(
            values=values, rows=[], holds=check.holds,
            note=(f"Integrated Gradients of the predicted {data.target_names[0]} against "
                  f"{found.baseline_text}; the shares sum to the prediction minus the "
                  f"baseline's ({check.attribution_sum * scale:+.4g} against "
                  f"{(check.f_input - check.f_baseline) * scale:+.4g} target units)"))
    length = int(data.lengths[index])
    rows = sorted({round(v) for v in np.linspace(0, length - 1, min(MAX_OUTPUT_STEPS, length))})
    matrix: list[list[float]] = []
    holds = True
    for step in rows:
        found = attribute(_StepLogits(model, step), x)  # the label predicted at `step`
        matrix.append(found.values[0].sum(dim=-1).tolist())  # (T,) summed over features
        holds = holds and found.holds
    return HeadAttribution(
        values=matrix, rows=rows, holds=holds,
        note=("Integrated Gradients of the logit of the label predicted at each output step, "
              "summed over features per input step, against the training mean at every step"
              + ("" if holds else "; the completeness check did not hold for every row")))
