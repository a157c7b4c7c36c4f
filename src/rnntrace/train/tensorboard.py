"""TensorBoard event files: each epoch's numbers as scalars, for `--tensorboard DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnntrace.errors import ConfigError
from rnntrace.records import EpochEnd


class TensorBoardLog:
    """An on_epoch_end callback that writes losses, accuracies, gradient norm, lr and speed."""

    def __init__(self, log_dir: Path) -> None:
        try:
            # Imported here: tensorboard is an optional extra and slow to import.
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "--tensorboard needs the tensorboard package: pip install 'rnntrace[tensorboard]'"
            ) from None
        self.log_dir = log_dir
        self._writer: Any = SummaryWriter(log_dir=str(log_dir))

    def __call__(self, end: EpochEnd) -> None:
        r, add = end.record, self._writer.add_scalar
        add("loss/train", r.loss, r.epoch)
        add("accuracy/train", r.accuracy, r.epoch)
        if r.val_loss is not None and r.val_accuracy is not None:
            add("loss/held_out", r.val_loss, r.epoch)
            add("accuracy/held_out", r.val_accuracy, r.epoch)
        add("grad_norm", r.grad_norm, r.epoch)
        add("lr", r.lr, r.epoch)
        add("seqs_per_s", end.seqs_per_s, r.epoch)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
