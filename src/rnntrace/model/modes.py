"""A module in eval mode for a block of work, its own mode given back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """`module` (and every submodule) in eval mode: no dropout, BatchNorm reads its running
    statistics and leaves them alone. Reading a model this way must not change how its owner
    goes on to use it, so the mode it had (training or not) is set again at the end."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
