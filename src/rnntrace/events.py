"""Deprecated: renamed rnntrace.train.tensorboard (it only ever wrote TensorBoard files)."""

from __future__ import annotations

from rnntrace._deprecated import warn_renamed
from rnntrace.train.tensorboard import TensorBoardLog

warn_renamed("rnntrace.events", "rnntrace.train.tensorboard")

__all__ = ["TensorBoardLog"]
