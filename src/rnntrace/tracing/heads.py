"""What a model's output is: class scores, probabilities already, one logit, scores per step.

The prediction, the dynamics' loss and the page all read the output through its Head, so
probabilities are never softmaxed a second time and a one-logit classifier gets its sigmoid:

    (B, C) scores            softmax(scores)                            C > 1
    (B, C) probabilities     rows ≥ 0 that sum to 1: used as they are    (softmax applied)
    (B, C) log-probabilities rows whose logsumexp is 0: exp(output)     (log_softmax applied)
    (B,) or (B, 1)           one logit: P(1) = σ(logit); or σ already applied, found by
                             comparing the output with σ of what a module returned before it
    (B, T, C) / (T, B, C)    one row of scores per step (a tagger, a decoder)
    (T·B, C)                 the same rows flattened, output.view(-1, C) of a language model

Anything else (a regression, one value per step) has no classes: no prediction, no loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from rnntrace.errors import ConfigError
from rnntrace.tracing.capture import Received

_SUMS_TO_ONE = 1e-4  # |row sum − 1| (probabilities) or |logsumexp| (log-probabilities)


@dataclass
class Head:
    """How to read the model's first returned tensor."""

    kind: str  # scores | probabilities | log-probabilities | logit | sigmoid | values
    layout: str  # sequence (B, C) | steps (B, T, C) | time-major (T, B, C) | rows (T·B, C)
    batch: int
    steps: int  # per-step layouts: the steps of each sequence
    batch_first: bool  # rows: the flattened tensor was (B, T, C), else (T, B, C)
    note: str  # one sentence on what the output is and how it is read

    @property
    def classes(self) -> bool:
        return self.kind != "values"

    @property
    def per_step(self) -> bool:
        return self.layout != "sequence"

    def log_probabilities(self, output: Any) -> Tensor:
        """log P of the model's output (a result as the forward returns it): (B, C) or (B, T, C)."""
        x = self.arranged(output)
        if self.kind == "scores":
            return F.log_softmax(x, dim=-1)
        if self.kind == "probabilities":
            return x.clamp_min(1e-30).log()
        if self.kind == "log-probabilities":
            return x
        if self.kind in ("logit", "sigmoid"):
            logit = x if self.kind == "logit" else torch.logit(x.clamp(1e-7, 1 - 1e-7))
            return torch.stack([F.logsigmoid(-logit), F.logsigmoid(logit)], dim=-1)  # (B, 2)
        raise ValueError(f"a {self.kind} head has no probabilities")

    def arranged(self, output: Any) -> Tensor:
        """The output as (B, C) or (B, T, C); a one-logit head as (B,)."""
        x = first_tensor(output)
        assert x is not None
        if self.kind in ("logit", "sigmoid"):
            return x.reshape(-1)  # (B,)
        if self.layout == "time-major":
            return x.transpose(0, 1)
        if self.layout == "rows":
            if self.batch_first:
                return x.reshape(self.batch, self.steps, -1)
            return x.reshape(self.steps, self.batch, -1).transpose(0, 1)
        return x

    def targets(self, log_p: Tensor, labels: Tensor | None) -> Tensor:
        """The classes the loss is taken against: the labels when they fit, else the argmax."""
        if labels is not None and tuple(labels.shape) == tuple(log_p.shape[:-1]):
            return labels.to(log_p.device).long()
        return log_p.argmax(-1)

    def loss(self, output: Any, labels: Tensor | None) -> Tensor:
        """The mean negative log-likelihood of the targets under the head's probabilities."""
        log_p = self.log_probabilities(output)
        targets = self.targets(log_p.detach(), labels)
        return F.nll_loss(log_p.reshape(-1, log_p.shape[-1]), targets.reshape(-1))


class _Make(Protocol):
    def __call__(self, kind: str, layout: str, note: str, t: int = 0) -> Head: ...


def first_tensor(output: Any) -> Tensor | None:
    """The model's first returned tensor (the scores, by convention), or None."""
    while isinstance(output, tuple | list) and output:
        output = output[0]
    return output if isinstance(output, Tensor) else None


HEADS = ("auto", "classes", "values")


def read_head(
    output: Any, batch: int, steps: int, batch_first: bool, received: list[Received],
    given: str = "auto",
) -> Head:
    """The Head of a model's output, `batch` and `steps` those of its top recurrence.

    `given` is what the user said the output is: "values" (a regression: no classes read into
    it), "classes" (never read as values), or "auto".
    """
    if given not in HEADS:
        raise ConfigError(f"head must be one of {', '.join(HEADS)}, got {given!r}")
    x = first_tensor(output)

    def head(kind: str, layout: str, note: str, t: int = 0) -> Head:
        return Head(kind, layout, batch, t, batch_first, note)

    if x is None or not x.is_floating_point() or x.dim() == 0:
        return head("values", "sequence", "the model returns no floating-point tensor")
    shape = tuple(int(d) for d in x.shape)
    if given == "values":
        return head("values", "sequence", f"values {list(shape)}, as head='values' says (a "
                    "regression): no class, probability or loss is shown")
    per_step = _values_per_step(x, received) if given == "auto" else ""
    if per_step:
        return head("values", "sequence", f"one value per step, {list(shape)}: {per_step}'s "
                    "outputs side by side (a regression, not class scores): no class, "
                    "probability or loss is shown")
    if shape in ((batch,), (batch, 1)):
        return _one_value(x, received, head)
    if x.dim() == 2 and shape[0] == batch and shape[1] > 1:
        return _classes(x, "sequence", head, f"{shape[1]} class scores per sequence, (B, C)")
    if x.dim() == 3 and shape[2] > 1 and batch in shape[:2]:
        if shape[0] == batch:
            return _classes(x, "steps", head, f"one row of {shape[2]} scores per step, "
                            "(B, T, C)", shape[1])
        return _classes(x, "time-major", head, f"one row of {shape[2]} scores per step, "
                        "(T, B, C)", shape[0])
    if x.dim() == 2 and shape[0] == batch * steps and shape[1] > 1 and steps > 1:
        layout = "(B·T, C)" if batch_first else "(T·B, C)"
        return _classes(x, "rows", head, f"one row of {shape[1]} scores per step and sequence, "
                        f"{layout}: output.view(-1, C) of the per-step scores", steps)
    return head("values", "sequence", f"the output {list(shape)} is not class scores (a value "
                "per sequence or per step): no class, probability or loss is shown")


def _values_per_step(x: Tensor, received: list[Received]) -> str:
    """The module whose one-value outputs, one per call, make up the model's (B, T) output."""
    if x.dim() != 2 or x.shape[1] < 2:
        return ""
    by_module: dict[str, list[Tensor]] = {}
    for r in received:
        if len(r.outputs) == 1 and r.outputs[0].dim() == 2 and r.outputs[0].shape[1] == 1:
            by_module.setdefault(r.name, []).append(r.outputs[0])
    for name, outputs in by_module.items():
        if (len(outputs) == x.shape[1] and outputs[0].shape[0] == x.shape[0]
                and torch.equal(torch.cat(outputs, dim=1), x.detach())):
            return name
    return ""


def _classes(x: Tensor, layout: str, head: _Make, what: str, steps: int = 0) -> Head:
    values = x.detach().double()
    sums = values.sum(-1)
    if bool((values >= 0).all()) and float((sums - 1).abs().max()) < _SUMS_TO_ONE:
        return head("probabilities", layout, f"{what}, already probabilities (each row ≥ 0 "
                    "and sums to 1: softmax was applied), shown as they are, not softmaxed "
                    "again", steps)
    if (bool((values <= 0).all())
            and float(torch.logsumexp(values, -1).abs().max()) < _SUMS_TO_ONE):
        return head("log-probabilities", layout, f"{what}, already log-probabilities (each "
                    "row's logsumexp is 0: log_softmax was applied), so P = exp(output)", steps)
    return head("scores", layout, f"{what}, raw scores (logits): P = softmax(scores); if they "
                "are values of a regression, trace with head='values'", steps)


def _one_value(x: Tensor, received: list[Received], head: _Make) -> Head:
    """One value per sequence: a logit, or σ of one (found among what modules returned)."""
    values = x.detach().reshape(-1).double()
    if bool(((values > 0) & (values < 1)).all()):
        for r in reversed(received):
            for t in r.outputs:
                if not t.is_floating_point() or t.numel() > _LARGEST_SEARCHED:
                    continue
                flat = t.detach().reshape(-1).double()
                if r.type == "Sigmoid" and _among(values, flat):
                    return head("sigmoid", "sequence", f"one value per sequence from "
                                f"{r.name} (nn.Sigmoid): P(class 1) = output, not σ again")
                if _among(values, torch.sigmoid(flat)):
                    return head("sigmoid", "sequence", "one value per sequence, σ already "
                                f"applied to {r.name}'s output: P(class 1) = output, "
                                "not σ again")
    return head("logit", "sequence", "one logit per sequence: P(class 1) = σ(logit)")


_LARGEST_SEARCHED = 1 << 16  # module outputs searched for the values σ produced


def _among(values: Tensor, candidates: Tensor) -> bool:
    """Whether every value is one of the candidates (to 1e-7): σ(t) picked from a module's t."""
    gaps = (values.view(-1, 1) - candidates.view(1, -1)).abs()  # (B, N)
    return bool((gaps.amin(dim=1) <= 1e-7).all())
