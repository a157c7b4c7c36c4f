"""What the recurrent layers inside any model read and give, for a batch of a SequenceSet.

Works through the model's public forward whatever comes before the recurrent layers (a
standardisation, a front end) or after them (any summary, any head): the first recurrent
module's input and the last one's output are taken as they pass (tracing/capture.py's hooks),
unpacked when packed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rnntrace.attribution.scope import batch_first_of, device_of
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.tracing.capture import capture

BATCH = 256  # sequences per forward: enough to be quick, small enough for long sequences


@dataclass
class Caught:
    """One batch through the model: its logits and the recurrent layers' input and output."""

    logits: Tensor  # (B, C)
    first_input: Tensor  # (B, T, F') what the first recurrent module read, batch first
    top_output: Tensor  # (B, T, D·H) what the last recurrent module gave, batch first
    top: nn.RNNBase  # that last module
    lengths: Tensor  # (B,)


@torch.no_grad()
def catch(model: nn.Module, data: SequenceSet, indices: np.ndarray) -> Caught:
    """Run sequences `indices` of `data` through the model as one padded batch, hooks on."""
    if not any(isinstance(m, nn.RNNBase) for m in model.modules()):
        raise ConfigError(f"{type(model).__name__} has no nn.RNN, nn.LSTM or nn.GRU inside: "
                          "its hidden units cannot be explained (rt.attribute still works)")
    part = data.subset(indices)
    steps = int(part.lengths.max())
    device = device_of(model)
    x = torch.from_numpy(np.ascontiguousarray(part.values[:, :steps])).to(device)  # (B, T, F)
    lengths = torch.from_numpy(part.lengths)
    z = x if batch_first_of(model) else x.transpose(0, 1)  # (B, T, F) or (T, B, F)
    equal = bool((part.lengths == steps).all())
    seen = capture(model, (z,) if equal else (z, lengths.to(device)), {}, recurrent_only=True)
    first, last = seen.rnn_calls[0], seen.rnn_calls[-1]
    top_output = last.batch_first(last.output).cpu()  # (B, T', D·H)
    return Caught(
        logits=seen.output.cpu(),  # (B, C)
        first_input=first.batch_first(first.x).cpu(),
        top_output=top_output,
        top=last.rnn,
        lengths=_recurrent_lengths(model, lengths, top_output.size(1)),
    )


def _recurrent_lengths(model: nn.Module, lengths: Tensor, steps: int) -> Tensor:
    """Real steps of each sequence as the recurrent layers read them: rnntrace's own front end
    (SequenceClassifier.front) reads windows of steps, so its layers see fewer, or resamples
    every sequence to fill all `steps`."""
    front = getattr(model, "front", None)
    shorter = getattr(front, "lengths", None)
    if not callable(shorter):
        return lengths
    read = shorter(lengths)
    return torch.full_like(lengths, steps) if read is None else read


def batches(n: int, size: int = BATCH) -> Iterator[np.ndarray]:
    for start in range(0, n, size):
        yield np.arange(start, min(n, start + size))
