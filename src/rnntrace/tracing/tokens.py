"""Text in the trace: the Embedding stage, and held-out texts coloured letter by letter.

A unit is chosen (the top layer's unit whose final activation best separates the classes) and
each text's tokens are shown with that unit's h_t at each step, as in Karpathy's "The
Unreasonable Effectiveness of Recurrent Neural Networks". An attribution method, where one is
given (attribution.embedding), adds each token's share of the prediction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from rnntrace.data.sequences import SequenceSet
from rnntrace.data.vocabulary import PAD_ID, UNK_ID, Vocabulary
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.modes import eval_mode
from rnntrace.records import Stage, TokenExample, TokenTrace
from rnntrace.tracing.sample import sample_values

# (model, token ids (1, T, 1) in batch_first layout, target class) → one score per step (T,).
# The hook for an attribution method such as Integrated Gradients over the embedding vectors.
TokenAttribution = Callable[[SequenceClassifier, Tensor, int], list[float]]
EXAMPLES = 12  # texts shown in the report: enough to see a pattern, few enough to read


def embedding_stage(model: SequenceClassifier, x: Tensor, z: Tensor, b_dim: int) -> Stage:
    """The data-flow stage that looks each token id up in the embedding table."""
    cfg = model.config
    ids = x.select(b_dim, 0)[..., 0].long().tolist()  # (T,) the first sequence's ids
    real = len(ids)
    while real > 1 and ids[real - 1] == PAD_ID:
        real -= 1  # the padding after the last real token
    shown = f"{ids[:min(real, 12)]}{' …' if real > 12 else ''}" + (
        f" then {len(ids) - real} padding ids {PAD_ID}" if real < len(ids) else "")
    n_params = cfg.vocab_size * cfg.embedding_dim
    return Stage(
        "Embedding",
        [int(d) for d in x.shape],
        [int(d) for d in z.shape],
        f"token ids → vectors: nn.Embedding({cfg.vocab_size}, {cfg.embedding_dim}, "
        f"padding_idx={PAD_ID}) picks row `id` of a {cfg.vocab_size}×{cfg.embedding_dim} table "
        f"({n_params} parameters); the first sequence's ids are {shown}; id {PAD_ID} "
        "(padding) is the zero row, and no padding step is ever classified",
        sample_values(z.select(b_dim, 0)),
        {"weight": [cfg.vocab_size, cfg.embedding_dim]},
    )


def _top_outputs(model: SequenceClassifier, data: SequenceSet) -> tuple[Tensor, Tensor]:
    """Each sequence run alone: the top layer's output at every step (N, T_max, D·H), and the
    class probabilities (N, C)."""
    cfg = model.config
    device = next(model.parameters()).device
    outputs = torch.zeros(len(data), data.max_length, cfg.state_size * cfg.num_directions)
    probs = torch.zeros(len(data), cfg.n_classes)
    for i in range(len(data)):
        x = torch.from_numpy(np.ascontiguousarray(data.sequence(i)))[None].to(device)  # (1, T, 1)
        if not cfg.batch_first:
            x = x.transpose(0, 1)  # (T, 1, 1)
        out, _ = model.rnn(model.inputs(x))
        out = out if cfg.batch_first else out.transpose(0, 1)  # (1, T, D·H)
        outputs[i, : out.shape[1]] = out[0].cpu()
        probs[i] = model.predict_proba(x)[0].cpu()
    return outputs, probs


def choose_unit(last: Tensor, labels: Tensor) -> tuple[int, str]:
    """The unit whose final activation separates the classes best (between / within variance)."""
    grand = last.mean(0)
    between = torch.zeros_like(grand)
    within = torch.zeros_like(grand)
    for c in torch.unique(labels):
        group = last[labels == c]
        between += len(group) * (group.mean(0) - grand) ** 2
        within += ((group - group.mean(0)) ** 2).sum(0)
    ratio = between / within.clamp_min(1e-8)
    unit = int(ratio.argmax())
    return unit, (f"unit {unit} of the top layer: its last activation separates the classes "
                  f"best (between/within variance {float(ratio[unit]):.2f})")


@torch.no_grad()
def _trace(model: SequenceClassifier, data: SequenceSet, n: int) -> tuple[Tensor, Tensor, Tensor]:
    sample = data.subset(np.arange(min(len(data), max(n, 256))))
    outputs, probs = _top_outputs(model, sample)  # (N, T, D·H), (N, C)
    lengths = torch.from_numpy(sample.lengths)
    # The forward direction's state after each one's last real step: (N, D·H)
    last = outputs[torch.arange(len(sample)), lengths - 1]
    return outputs, last, probs


def spread_over_classes(labels: np.ndarray, n: int) -> list[int]:
    """Up to `n` indices, one of each class in turn, each class's in their order."""
    queues = [list(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    picked: list[int] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(int(queue.pop(0)))
    return picked


def token_trace(
    model: SequenceClassifier,
    data: SequenceSet,
    vocabulary: Vocabulary,
    n: int = EXAMPLES,
    attribute: TokenAttribution | None = None,
    held_out: bool = True,
) -> TokenTrace:
    """`n` texts of `data` in tokens, coloured by the most telling unit.

    The texts are taken class by class in turn (each class's first texts, in file order), so
    the unit is chosen, and the page shows, more than the class that happens to come first.
    """
    cfg = model.config
    data = data.subset(spread_over_classes(data.labels, n))
    with eval_mode(model):
        outputs, last, probs = _trace(model, data, n)
        unit, reason = choose_unit(last, torch.from_numpy(data.labels[: len(last)]))
        examples = []
        for i in range(min(n, len(data))):
            length = int(data.lengths[i])
            ids = [int(v) for v in data.sequence(i)[:, 0]]
            predicted = int(probs[i].argmax())
            attribution = None
            if attribute is not None:
                x = torch.tensor(ids, dtype=torch.float32).view(1, -1, 1)
                attribution = [round(float(v), 6) for v in attribute(model, x, predicted)]
            examples.append(TokenExample(
                text=data.ids[i],
                tokens=vocabulary.decode(ids),
                predicted=data.class_names[predicted],
                probability=round(float(probs[i, predicted]), 6),
                true_label=data.class_names[int(data.labels[i])] if data.class_names else None,
                activations=[round(float(v), 6) for v in outputs[i, :length, unit]],
                attribution=attribution,
            ))
        return TokenTrace(cfg.vocab_size, cfg.embedding_dim, PAD_ID, UNK_ID, unit, reason,
                          examples, held_out=held_out)
