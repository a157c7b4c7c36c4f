"""How attribution calls a model: eval mode, gradients on, cuDNN off on GPU, all undone after.

cuDNN's RNN backward refuses to run in eval mode ("cudnn RNN backward can only be called in
training mode"); the usual answer is a global `torch.backends.cudnn.enabled = False`, which slows
every other RNN in the process. Here cuDNN is off only inside this scope, and only on CUDA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import Tensor, nn

from rnntrace.model.modes import eval_mode


def batch_first_of(model: nn.Module) -> bool:
    """Whether the model reads (B, T, F): its config says so, else PyTorch's batch-first habit."""
    config = getattr(model, "config", None)
    return bool(getattr(config, "batch_first", True))


def device_of(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextmanager
def attribution_scope(model: nn.Module) -> Iterator[None]:
    """Eval mode and gradients on for the call; cuDNN off only on CUDA; the model left as found."""
    with ExitStack() as stack:
        stack.enter_context(eval_mode(model))
        stack.enter_context(torch.enable_grad())
        if device_of(model).type == "cuda":
            stack.enter_context(torch.backends.cudnn.flags(enabled=False))
        yield


def forward_batch_first(
    model: nn.Module, batch_first: bool
) -> Callable[[Tensor, Tensor | None], Tensor]:
    """The model's own forward, taking (B, T, F) whatever layout it reads.

    Captum expands inputs along dim 0 (one copy per integration step), so it must see the batch
    there; a time-major model gets its input transposed back inside the call.
    """

    def forward(x: Tensor, lengths: Tensor | None = None) -> Tensor:
        z = x if batch_first else x.transpose(0, 1)  # (B, T, F) → (T, B, F)
        out: Tensor = model(z, lengths) if lengths is not None else model(z)
        return out  # (B, C)

    return forward


def real_steps(lengths: Tensor | None, batch: int, steps: int, device: torch.device) -> Tensor:
    """A (B, T, 1) mask, True on each sequence's real steps and False on its padding."""
    t = torch.arange(steps, device=device).view(1, steps, 1)  # (1, T, 1)
    if lengths is None:
        return torch.ones(batch, steps, 1, dtype=torch.bool, device=device)
    return t < lengths.to(device).view(batch, 1, 1)  # (B, T, 1)
