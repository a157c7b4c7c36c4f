"""SequenceClassifier: front end? → recurrent layers → summary (last/mean/max/attention) → Linear.

Text enters as token ids (B, T, 1) and an Embedding (E wide) turns them into vectors before
the recurrent layers; numeric inputs are standardised instead.

Shape legend used in the comments below:
    B batch, T time steps, F features, H hidden size, D directions (1 or 2),
    L layers × directions (the first dimension of h_n), C classes, K regression targets.
    An LSTM with proj_size P returns h (output, h_n) P wide instead of H; c_n stays H wide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntrace.config.cells import CellSpec
from rnntrace.config.settings import ModelConfig
from rnntrace.model.frontends import FrontEnd
from rnntrace.model.summaries import AttentionPool, summarize

# Kept importable from here, where they lived before summaries.py took the summary rules.
from rnntrace.model.summaries import gather_last_step as gather_last_step
from rnntrace.model.summaries import hidden_of as hidden_of
from rnntrace.model.summaries import last_hidden_from_h_n as last_hidden_from_h_n


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
        proj_size: int = 0,
        vocab_size: int = 0,
        embedding_dim: int = 0,
        embedding_dropout: float = 0.0,
        summary: str = "last",
        front_end: str = "none",
        window: int = 1,
        resample: int = 0,
        task: str = "classify",
        n_targets: int = 1,
        smoothing: float = 0.0,
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
            summary=summary,
            front_end=front_end,
            window=window,
            resample=resample,
            task=task,
            n_targets=n_targets,
            smoothing=smoothing,
        )
        cfg = self.config
        self.standardize = Standardize(n_features)
        # Id 0 is <pad>: padding_idx keeps its vector zero and out of the gradient.
        self.embedding = (
            nn.Embedding(cfg.vocab_size, cfg.embedding_dim, padding_idx=0)
            if cfg.vocab_size else None
        )
        # Active only in train(): an eval-mode model reads every embedding value as it is.
        self.embedding_dropout = nn.Dropout(cfg.embedding_dropout)
        # Built only when used, so the lesson's modules (and its initial weights) are unchanged.
        self.front: FrontEnd | None = None
        rnn_config = cfg
        if cfg.front_end_in_use != "none" or cfg.resample:
            self.front = FrontEnd(cfg.input_size, cfg.front_end_in_use, cfg.window, cfg.resample)
            # The layer reads the front end's features, whatever came before it.
            rnn_config = dataclasses.replace(
                cfg, n_features=self.front.out_features, vocab_size=0, embedding_dim=0,
                embedding_dropout=0.0,
            )
        self.rnn = make_rnn(rnn_config)
        # The head reads one summary of the top layer's h per direction: D·H, or D·P when
        # projected (every summary keeps the width of h).
        width = cfg.state_size * cfg.num_directions
        self.head = nn.Linear(width, cfg.out_width)  # C classes, or K standardised targets
        self.attention = AttentionPool(width) if cfg.summary == "attention" else None
        # Regression: the target's training mean and std, saved with the weights so a saved
        # model reports its predictions in the target's own units. Built only for regression,
        # so a classifier's state dict is as it was.
        self.target_scale = Standardize(cfg.n_targets) if cfg.task_spec.numeric else None

    @classmethod
    def from_config(cls, config: ModelConfig, *, seed: int | None = None) -> SequenceClassifier:
        """The model `config` describes; with `seed`, the initial weights every run with that
        seed starts from (the one place they are seeded: a run, a candidate, a refit)."""
        if seed is not None:
            torch.manual_seed(seed)
        # The constructor takes exactly ModelConfig's fields, by the same names.
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(config)})

    def inputs(self, x: Tensor) -> Tensor:
        """What the recurrent layers read: embedded token ids (…, E), or standardised x (…, F)."""
        if self.embedding is None:
            return self.standardize(x)  # type: ignore[no-any-return]
        vectors = self.embedding(x[..., 0].long())  # (…, T) ids → (…, T, E)
        return self.embedding_dropout(vectors)  # type: ignore[no-any-return]

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The summary of each sequence that feeds the head, (B, D·H).

        `x` is (B, T, F) with batch_first, else (T, B, F). `lengths` (B,) marks the real steps of
        a padded batch; None means every sequence fills all T steps.
        """
        return self.last_hidden(self.inputs(x), lengths)

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

    def last_hidden(self, z: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Run front end and recurrent layers on standardised input; each sequence's summary."""
        cfg = self.config
        z, lengths = self.front_input(z, lengths)
        if lengths is None or not cfg.bidirectional:
            output, state = self.rnn(z)  # (B, T, D·H) or (T, B, D·H)
            return self.summarize(output, state, lengths)
        # The backward direction must start at each sequence's own last step, so pack.
        packed = pack_padded_sequence(
            z, lengths.cpu(), batch_first=cfg.batch_first, enforce_sorted=False
        )
        packed_out, state = self.rnn(packed)
        if cfg.summary == "last":  # read from h_n alone
            return self.summarize(z, state, lengths)
        steps = z.size(1 if cfg.batch_first else 0)
        output, _ = pad_packed_sequence(packed_out, cfg.batch_first, total_length=steps)
        return self.summarize(output, state, lengths)

    def summarize(
        self, output: Tensor, state: Tensor | tuple[Tensor, Tensor], lengths: Tensor | None = None
    ) -> Tensor:
        """Each sequence's summary (B, D·H) from what its run of the recurrent layers returned.

        `output` is in the model's layout. With `lengths`, a bidirectional run must have started
        the backward direction at each sequence's own last step (a packed run, or
        `equations.unroll`). The rule for each summary is in summaries.py.
        """
        return summarize(self.config, output, state, lengths, self.attention)

    def step_outputs(self, z: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The top layer's output at every step of standardised input, in the model's layout.

        Steps past a sequence's length hold whatever the layer made of the padding (zeros when
        packed); a per-step loss skips them. A bidirectional layer is packed so that the
        backward direction starts at each sequence's own last real step:

            real  x0 x1 x2 · ·      forward  reads x0 → x2 (the padding only after x2)
                                    backward reads x2 → x0, never a padding step
        """
        cfg = self.config
        if lengths is None or not cfg.bidirectional:
            output, _ = self.rnn(z)  # (B, T, D·H) or (T, B, D·H)
            return output  # type: ignore[no-any-return]
        steps = z.size(1 if cfg.batch_first else 0)
        packed = pack_padded_sequence(
            z, lengths.cpu(), batch_first=cfg.batch_first, enforce_sorted=False
        )
        packed_out, _ = self.rnn(packed)
        output, _ = pad_packed_sequence(packed_out, cfg.batch_first, total_length=steps)
        return output  # (B, T, D·H) or (T, B, D·H), zeros past each length

    def window_logits(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """A per-step head's logits at every recurrent step, (B, T', C) or (T', B, C): one
        per window of `config.window` input steps (T' = ceil(T / window); T' = T for 1)."""
        z, rnn_lengths = self.front_input(self.inputs(x), lengths)  # (B, T', F')
        return self.head(self.step_outputs(z, rnn_lengths))  # type: ignore[no-any-return]

    def to_steps(self, logits: Tensor, steps: int) -> Tensor:
        """Each window's logits given to the input steps it read: (B, T', C) → (B, T, C).

        The standard temporal down- and up-sampling of action segmentation: the recurrent
        layer runs over T/k windows, and every one of a window's k steps takes its logits.
        The last window was completed with zeros (frontends.to_windows); its copies past a
        sequence's length are padding, which no loss or score reads (labels PADDING_LABEL):

            k = 3, length 7   x0 x1 x2 | x3 x4 x5 | x6 ·  ·    3 windows → logits w0 w1 w2
                              w0 w0 w0   w1 w1 w1   w2 w2 w2   repeated, cropped to T
        """
        k = self.config.window
        if k == 1:
            return logits
        time_dim = 1 if self.config.batch_first else 0
        repeated = logits.repeat_interleave(k, dim=time_dim)  # (B, T'·k, C)
        return repeated.narrow(time_dim, 0, steps)  # (B, T, C)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits (B, C); standardised targets (B, K) for regression; logits per step
        (B, T, C) for a per-step task ((T, B, C) when not batch_first), each window's
        repeated to its steps when the front end reads windows (to_steps)."""
        if self.config.task_spec.per_step:
            steps = x.size(1 if self.config.batch_first else 0)
            return self.to_steps(self.window_logits(x, lengths), steps)
        return self.head(self.encode(x, lengths))  # type: ignore[no-any-return]

    @torch.no_grad()
    def predict_values(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Regression: the predicted targets in their own units, (B, K)."""
        if self.target_scale is None:
            raise TypeError("predict_values is for a regression model (task='regress')")
        scale = self.target_scale
        return self(x, lengths) * scale.std + scale.mean  # type: ignore[no-any-return]  # (B, K)

    @torch.no_grad()
    def predict_proba(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Softmax probabilities over classes, (B, C)."""
        return torch.softmax(self(x, lengths), dim=-1)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
