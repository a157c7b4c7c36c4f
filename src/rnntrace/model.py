"""SequenceClassifier: recurrent layers → the last real hidden state → Linear → logits.

Text enters as token ids (B, T, 1) and an Embedding (E wide) turns them into vectors before
the recurrent layers; numeric inputs are standardised instead.

Shape legend used in the comments below:
    B batch, T time steps, F features, H hidden size, D directions (1 or 2),
    L layers × directions (the first dimension of h_n), C classes.
    An LSTM with proj_size P returns h (output, h_n) P wide instead of H; c_n stays H wide.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnntrace.cells import CellSpec
from rnntrace.config import ModelConfig


def layer_class(spec: CellSpec) -> Callable[..., nn.RNNBase]:
    """nn.RNN, nn.GRU or nn.LSTM (typed as a constructor: their signatures differ)."""
    cls: Callable[..., nn.RNNBase] = getattr(nn, spec.torch_name)
    return cls


def make_rnn(config: ModelConfig) -> nn.RNNBase:
    """The torch recurrent layer a config describes."""
    return layer_class(config.spec)(
        input_size=config.input_size,  # the embedding's width for text
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        batch_first=config.batch_first,
        bidirectional=config.bidirectional,
        # nn.RNN warns when dropout is set on a single layer, where it would do nothing.
        dropout=config.dropout if config.num_layers > 1 else 0.0,
        **config.spec.layer_kwargs(config.nonlinearity, config.proj_size),
    )


def hidden_of(state: Tensor | tuple[Tensor, Tensor]) -> Tensor:
    """h_n from what a recurrent layer returns as its state: LSTM gives (h_n, c_n)."""
    return state[0] if isinstance(state, tuple) else state


def last_hidden_from_h_n(h_n: Tensor, bidirectional: bool) -> Tensor:
    """The top layer's final state (B, D·H) from h_n (L, B, H).

    h_n holds each direction's state after reading the whole sequence. For the backward direction
    that is its state at step 0, which is why `output[:, -1]` is wrong for a bidirectional layer:

        forward  →→→→→ h_n[-2]   (summary at the last step)
        backward h_n[-1] ←←←←←   (summary at step 0)
    """
    if bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=1)  # (B, 2H)
    return h_n[-1]  # (B, H)


def gather_last_step(output: Tensor, lengths: Tensor, batch_first: bool) -> Tensor:
    """Each sequence's output at its own last real step, (B, H), from a padded output.

    For a padded batch the last column is padding for every shorter sequence:

        seq 0  o0 o1 o2 o3 o4   lengths[0]=5 → o4
        seq 1  o0 o1 o2 ·  ·    lengths[1]=3 → o2   (output[:, -1] would be a padding step)

    Exact for a unidirectional layer: its output at step t depends only on steps ≤ t.
    """
    if not batch_first:
        output = output.transpose(0, 1)  # (B, T, H)
    index = (lengths.to(output.device) - 1).view(-1, 1, 1).expand(-1, 1, output.size(2))
    return output.gather(1, index).squeeze(1)  # (B, H)


class Standardize(nn.Module):
    """(x - mean) / std per feature, with statistics from the training split stored as buffers.

    Keeping them in the model means they are saved with the weights and applied by `predict`,
    and batches can stream from disk without a standardised copy of the data.
    """

    mean: Tensor
    std: Tensor

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    def set_statistics(self, mean: Tensor, std: Tensor) -> None:
        # A constant feature has std 0; dividing by 1 leaves it centred instead of infinite.
        self.mean.copy_(mean)
        self.std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std  # (..., F)


class SequenceClassifier(nn.Module):
    """Classify sequences from the last real hidden state of an RNN, LSTM or GRU."""

    def __init__(
        self,
        n_features: int = 5,
        n_classes: int = 3,
        hidden_size: int = 8,
        cell: str = "rnn",
        *,
        nonlinearity: str = "tanh",
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        batch_first: bool = True,
        proj_size: int = 0,
        vocab_size: int = 0,
        embedding_dim: int = 0,
        embedding_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = ModelConfig(
            n_features=n_features,
            n_classes=n_classes,
            hidden_size=hidden_size,
            cell=cell,
            nonlinearity=nonlinearity,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            batch_first=batch_first,
            proj_size=proj_size,
            vocab_size=vocab_size,
            embedding_dim=embedding_dim,
            embedding_dropout=embedding_dropout,
        )
        self.standardize = Standardize(n_features)
        # Id 0 is <pad>: padding_idx keeps its vector zero and out of the gradient.
        self.embedding = (
            nn.Embedding(self.config.vocab_size, self.config.embedding_dim, padding_idx=0)
            if self.config.vocab_size else None
        )
        # Active only in train(): an eval-mode model reads every embedding value as it is.
        self.embedding_dropout = nn.Dropout(self.config.embedding_dropout)
        self.rnn = make_rnn(self.config)
        # The head reads the top layer's final h of each direction: D·H, or D·P when projected.
        self.head = nn.Linear(self.config.state_size * self.config.num_directions, n_classes)

    @classmethod
    def from_config(cls, config: ModelConfig) -> SequenceClassifier:
        return cls(
            config.n_features,
            config.n_classes,
            config.hidden_size,
            config.cell,
            nonlinearity=config.nonlinearity,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout,
            batch_first=config.batch_first,
            proj_size=config.proj_size,
            vocab_size=config.vocab_size,
            embedding_dim=config.embedding_dim,
            embedding_dropout=config.embedding_dropout,
        )

    def inputs(self, x: Tensor) -> Tensor:
        """What the recurrent layers read: embedded token ids (…, E), or standardised x (…, F)."""
        if self.embedding is None:
            return self.standardize(x)  # type: ignore[no-any-return]
        vectors = self.embedding(x[..., 0].long())  # (…, T) ids → (…, T, E)
        return self.embedding_dropout(vectors)  # type: ignore[no-any-return]

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The last real hidden state of each sequence, (B, D·H).

        `x` is (B, T, F) with batch_first, else (T, B, F). `lengths` (B,) marks the real steps of
        a padded batch; None means every sequence fills all T steps.
        """
        return self.last_hidden(self.inputs(x), lengths)

    def last_hidden(self, z: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Run the recurrent layers on standardised input and pick each sequence's summary."""
        cfg = self.config
        if lengths is None or not cfg.bidirectional:
            output, state = self.rnn(z)  # (B, T, D·H) or (T, B, D·H)
            return self.summarize(output, state, lengths)
        # The backward direction must start at each sequence's own last step, so pack.
        packed = pack_padded_sequence(
            z, lengths.cpu(), batch_first=cfg.batch_first, enforce_sorted=False
        )
        _, state = self.rnn(packed)
        return self.summarize(z, state, lengths)

    def summarize(
        self, output: Tensor, state: Tensor | tuple[Tensor, Tensor], lengths: Tensor | None = None
    ) -> Tensor:
        """Each sequence's summary (B, D·H) from what its run of the recurrent layers returned.

        With `lengths`, a bidirectional `state` must come from a run that started the backward
        direction at each sequence's own last step (a packed run, or `equations.unroll`);
        `output` is read only for a padded unidirectional batch.
        """
        cfg = self.config
        if lengths is not None and not cfg.bidirectional:
            # A padded run plus a gather is exact here and much faster than packing on CPU.
            return gather_last_step(output, lengths, cfg.batch_first)
        # h_n of a packed run is already ordered like the input batch.
        return last_hidden_from_h_n(hidden_of(state), cfg.bidirectional)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits (B, C)."""
        return self.head(self.encode(x, lengths))  # type: ignore[no-any-return]

    @torch.no_grad()
    def predict_proba(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Softmax probabilities over classes, (B, C)."""
        return torch.softmax(self(x, lengths), dim=-1)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
