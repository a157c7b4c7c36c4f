"""A PyTorch Lightning callback that records a fit and ends in the same Trace as rt.Recorder.

    trace_cb = rt.lightning.Trace()             # or Trace(example=x_val, labels=y_val)
    Trainer(callbacks=[trace_cb]).fit(module, train_loader, val_loader)
    rt.report(trace_cb.trace, "page.html")

Needs the optional extra: `pip install rnntrace[lightning]`. Per epoch it reads the metrics the
LightningModule logged (`train_loss`/`loss`, `train_acc`/`acc`, `val_loss`, `val_acc`, with or
without the `_epoch` suffix that `on_step=True` logging adds).
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from rnntrace.errors import ConfigError
from rnntrace.experiment.recorder import Recorder
from rnntrace.records import Trace as TraceRecord

try:
    import lightning.pytorch as pl
except ImportError as exc:  # pragma: no cover - depends on the optional extra
    raise ConfigError(
        "rnntrace.experiment.lightning needs PyTorch Lightning: pip install 'rnntrace[lightning]'"
    ) from exc

_NAMES = {
    "loss": ("train_loss", "loss"),
    "accuracy": ("train_acc", "train_accuracy", "acc", "accuracy"),
    "val_loss": ("val_loss",),
    "val_accuracy": ("val_acc", "val_accuracy"),
}


class Trace(pl.Callback):
    """Record every training epoch; at the end of the fit, trace the model on `example`.

    Without `example`, the first training batch `(x, y)` is traced, with y as its labels.
    """

    def __init__(
        self, example: tuple[Any, ...] | Tensor | None = None, *, labels: Tensor | None = None,
        class_names: list[str] | None = None, n_classes: int | None = None,
    ) -> None:
        super().__init__()
        self.example = (example,) if isinstance(example, Tensor) else example
        self.labels = labels
        self.class_names = class_names
        self.n_classes = n_classes
        self.recorder: Recorder | None = None
        self.trace: TraceRecord | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.recorder = Recorder(pl_module, n_classes=self.n_classes)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        # No example given: the first training batch is traced, (x, y) read as inputs, labels.
        if self.example is None and isinstance(batch, tuple | list) and len(batch) == 2:
            self.example = (batch[0].detach(),)
            if self.labels is None and isinstance(batch[1], Tensor):
                self.labels = batch[1].detach()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.recorder is None:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        found = {name: _metric(metrics, keys) for name, keys in _NAMES.items()}
        optimizers = trainer.optimizers
        lr = float(optimizers[0].param_groups[0]["lr"]) if optimizers else None
        self.recorder.epoch(
            loss=found["loss"] if found["loss"] is not None else math.nan,
            accuracy=found["accuracy"] if found["accuracy"] is not None else math.nan,
            val_loss=found["val_loss"],
            val_accuracy=found["val_accuracy"],
            lr=lr,
        )

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.recorder is None:
            return
        self.recorder.close()
        if self.example is not None:
            example = tuple(
                t.to(pl_module.device) if isinstance(t, Tensor) else t for t in self.example
            )
            self.trace = self.recorder.trace(
                *example, labels=self.labels, class_names=self.class_names
            )


def _metric(metrics: dict[str, float], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        for name in (key, f"{key}_epoch"):
            if name in metrics:
                return metrics[name]
    return None
