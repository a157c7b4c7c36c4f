"""Integrated Gradients for text: each token's share of the prediction, through its embedding.

The hook `tracing.tokens.token_trace` takes to colour held-out texts by what decided them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnntrace.attribution.integrated import attribute
from rnntrace.model.classifier import SequenceClassifier


def embedding_attribution(model: SequenceClassifier, x: Tensor, target: int) -> list[float]:
    """Integrated Gradients over the embedding vectors, summed per token: (T,) shares.

    Token ids are not differentiable, so the path runs from the zero vector (what padding
    embeds to) to each token's vector; the shares add up to logit(x) − logit(all zeros), with
    the same completeness check (steps raised, the path cut where it jumps) as numbers get.
    """
    assert model.embedding is not None
    ids = x.to(next(model.parameters()).device)[..., 0].long()  # (1, T) or (T, 1)
    z = model.embedding(ids).detach()  # (1, T, E) or (T, 1, E), as the model lays it out
    found = attribute(_FromVectors(model), z, target=target, baseline=torch.zeros_like(z))
    return [float(v) for v in found.values[0].sum(-1)]


class _FromVectors(nn.Module):
    """The model from its embedding vectors on: what Integrated Gradients can differentiate."""

    def __init__(self, model: SequenceClassifier) -> None:
        super().__init__()
        self.model = model
        self.config = model.config  # the layout (batch_first) attribution reads

    def forward(self, vectors: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.model.head(self.model.last_hidden(vectors, lengths))  # type: ignore[no-any-return]
