"""A recorder for a user's own training loop: per-epoch metrics, gradient norms, observations.

    rec = rt.Recorder(model)
    for epoch in range(10):
        for x, y in batches:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
        rec.epoch(loss=..., accuracy=..., val_loss=..., val_accuracy=...)
    trace = rec.trace(x_val, labels=y_val)     # the same Trace as rt.trace, with the training

The gradient norm of the recurrent weights is taken by a hook that fires as each of their
gradients is accumulated during `backward()`: before any clipping, without a call in the loop.
Per step it costs one fused norm kernel; the numbers stay on the device until the epoch ends.
"""

from __future__ import annotations

import dataclasses
import math
from types import TracebackType
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.errors import ConfigError
from rnntrace.records import EpochRecord, History, Trace
from rnntrace.train.observations import observe_epoch


class Recorder:
    """Collect what each epoch of a user's loop did; `trace()` turns it into a Trace."""

    def __init__(
        self, model: nn.Module, *, optimizer: torch.optim.Optimizer | None = None,
        n_classes: int | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.n_classes = n_classes
        self.history = History()
        # Layers and the cells a loop steps (rt.trace traces both): their weights' gradients.
        self._weights = [
            p for m in model.modules() if isinstance(m, nn.RNNBase | nn.RNNCellBase)
            for p in m.parameters() if p.requires_grad
        ]
        if not self._weights:
            raise ConfigError(
                f"{type(model).__name__} has no recurrent layer or cell with trainable weights "
                "to record (nn.RNN, nn.LSTM, nn.GRU or their Cell versions)"
            )
        self._pending = 0  # recurrent weights whose gradient the backward in progress has given
        self._norms: list[list[Tensor]] = []  # per backward of this epoch: each weight's norm
        self._handles = [
            p.register_post_accumulate_grad_hook(self._seen)  # type: ignore[no-untyped-call]
            for p in self._weights
        ]

    def _seen(self, _p: Tensor) -> None:
        # Counting is all a hook does until the last recurrent weight has its gradient; then
        # the norms of all of them.
        self._pending += 1
        if self._pending == len(self._weights):
            self._pending = 0
            grads = [p.grad for p in self._weights if p.grad is not None]
            if grads:
                # one fused kernel for every weight's norm; they are combined at the epoch's end
                self._norms.append(list(torch._foreach_norm(grads)))

    def epoch(
        self, *, loss: float, accuracy: float, val_loss: float | None = None,
        val_accuracy: float | None = None, lr: float | None = None,
    ) -> EpochRecord:
        """Record one finished epoch and return its record, with its observation."""
        if lr is None and self.optimizer is not None:
            lr = float(self.optimizer.param_groups[0]["lr"])
        # (steps, weights) → each step's norm over all recurrent weights, (steps,)
        norms = (
            torch.linalg.vector_norm(
                torch.stack([torch.stack(step) for step in self._norms]).detach().cpu(), dim=1
            )
            if self._norms else None
        )
        self._norms, self._pending = [], 0
        record = EpochRecord(
            epoch=len(self.history.records) + 1,
            loss=float(loss),
            accuracy=float(accuracy),
            val_loss=None if val_loss is None else float(val_loss),
            val_accuracy=None if val_accuracy is None else float(val_accuracy),
            grad_norm=float(norms.mean()) if norms is not None else math.nan,
            lr=math.nan if lr is None else float(lr),
        )
        self.history.records.append(record)
        seen = self.history.records
        if norms is None:
            # No backward in this epoch, so no gradient norm: observed with a neutral one
            # (neither vanishing nor exploding), the sentence speaks of the loss alone.
            seen = [*seen[:-1], dataclasses.replace(record, grad_norm=1.0)]
        record.observation = observe_epoch(seen, len(seen) - 1, self.n_classes)
        return record

    def trace(self, *inputs: Any, **kwargs: Any) -> Trace:
        """`rt.trace(model, *inputs, **kwargs)` with the epochs recorded so far as its training."""
        from rnntrace.tracing.generic import trace

        return trace(self.model, *inputs, history=self.history, **kwargs)

    def close(self) -> None:
        """Stop recording gradients (the model is left without any hook of ours)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
