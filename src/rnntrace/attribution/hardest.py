"""The hardest cases: the held-out sequences with the largest loss, each explained."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnntrace.attribution.capture import batches, catch
from rnntrace.attribution.sequences import attribute_sequences
from rnntrace.attribution.terms import unit_terms
from rnntrace.data.sequences import SequenceSet
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import PredictionTrace
from rnntrace.records.explanation import HardCase
from rnntrace.tracing.prediction import trace_prediction


def losses(model: nn.Module, data: SequenceSet) -> np.ndarray:
    """Each sequence's cross-entropy loss, (N,), through the model's own forward."""
    out = []
    for index in batches(len(data)):
        logits = catch(model, data, index).logits.double()  # (B, C)
        labels = torch.from_numpy(data.labels[index])
        out.append(torch.nn.functional.cross_entropy(logits, labels, reduction="none").numpy())
    return np.concatenate(out)


def prediction_of(model: nn.Module, data: SequenceSet, index: int) -> PredictionTrace:
    """One sequence's prediction trace: its inputs, the top layer's states, the probabilities.

    An rnntrace model is traced as the run traced its own sequence, whatever its summary. For
    any other model `last_hidden` is the top layer's output at the last real step (forward
    units) and at step 1 (backward units): what a last-state summary reads.
    """
    if isinstance(model, SequenceClassifier):
        return trace_prediction(model, data, index)
    caught = catch(model, data, np.array([index]))
    n = int(caught.lengths[0])
    states = caught.top_output[0, :n].double()  # (T, D·H)
    width = states.shape[1]
    half = width // 2 if caught.top.bidirectional else width
    last = torch.cat([states[n - 1, :half], states[0, half:]])  # (D·H,)
    probs = torch.softmax(caught.logits[0].double(), dim=-1)
    return PredictionTrace(
        sequence_id=data.ids[index],
        length=n,
        feature_names=list(data.feature_names),
        inputs=np.asarray(data.sequence(index), dtype=np.float64).round(6).tolist(),
        hidden_states=states.numpy().round(6).tolist(),
        last_hidden=last.numpy().round(6).tolist(),
        logits=caught.logits[0].double().numpy().round(6).tolist(),
        probabilities=probs.numpy().round(6).tolist(),
        class_names=list(data.class_names),
        predicted=int(probs.argmax()),
        true_class=int(data.labels[index]),
    )


def hardest_cases(model: nn.Module, data: SequenceSet, k: int = 5) -> list[HardCase]:
    """The `k` sequences of `data` with the largest loss, largest first, each attributed to the
    class the model predicted (what made it choose wrongly)."""
    if k <= 0:
        return []
    loss = losses(model, data)
    top = [int(i) for i in np.argsort(-loss, kind="stable")[:k]]
    attributions = attribute_sequences(model, data, top)
    return [
        HardCase(loss=float(loss[i]), prediction=prediction_of(model, data, i), attribution=a,
                 terms=unit_terms(model, data, i))
        for i, a in zip(top, attributions, strict=True)
    ]
