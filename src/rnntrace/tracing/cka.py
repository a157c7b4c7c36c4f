"""Linear centered kernel alignment (CKA), Kornblith, Norouzi, Lee & Hinton (ICML 2019).

How alike two models' representations of the same n inputs are, as wholes: X (n, p) and
Y (n, q) need not have the same width, and CKA does not change when either is rotated or
scaled, so models whose hidden units are not aligned compare fairly. With the columns centred,

    CKA(X, Y) = ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F · ‖Yᵀ Y‖_F)

(their equation (4), the feature-space form of HSIC with linear kernels); 1 for the same
representation up to rotation and scale, near 0 for unrelated ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def linear_cka(x: ArrayLike, y: ArrayLike) -> float:
    """Linear CKA of two representations of the same inputs, rows = inputs: (n, p), (n, q)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"CKA needs two (n, ·) matrices of the same n, got {a.shape}, {b.shape}")
    a = a - a.mean(axis=0, keepdims=True)
    b = b - b.mean(axis=0, keepdims=True)
    cross = np.linalg.norm(b.T @ a) ** 2
    norm = np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)
    return float(cross / norm) if norm > 0 else 0.0


def cka_matrix(representations: Sequence[ArrayLike]) -> list[list[float]]:
    """Linear CKA between every pair of representations, (M, M), symmetric, 1 on the diagonal
    (0 for a representation that does not vary)."""
    count = len(representations)
    out = [[0.0] * count for _ in range(count)]
    for i in range(count):
        for j in range(i, count):
            out[i][j] = out[j][i] = round(linear_cka(representations[i], representations[j]), 6)
    return out
