"""Deprecated: renamed rnntrace.tensorboard (this module only ever wrote TensorBoard files)."""

from __future__ import annotations

from rnntrace._deprecated import warn_renamed
from rnntrace.tensorboard import TensorBoardLog

warn_renamed("rnntrace.events", "rnntrace.tensorboard")

__all__ = ["TensorBoardLog"]
