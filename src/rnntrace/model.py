"""SequenceClassifier: front end? → recurrent layers → summary (last/mean/max/attention) → Linear.

Shape legend used in the comments below:
    B batch, T time steps, F features, H hidden size, D directions (1 or 2),
    L layers × directions (the first dimension of h_n), C classes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntrace.config import ModelConfig
from rnntrace.frontends import FrontEnd
from rnntrace.summaries import AttentionPool, summarize

_CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_rnn(config: ModelConfig) -> nn.RNNBase:
    """The torch recurrent layer a config describes."""
    kwargs: dict[str, Any] = dict(
        input_size=config.n_features,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        batch_first=config.batch_first,
        bidirectional=config.bidirectional,
        # nn.RNN warns when dropout is set on a single layer, where it would do nothing.
        dropout=config.dropout if config.num_layers > 1 else 0.0,
    )
    if config.cell == "rnn":
        kwargs["nonlinearity"] = config.nonlinearity
    return _CELLS[config.cell](**kwargs)


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
    """Classify sequences from a summary of an RNN, LSTM or GRU's outputs (the last real state
    by default), optionally after a front end that shortens long series."""

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
        summary: str = "last",
        front_end: str = "none",
        window: int = 1,
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
            summary=summary,
            front_end=front_end,
            window=window,
        )
        self.standardize = Standardize(n_features)
        cfg = self.config
        # Built only when used, so the lesson's modules (and its initial weights) are unchanged.
        self.front: FrontEnd | None = None
        rnn_config = cfg
        if cfg.front_end != "none":
            self.front = FrontEnd(n_features, cfg.front_end, cfg.window)
            rnn_config = dataclasses.replace(cfg, n_features=self.front.out_features)
        self.rnn = make_rnn(rnn_config)
        self.head = nn.Linear(hidden_size * cfg.num_directions, n_classes)
        self.attention = (
            AttentionPool(hidden_size * cfg.num_directions) if cfg.summary == "attention" else None
        )

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
            summary=config.summary,
            front_end=config.front_end,
            window=config.window,
        )

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The summary of each sequence that feeds the head, (B, D·H).

        `x` is (B, T, F) with batch_first, else (T, B, F). `lengths` (B,) marks the real steps of
        a padded batch; None means every sequence fills all T steps.
        """
        return self.last_hidden(self.standardize(x), lengths)

    def front_input(self, z: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Standardised input through the front end (if any): what the recurrent layer reads,
        in the model's layout, with its lengths in the front end's steps."""
        if self.front is None:
            return z, lengths
        if not self.config.batch_first:
            z = z.transpose(0, 1)  # (B, T, F)
        out = self.front(z, lengths)  # (B, T', F')
        if not self.config.batch_first:
            out = out.transpose(0, 1)  # (T', B, F')
        return out, self.front.lengths(lengths)

    def run_rnn(self, z: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The recurrent layer on its input: the batch-first output (B, T, D·H) and h_n.

        A bidirectional layer on a padded batch is packed, so each sequence's backward direction
        starts at its own last real step; the output is padded back with zeros.
        """
        cfg = self.config
        if lengths is not None and cfg.bidirectional:
            packed = pack_padded_sequence(
                z, lengths.cpu(), batch_first=cfg.batch_first, enforce_sorted=False
            )
            packed_out, state = self.rnn(packed)
            output, _ = pad_packed_sequence(
                packed_out, batch_first=True, total_length=z.size(1 if cfg.batch_first else 0)
            )  # (B, T, D·H)
            return output, hidden_of(state)
        output, state = self.rnn(z)
        if not cfg.batch_first:
            output = output.transpose(0, 1)  # (B, T, D·H)
        return output, hidden_of(state)

    def summarize(self, output: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The mean, max or attention summary of a batch-first output (B, T, D·H) → (B, D·H)."""
        return summarize(self.config.summary, output, lengths, self.attention)

    def last_hidden(self, z: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Run front end and recurrent layers on standardised input; each sequence's summary."""
        cfg = self.config
        z, lengths = self.front_input(z, lengths)
        if cfg.summary != "last":
            output, _ = self.run_rnn(z, lengths)
            return self.summarize(output, lengths)
        if lengths is None:
            _, state = self.rnn(z)
            return last_hidden_from_h_n(hidden_of(state), cfg.bidirectional)
        if not cfg.bidirectional:
            # A padded run plus a gather is exact here and much faster than packing on CPU.
            output, _ = self.rnn(z)  # (B, T, H) or (T, B, H)
            return gather_last_step(output, lengths, cfg.batch_first)
        # The backward direction must start at each sequence's own last step, so pack.
        packed = pack_padded_sequence(
            z, lengths.cpu(), batch_first=cfg.batch_first, enforce_sorted=False
        )
        _, state = self.rnn(packed)
        # h_n of a packed run is already ordered like the input batch.
        return last_hidden_from_h_n(hidden_of(state), bidirectional=True)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits (B, C)."""
        return self.head(self.encode(x, lengths))  # type: ignore[no-any-return]

    @torch.no_grad()
    def predict_proba(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Softmax probabilities over classes, (B, C)."""
        return torch.softmax(self(x, lengths), dim=-1)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
