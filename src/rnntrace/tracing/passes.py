"""Every forward pass rnntrace makes of a user's model is the same pass, and says how it ran.

A forward may draw random numbers (random initial states, teacher forcing, dropout in train
mode). The module calls, the layers, the prediction and the dynamics each need a pass, so the
random state is taken once and set again before each of them: they all see the same draws, and
the user's random state is given back as it was. A second pass without that replay tells
whether the forward is deterministic, which the trace then states.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnntrace.errors import ConfigError

MODES = ("eval", "train")


class Draws:
    """The random state of torch (CPU and CUDA), Python's `random` and numpy, taken now."""

    def __init__(self) -> None:
        self._torch = torch.get_rng_state()
        self._cuda = (
            torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() and torch.cuda.device_count() and _cuda_started()
            else None
        )
        self._python = random.getstate()
        self._numpy = np.random.get_state()

    def replay(self) -> None:
        """Set every generator back to the state taken: the next pass draws the same numbers."""
        torch.set_rng_state(self._torch)
        if self._cuda is not None:
            torch.cuda.set_rng_state_all(self._cuda)
        random.setstate(self._python)
        np.random.set_state(self._numpy)


def _cuda_started() -> bool:
    started: bool = torch.cuda.is_initialized()  # type: ignore[no-untyped-call]
    return started


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"mode must be 'eval' or 'train', got {mode!r}")


@contextmanager
def traced_mode(model: nn.Module, mode: str) -> Iterator[None]:
    """The model in `mode` for the block; its own mode, and in train mode its buffers (batch
    norm's running statistics), given back after."""
    was_training = model.training
    buffers = [(b, b.detach().clone()) for b in model.buffers()] if mode == "train" else []
    model.train(mode == "train")
    try:
        yield
    finally:
        model.train(was_training)
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def mode_note(was_training: bool, mode: str) -> str:
    if mode == "train":
        return ("Traced in train mode, as asked: dropout is active (the same random draws in "
                "every pass), and batch norm's running statistics are given back unchanged.")
    if was_training:
        return ("The model was in train mode; it was traced in eval mode (dropout off, batch "
                "norm on its running statistics) and given back in train mode. mode='train' "
                "traces it as it trains.")
    return "Traced in eval mode, the mode the model was in."


@torch.no_grad()
def determinism_note(
    model: nn.Module, inputs: tuple[Any, ...], kwargs: dict[str, Any], traced: Any
) -> tuple[bool, str]:
    """Run the forward once more, without replaying the random state, and compare outputs."""
    again = model(*inputs, **kwargs)
    pairs = list(zip(_tensors(traced), _tensors(again), strict=False))
    diff = 0.0
    for a, b in pairs:
        if a.shape != b.shape:
            diff = float("inf")
            break
        if a.numel() and a.is_floating_point():
            diff = max(diff, float((a.double() - b.detach().double()).abs().max()))
        elif not torch.equal(a, b.detach()):
            diff = float("inf")
    if len(_tensors(traced)) != len(_tensors(again)):
        diff = float("inf")
    if diff == 0.0:
        return True, "The forward is deterministic: a second pass returned the same outputs."
    by = "outputs of another shape" if diff == float("inf") else f"outputs differing by {diff:.3g}"
    return False, (
        f"The forward is not deterministic: a second pass on the same inputs returned {by} "
        "(it draws random numbers, or runs non-deterministic kernels). Every section here comes "
        "from one pass: rnntrace replays the same random draws for each pass it makes."
    )


def _tensors(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []
