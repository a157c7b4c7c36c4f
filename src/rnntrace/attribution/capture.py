"""What the recurrent layers inside any model read and give, caught with hooks on a forward.

Works through the model's public forward whatever comes before the recurrent layers (a
standardisation, a front end) or after them (any summary, any head): the first recurrent
module's input and the last one's output are taken as they pass, unpacked when packed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnntrace.attribution.scope import batch_first_of, device_of
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError

BATCH = 256  # sequences per forward: enough to be quick, small enough for long sequences


@dataclass
class Caught:
    """One batch through the model: its logits and the recurrent layers' input and output."""

    logits: Tensor  # (B, C)
    first_input: Tensor  # (B, T, F') what the first recurrent module read, batch first
    top_output: Tensor  # (B, T, D·H) what the last recurrent module gave, batch first
    top: nn.RNNBase  # that last module
    lengths: Tensor  # (B,)


def recurrent_modules(model: nn.Module) -> list[nn.RNNBase]:
    return [m for m in model.modules() if isinstance(m, nn.RNNBase)]


def _batch_first(value: Tensor | PackedSequence, module: nn.RNNBase, steps: int) -> Tensor:
    if isinstance(value, PackedSequence):
        padded, _ = pad_packed_sequence(value, batch_first=True, total_length=steps)
        return padded  # (B, T, ·)
    return value if module.batch_first else value.transpose(0, 1)  # (B, T, ·)


@torch.no_grad()
def catch(model: nn.Module, data: SequenceSet, indices: np.ndarray) -> Caught:
    """Run sequences `indices` of `data` through the model as one padded batch, hooks on."""
    if not recurrent_modules(model):
        raise ConfigError(f"{type(model).__name__} has no nn.RNN, nn.LSTM or nn.GRU inside: "
                          "its hidden units cannot be explained (rt.attribute still works)")
    part = data.subset(indices)
    steps = int(part.lengths.max())
    device = device_of(model)
    x = torch.from_numpy(np.ascontiguousarray(part.values[:, :steps])).to(device)  # (B, T, F)
    lengths = torch.from_numpy(part.lengths)
    calls: list[tuple[nn.RNNBase, Tensor | PackedSequence, Tensor | PackedSequence]] = []

    def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        assert isinstance(module, nn.RNNBase) and isinstance(output, tuple)
        calls.append((module, args[0], output[0]))  # type: ignore[arg-type]

    handles = [m.register_forward_hook(hook) for m in recurrent_modules(model)]
    was_training = model.training
    model.eval()
    try:
        z = x if batch_first_of(model) else x.transpose(0, 1)  # (B, T, F) or (T, B, F)
        equal = bool((part.lengths == steps).all())
        logits = model(z) if equal else model(z, lengths.to(device))  # (B, C)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    first, last = calls[0], calls[-1]
    return Caught(
        logits=logits.cpu(),
        first_input=_batch_first(first[1], first[0], steps).cpu(),
        top_output=_batch_first(last[2], last[0], steps).cpu(),
        top=last[0],
        lengths=_recurrent_lengths(model, lengths),
    )


def _recurrent_lengths(model: nn.Module, lengths: Tensor) -> Tensor:
    """Real steps of each sequence as the recurrent layers read them: rnntrace's own front end
    (SequenceClassifier.front) reads windows of steps, so its layers see fewer."""
    front = getattr(model, "front", None)
    shorter = getattr(front, "lengths", None)
    return shorter(lengths) if callable(shorter) else lengths


def batches(n: int, size: int = BATCH) -> Iterator[np.ndarray]:
    for start in range(0, n, size):
        yield np.arange(start, min(n, start + size))
