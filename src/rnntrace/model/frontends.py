"""Front ends for long series, between standardisation and the recurrent layer.

`resample` (first, when set): each sequence's real steps linearly interpolated at N evenly
spaced points from its first step to its last, so that every sequence is N steps long. Where
lengths differ because the same pattern was made faster or slower (gestures, spoken vowels),
this lines the patterns up; the no-flag defaults use it for sequences of unequal lengths.

    N = 5, length 3   x0 x1 x2   →   x0 ½(x0+x1) x1 ½(x1+x2) x2

`window`: non-overlapping windows of k steps read as one step of k·F features, so the recurrent
layer takes T/k steps (a 1460-step series becomes 122 steps with k = 12); nothing is averaged
away. The last window of a sequence is completed with zeros:

    k = 3, length 7   x0 x1 x2 | x3 x4 x5 | x6 0 0      → 3 steps of 3·F features

`conv`: the windows, then three 1-D convolution blocks (Conv1d → BatchNorm → ReLU; kernels 7,
5, 3) as in LSTM-FCN (Karim et al. 2018), scaled down to 64 channels, feeding the recurrent
layer local shapes instead of raw values. Padding is zeroed before every convolution and after
it, so (in eval mode) a padded sequence gives exactly what it gives alone.

BatchNorm in training takes its batch statistics over the real steps only (MaskedBatchNorm1d).
A plain BatchNorm1d would count the padded steps too: in a batch of series of 29–361 steps
padded to 361, most positions are padding, so the batch mean and variance (and the running
statistics that eval uses) would describe the padding more than the data, and a sequence's
normalisation in training would depend on how long its batch-mates are. Under torchrun the
statistics are summed over the ranks (as SyncBatchNorm's are), so two ranks normalise by the
statistics of the whole global batch, as one process would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.config.settings import FRONT_ENDS

__all__ = ["FRONT_ENDS", "FrontEnd", "MaskedBatchNorm1d", "conv_reach", "resample",
           "statistics_across_ranks", "to_windows", "window_lengths"]
CONV_CHANNELS = 64
CONV_KERNELS = (7, 5, 3)


def conv_reach(kind: str) -> int:
    """Steps past its own that the front end's output at a step has read: each centred
    convolution reaches kernel // 2 further (7, 5, 3: 3 + 2 + 1 = 6); 0 without convolutions.
    A one-direction model behind it is not online to within those steps (config/task.py)."""
    return sum(k // 2 for k in CONV_KERNELS) if kind == "conv" else 0


def resample(z: Tensor, lengths: Tensor | None, steps: int) -> Tensor:
    """(B, T, F) → (B, steps, F): each sequence's real steps read at `steps` evenly spaced
    positions from its first step to its last, interpolating linearly between neighbours (the
    rule of np.interp); padding is never read, a one-step sequence is repeated."""
    b, t, f = z.shape
    last = (lengths.to(z.device) - 1 if lengths is not None
            else torch.full((b,), t - 1, device=z.device))  # (B,) each one's last real step
    where = torch.linspace(0, 1, steps, device=z.device, dtype=z.dtype).view(1, -1)
    position = where * last.to(z.dtype).view(-1, 1)  # (B, steps), 0 … last
    below = position.floor().long().clamp(min=0, max=t - 1)
    above = torch.minimum(below + 1, last.view(-1, 1).long())
    share = (position - below.to(z.dtype)).unsqueeze(2)  # (B, steps, 1) of the step above

    def at(index: Tensor) -> Tensor:
        return z.gather(1, index.unsqueeze(2).expand(-1, -1, f))  # (B, steps, F)

    return at(below) * (1 - share) + at(above) * share


def window_lengths(lengths: Tensor, k: int) -> Tensor:
    """Steps after windowing: ceil(length / k)."""
    return (lengths + k - 1) // k


def to_windows(z: Tensor, k: int) -> Tensor:
    """(B, T, F) → (B, ceil(T/k), k·F): step j holds steps jk .. jk+k-1 side by side."""
    if k == 1:
        return z
    b, t, f = z.shape
    steps = -(-t // k)
    z = nn.functional.pad(z, (0, 0, 0, steps * k - t))  # (B, steps·k, F), zeros at the end
    return z.reshape(b, steps, k * f)  # (B, T/k, k·F)


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d over (B, C, T) whose training statistics come from the real steps alone.

    `mask` (B, 1, T) is 1 at real steps and 0 at padding. Without a mask, or in eval mode with
    running statistics, it is exactly nn.BatchNorm1d (same parameters, buffers and state_dict).
    With a mask in training it equals nn.BatchNorm1d applied to the real steps of the batch laid
    end to end: the batch mean and biased variance normalise, the unbiased variance updates the
    running statistics, with the same momentum rule.
    """

    # Set by train.fit while ranks train together (torchrun): batch statistics then cover every
    # rank's share of the global batch. Off otherwise, so a forward on one rank never waits.
    across_ranks = False

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        use_batch = self.training or self.running_mean is None
        if not use_batch or (mask is None and not self.across_ranks):
            return super().forward(x)
        if mask is None:
            mask = x.new_ones(x.size(0), 1, x.size(2))
        totals = _sum_over_ranks(torch.cat([mask.sum().view(1), (x * mask).sum(dim=(0, 2))]),
                                 self.across_ranks)
        n = totals[0]  # real steps in the (global) batch
        mean = totals[1:] / n  # (C,)
        centred = (x - mean.view(1, -1, 1)) * mask  # (B, C, T), zero at padding
        var = _sum_over_ranks((centred * centred).sum(dim=(0, 2)), self.across_ranks) / n
        if self.training and self.track_running_stats and self.running_mean is not None:
            assert self.running_var is not None and self.num_batches_tracked is not None
            self.num_batches_tracked.add_(1)
            factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                      else self.momentum)
            with torch.no_grad():
                unbiased = var * n / (n - 1).clamp(min=1)
                self.running_mean.mul_(1 - factor).add_(factor * mean)
                self.running_var.mul_(1 - factor).add_(factor * unbiased)
        out = (x - mean.view(1, -1, 1)) / torch.sqrt(var.view(1, -1, 1) + self.eps)
        if self.affine:
            out = out * self.weight.view(1, -1, 1) + self.bias.view(1, -1, 1)
        return out


class _SumOverRanks(torch.autograd.Function):
    """all_reduce(SUM) with its gradient: each rank's input reaches every rank's loss, so the
    gradient of an input is the sum over ranks of the gradients of the sum (as SyncBatchNorm)."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor) -> Tensor:
        import torch.distributed as dist

        tensor = tensor.clone()
        dist.all_reduce(tensor)
        return tensor

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return _SumOverRanks.apply(grad.contiguous())  # type: ignore[no-any-return,no-untyped-call]


def _sum_over_ranks(tensor: Tensor, across_ranks: bool) -> Tensor:
    return _SumOverRanks.apply(tensor) if across_ranks else tensor  # type: ignore[no-untyped-call]


@contextmanager
def statistics_across_ranks(model: nn.Module, on: bool) -> Iterator[None]:
    """While training under torchrun: every MaskedBatchNorm1d of `model` sums its batch
    statistics over the ranks."""
    norms = [m for m in model.modules() if isinstance(m, MaskedBatchNorm1d)]
    for m in norms:
        m.across_ranks = on
    try:
        yield
    finally:
        for m in norms:
            m.across_ranks = False


class ConvBlock(nn.Sequential):
    """Conv1d → MaskedBatchNorm1d → ReLU on (B, C, T); the mask reaches the BatchNorm.

    A Sequential, so its parameters keep the names blocks.i.0 (conv) and blocks.i.1 (norm).
    The convolution has no bias: BatchNorm subtracts every channel's mean right after, so a
    bias there gets a gradient of zero up to rounding, which Adam scales up into steps of full
    size: a parameter that wanders and means nothing.
    """

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        conv, norm, relu = self[0], self[1], self[2]
        return relu(norm(conv(x), mask))  # type: ignore[no-any-return]


def without_redundant_biases(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Weights saved when the front end's convolutions and the attention score had a bias, as
    today's model holds them.

    BatchNorm(conv(x) + b) with running mean m is exactly BatchNorm(conv(x)) with running mean
    m − b, in eval mode and in training; softmax over steps ignores a score bias, so it is
    dropped. Other weights are returned as they are.
    """
    folded = {k: v for k, v in tensors.items() if k != "attention.score.bias"}
    for key in tensors:
        block, _, rest = key.rpartition(".0.")
        running_mean = f"{block}.1.running_mean"
        if rest == "bias" and ".blocks." in key and running_mean in tensors:
            folded[running_mean] = tensors[running_mean] - folded.pop(key)
    return folded


class FrontEnd(nn.Module):
    """Resampling to `resample` steps (when > 0), windows of `window` steps, then (kind="conv")
    the convolution blocks."""

    def __init__(self, n_features: int, kind: str, window: int, resample: int = 0) -> None:
        super().__init__()
        self.kind, self.window, self.resample = kind, window, resample
        self.blocks = nn.ModuleList()
        size = n_features * window
        if kind == "conv":
            for kernel in CONV_KERNELS:
                self.blocks.append(ConvBlock(
                    nn.Conv1d(size, CONV_CHANNELS, kernel, padding=kernel // 2, bias=False),
                    MaskedBatchNorm1d(CONV_CHANNELS),
                    nn.ReLU(),
                ))
                size = CONV_CHANNELS
        self.out_features = size

    def lengths(self, lengths: Tensor | None) -> Tensor | None:
        """Each sequence's steps after the front end; None when all fill the output."""
        if lengths is None or self.resample:
            return None
        return window_lengths(lengths, self.window)

    def forward(self, z: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(B, T, F) standardised input → (B, T', F') for the recurrent layer."""
        if self.resample:
            z, lengths = resample(z, lengths, self.resample), None  # every sequence N steps
        if lengths is not None:
            z = z * _mask(lengths, z.size(1), z)  # padding is zero, whatever it held
        z = to_windows(z, self.window)  # (B, T/k, k·F)
        new_lengths = self.lengths(lengths)
        mask = None if new_lengths is None else _mask(new_lengths, z.size(1), z).transpose(1, 2)
        z = z.transpose(1, 2)  # (B, C, T') for Conv1d
        for block in self.blocks:
            z = block(z, mask)  # (B, C, T'), batch statistics from real steps only
            if mask is not None:
                z = z * mask  # the next kernel reads zeros there
        return z.transpose(1, 2)  # (B, T', C)

    def describe(self, n_features: int) -> str:
        parts = []
        if self.resample:
            parts.append(f"each sequence's real steps resampled to {self.resample} evenly "
                         f"spaced steps (linear interpolation)")
        if self.window > 1:
            steps = f"{self.resample}" if self.resample else "T"
            parts.append(f"windows of {self.window} steps read as one step of {self.window}·"
                         f"{n_features} = {self.window * n_features} features ({steps} → "
                         f"ceil({steps}/{self.window}))")
        if self.kind == "conv":
            parts.append(f"{len(self.blocks)} blocks Conv1d(kernel "
                         f"{'/'.join(map(str, CONV_KERNELS))}) → BatchNorm → ReLU with "
                         f"{CONV_CHANNELS} channels, padding zeroed before each")
        return ", then ".join(parts)


def _mask(lengths: Tensor, steps: int, like: Tensor) -> Tensor:
    real = torch.arange(steps, device=like.device).view(1, -1) < lengths.to(like.device).view(-1, 1)
    return real.unsqueeze(2).to(like.dtype)  # (B, T, 1)
