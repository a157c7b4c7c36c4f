"""The stage-by-stage data flow of the classifier pipeline, with real shapes and values."""

from __future__ import annotations

import torch
from torch import Tensor

from rnntrace._deprecated import renamed_getattr
from rnntrace.config.settings import front_end_name
from rnntrace.model.classifier import SequenceClassifier, hidden_of
from rnntrace.model.modes import eval_mode
from rnntrace.model.summaries import describe
from rnntrace.records import Stage
from rnntrace.tracing.sample import sample_values
from rnntrace.tracing.tokens import embedding_stage


def layer_name(model: SequenceClassifier) -> str:
    cfg = model.config
    kind = cfg.spec.class_name
    extras = [f"{cfg.num_layers} layers"] if cfg.num_layers > 1 else []
    if cfg.bidirectional:
        extras.append("bidirectional")
    if cfg.spec.has_nonlinearity:
        extras.append(cfg.nonlinearity)
    if cfg.proj_size:
        extras.append(f"proj_size={cfg.proj_size}")
    sep = ", " if extras else ""
    # input_size, not n_features: a front end changes what the recurrent layer reads.
    return f"{kind}({model.rnn.input_size} → {cfg.hidden_size}{sep}{', '.join(extras)})"


def shape(t: Tensor) -> list[int]:
    return [int(d) for d in t.shape]


@torch.no_grad()
def trace_stages(
    model: SequenceClassifier, x: Tensor, lengths: Tensor | None = None
) -> list[Stage]:
    """Run `x` through the pipeline stage by stage and record what each stage takes and gives.

    `x` is in the model's layout: (B, T, F) with batch_first, else (T, B, F).
    """
    cfg = model.config
    with eval_mode(model):
        b_dim = 0 if cfg.batch_first else 1
        n, t = x.shape[b_dim], x.shape[1 - b_dim]
        layout = (
            f"{n} sequences × {t} steps × {cfg.n_features} features (batch_first=True)"
            if cfg.batch_first
            else f"{t} steps × {n} sequences × {cfg.n_features} features (batch_first=False)"
        )
        stages = [Stage("Input", shape(x), shape(x), layout, sample_values(_first(x, b_dim)))]

        z = model.inputs(x)
        stages.append(
            embedding_stage(model, x, z, b_dim) if model.embedding is not None else Stage(
                "Standardize",
                shape(x),
                shape(z),
                "(x − mean) / std per feature, with statistics from the training split",
                sample_values(_first(z, b_dim)),
            )
        )

        standardized, input_lengths = z, lengths
        if model.front is not None:
            front, rnn_lengths = model.front_input(z, lengths)  # (B, T', F')
            stages.append(Stage(
                f"Front end: {front_end_name(model.config)}", shape(z), shape(front),
                model.front.describe(cfg.n_features), sample_values(_first(front, b_dim)),
            ))
            z, lengths = front, rnn_lengths
        output, state = model.rnn(z)  # output (B, T, D·H); h_n (L, B, H)
        h_n = hidden_of(state)
        extra = {"h_n": shape(h_n)}
        if isinstance(state, tuple):
            extra["c_n"] = shape(state[1])
        equation = cfg.spec.summary(cfg.nonlinearity, cfg.proj_size)
        stages.append(
            Stage(
                f"RNN layer: {layer_name(model)}",
                shape(z),
                shape(output),
                f"reads each sequence one step at a time, {equation}; returns the hidden state at "
                f"every step (output) and after the last step (h_n {tuple(h_n.shape)})",
                sample_values(_first(output, b_dim)),
                extra,
            )
        )

        # The model's own summary rule, from the standardised input (it runs its front end).
        last = model.last_hidden(standardized, input_lengths)  # (B, D·H)
        if cfg.summary == "last":
            name, rule, extra = "Last hidden state", _last_rule(model, lengths), {}
        else:
            name, rule = f"Summary: {cfg.summary}", describe(cfg.summary, cfg.bidirectional)
            steps = [shape(output)[b_dim], shape(output)[1 - b_dim]]
            extra = {"attention weights": steps} if model.attention is not None else {}
        stages.append(Stage(name, shape(output), shape(last), rule, sample_values(last), extra))

        logits = model.head(last)  # (B, C)
        n_params = sum(p.numel() for p in model.head.parameters())
        stages.append(
            Stage(
                "Linear",
                shape(last),
                shape(logits),
                f"logits = W·h + b: one score per class ({model.head.in_features}×"
                f"{model.head.out_features} weights + {model.head.out_features} biases = "
                f"{n_params} parameters)",
                sample_values(logits),
            )
        )

        probs = torch.softmax(logits, dim=-1)  # (B, C)
        stages.append(
            Stage(
                "Softmax",
                shape(logits),
                shape(probs),
                "exp(logit) / Σ exp(logits): probabilities that sum to 1; the largest is the "
                "predicted class",
                sample_values(probs),
            )
        )
        return stages


def _first(t: Tensor, b_dim: int) -> Tensor:
    """The first sequence of a batch, (T, ·)."""
    return t.select(b_dim, 0)


def _last_rule(model: SequenceClassifier, lengths: Tensor | None) -> str:
    cfg = model.config
    if cfg.bidirectional:
        rule = (
            "forward direction's state after the last step joined with the backward "
            "direction's state at step 0 (h_n[-2] and h_n[-1]); output[:, -1] would miss the "
            "backward summary"
        )
        if lengths is not None:
            rule += "; sequences are packed so each direction starts at its real end"
        return rule
    if lengths is not None:
        return (
            "each sequence's output at its own last real step (lengths − 1); the final column "
            "is padding for shorter sequences"
        )
    return (
        "h_n[-1]: the top layer's hidden state after the last step (equal to output[:, -1] "
        "here), a summary of the whole sequence"
    )


__getattr__ = renamed_getattr(__name__, {"data_flow": "trace_stages"}, globals())
