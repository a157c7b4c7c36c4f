"""One sequence through every layer: inputs, hidden state at each step, logits, probabilities."""

from __future__ import annotations

import torch

from rnntrace.data.sequences import SequenceSet
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.modes import eval_mode
from rnntrace.model.summaries import masked_max
from rnntrace.records import PredictionTrace, Recomputation, StepRecord, SummaryTrace
from rnntrace.tracing.equations import recompute
from rnntrace.tracing.sample import to_list
from rnntrace.tracing.steps import explain_steps


def _sequence(model: SequenceClassifier, data: SequenceSet, index: int) -> torch.Tensor:
    """Sequence `index` as a tensor of its own, on the model's device: (T, F).

    The values may be a read-only memory map (a .npy opened with mmap_mode='r'), which
    torch.from_numpy would share and warn about; copying this one short sequence is cheap.
    """
    device = next(model.parameters()).device
    return torch.tensor(data.sequence(index), device=device)


@torch.no_grad()
def trace_prediction(model: SequenceClassifier, data: SequenceSet, index: int) -> PredictionTrace:
    """Follow sequence `index` of `data` (alone, so no padding is involved) through the model."""
    cfg = model.config
    with eval_mode(model):
        seq = _sequence(model, data, index)  # (T, F)
        x = seq.unsqueeze(0) if cfg.batch_first else seq.unsqueeze(1)  # (1, T, F) / (T, 1, F)
        z = model.inputs(x)  # standardised values, or embedded token ids
        rnn_in, _ = model.front_input(z)  # (1, T', F') / (T', 1, F') after any front end
        output, _ = model.rnn(rnn_in)  # one whole sequence: no padding, no packing
        if not cfg.batch_first:
            output = output.transpose(0, 1)
        steps = output[0]  # (T', D·H); `output` is (1, T', D·H) from here
        last = model.last_hidden(z)  # (1, D·H)
        logits = model.head(last)  # (1, C)
        probs = torch.softmax(logits, dim=-1)  # (1, C)
        return PredictionTrace(
            sequence_id=data.ids[index],
            length=int(data.lengths[index]),
            feature_names=list(data.feature_names),
            inputs=to_list(seq),
            hidden_states=to_list(steps),
            last_hidden=to_list(last[0]),
            logits=to_list(logits[0]),
            probabilities=to_list(probs[0]),
            class_names=list(data.class_names),
            predicted=int(probs[0].argmax()),
            true_class=int(data.labels[index]),
            summary=summary_trace(model, output),
        )


def summary_trace(model: SequenceClassifier, output: torch.Tensor) -> SummaryTrace | None:
    """How the summary read one sequence's outputs (1, T, D·H); None for the last state."""
    kind = model.config.summary
    if kind == "last":
        return None
    mask = torch.ones(output.shape[:2], dtype=torch.bool, device=output.device)  # (1, T)
    record = SummaryTrace(kind=kind, steps=int(output.size(1)))
    if kind == "max":
        record.argmax_steps = [int(t) for t in masked_max(output, mask)[1][0]]
    elif kind == "attention" and model.attention is not None:
        record.weights = to_list(model.attention.weights(output, mask)[0])
    return record


@torch.no_grad()
def trace_steps(
    model: SequenceClassifier, data: SequenceSet, index: int
) -> tuple[list[StepRecord], Recomputation]:
    """Sequence `index` step by step through the first layer, and the whole layer recomputed.

    The recurrent layer reads standardised inputs (or a text's embedding vectors), so the x_t
    in the equations are those.
    """
    with eval_mode(model):  # the front end as the model predicts, BatchNorm left untouched
        z = model.inputs(_sequence(model, data, index))  # (T, F), or (T, E) for text
        if model.front is not None:  # the recurrent layer reads the front end's steps
            z = model.front(z.unsqueeze(0))[0]  # (T', F')
    return explain_steps(model.rnn, z), recompute(model.rnn, z)
