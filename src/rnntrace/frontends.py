"""Front ends for long series, between standardisation and the recurrent layer.

`window`: non-overlapping windows of k steps read as one step of k·F features, so the recurrent
layer takes T/k steps (a 1460-step series becomes 122 steps with k = 12); nothing is averaged
away. The last window of a sequence is completed with zeros:

    k = 3, length 7   x0 x1 x2 | x3 x4 x5 | x6 0 0      → 3 steps of 3·F features

`conv`: the windows, then three 1-D convolution blocks (Conv1d → BatchNorm → ReLU; kernels 7,
5, 3) as in LSTM-FCN (Karim et al. 2018), scaled down to 64 channels, feeding the recurrent
layer local shapes instead of raw values. Padding is zeroed before every convolution and after
it, so (in eval mode) a padded sequence gives exactly what it gives alone.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnntrace.config import FRONT_ENDS

__all__ = ["FRONT_ENDS", "FrontEnd", "to_windows", "window_lengths"]
CONV_CHANNELS = 64
CONV_KERNELS = (7, 5, 3)


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


class FrontEnd(nn.Module):
    """Windows of `window` steps, then (kind="conv") the convolution blocks."""

    def __init__(self, n_features: int, kind: str, window: int) -> None:
        super().__init__()
        self.kind, self.window = kind, window
        self.blocks = nn.ModuleList()
        size = n_features * window
        if kind == "conv":
            for kernel in CONV_KERNELS:
                self.blocks.append(nn.Sequential(
                    nn.Conv1d(size, CONV_CHANNELS, kernel, padding=kernel // 2),
                    nn.BatchNorm1d(CONV_CHANNELS),
                    nn.ReLU(),
                ))
                size = CONV_CHANNELS
        self.out_features = size

    def lengths(self, lengths: Tensor | None) -> Tensor | None:
        return None if lengths is None else window_lengths(lengths, self.window)

    def forward(self, z: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(B, T, F) standardised input → (B, T', F') for the recurrent layer."""
        if lengths is not None:
            z = z * _mask(lengths, z.size(1), z)  # padding is zero, whatever it held
        z = to_windows(z, self.window)  # (B, T/k, k·F)
        new_lengths = self.lengths(lengths)
        for block in self.blocks:
            z = block(z.transpose(1, 2)).transpose(1, 2)  # (B, T', C)
            if new_lengths is not None:
                z = z * _mask(new_lengths, z.size(1), z)  # the next kernel reads zeros there
        return z

    def describe(self, n_features: int) -> str:
        text = (f"windows of {self.window} steps read as one step of {self.window}·"
                f"{n_features} = {self.window * n_features} features (T → ceil(T/{self.window}))")
        if self.kind == "conv":
            text += (f", then {len(self.blocks)} blocks Conv1d(kernel "
                     f"{'/'.join(map(str, CONV_KERNELS))}) → BatchNorm → ReLU with "
                     f"{CONV_CHANNELS} channels, padding zeroed before each")
        return text


def _mask(lengths: Tensor, steps: int, like: Tensor) -> Tensor:
    real = torch.arange(steps, device=like.device).view(1, -1) < lengths.to(like.device).view(-1, 1)
    return real.unsqueeze(2).to(like.dtype)  # (B, T, 1)
