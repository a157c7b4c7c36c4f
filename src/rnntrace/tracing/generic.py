"""`rt.trace(model, x)`: the whole Trace of any nn.Module that contains recurrent layers.

What each part follows:

    module calls, findings    the whole batch, every submodule call (hooks)
    layers                    every recurrent call recomputed from its weights, the whole batch
    steps                     sequence 0 through the first recurrent layer, step by step
    prediction                sequence 0 from the first recurrent layer's input to the scores
    dynamics                  the last recurrent layer over the batch (when there are scores)

A Trace of a user's model has no `config` (rnntrace did not build it) and no stages (those are
the stages of rnntrace's own classifier); the module calls and layers describe the model instead.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnntrace.model.modes import eval_mode
from rnntrace.records import Dynamics, History, PredictionTrace, RecurrentLayer, Trace
from rnntrace.tracing.capture import Capture, RnnCall, capture
from rnntrace.tracing.dynamics import SATURATION, saturated_share
from rnntrace.tracing.equations import activation_name, cell_name, recompute, unroll
from rnntrace.tracing.explain import reading
from rnntrace.tracing.findings import find_mistakes
from rnntrace.tracing.hooks import trace_modules
from rnntrace.tracing.sample import to_list
from rnntrace.tracing.steps import explain_steps


def trace(
    model: nn.Module,
    *inputs: Any,
    labels: Tensor | None = None,
    class_names: list[str] | None = None,
    feature_names: list[str] | None = None,
    history: History | None = None,
    tolerance: float = 1e-5,
    **kwargs: Any,
) -> Trace:
    """Trace `model(*inputs, **kwargs)`: calls, recomputed layers, one prediction, findings.

    `labels` (B,) are the classes of the batch, when known: the prediction shows the true class
    and the dynamics use them for the loss (else the model's own predictions). `history` (from
    `rt.Recorder`) fills the training section.
    """
    calls = trace_modules(model, *inputs, **kwargs)  # also the findings of explain.checked
    seen = capture(model, inputs, kwargs)
    calls.findings += find_mistakes(seen, labels)
    layers = [
        RecurrentLayer(
            name=c.name,
            label=c.label.split(" = ", 1)[-1],
            reading=_reading(c),
            recomputation=recompute(c.rnn, c.x, c.hx, c.lengths, tolerance),
            proj_size=int(c.rnn.proj_size),
        )
        for c in seen.rnn_calls
    ]
    first = seen.rnn_calls[0]
    steps = explain_steps(first.rnn, first.sequence(first.x), first.state_of(0))
    prediction = _prediction(seen, labels, class_names, feature_names)
    dynamics = None
    scores = seen.scores
    if scores is not None:
        targets = labels if labels is not None else scores.argmax(1)
        dynamics = _dynamics(model, seen.rnn_calls[-1], inputs, kwargs, targets, scores)
    records = history.records if history is not None else []
    return Trace(
        config=None,
        stages=[],
        training=records,
        prediction=prediction,
        insight=_insight(calls.model_type, layers, len(calls.findings)),
        module_calls=calls,
        steps=steps,
        recomputation=layers[0].recomputation,
        dynamics=dynamics,
        layers=layers,
    )


def _reading(call: RnnCall) -> str:
    if call.packed and call.lengths is not None:
        return (
            f"packed: {call.batch} sequences of lengths "
            f"{', '.join(str(int(n)) for n in call.lengths)} × {call.x.shape[-1]} features"
        )
    return reading(call.rnn, [int(d) for d in call.x.shape])


def _prediction(
    seen: Capture, labels: Tensor | None, class_names: list[str] | None,
    feature_names: list[str] | None,
) -> PredictionTrace | None:
    """Sequence 0 from the first recurrent layer's input to the model's class scores."""
    scores = seen.scores
    if scores is None:
        return None
    first, top = seen.rnn_calls[0], seen.rnn_calls[-1]
    x0 = first.sequence(first.x)  # (T, F)
    n_classes = int(scores.shape[1])
    names = class_names or [str(i) for i in range(n_classes)]
    features = feature_names or [f"x{i}" for i in range(int(x0.shape[-1]))]
    head_input = _head_input(seen, top)
    probs = torch.softmax(scores[0].double(), dim=0)
    return PredictionTrace(
        sequence_id="0",
        length=int(x0.shape[0]),
        feature_names=features,
        inputs=to_list(x0),
        hidden_states=to_list(top.sequence(top.output)),
        last_hidden=to_list(head_input) if head_input is not None else [],
        logits=to_list(scores[0]),
        probabilities=to_list(probs),
        class_names=names,
        predicted=int(probs.argmax()),
        true_class=int(labels[0]) if labels is not None else None,
    )


def _head_input(seen: Capture, top: RnnCall) -> Tensor | None:
    """Row 0 of what the first module after the last recurrent layer received, (width,)."""
    batch = top.batch
    for r in seen.received_after(top):
        for t in r.tensors:
            if t.dim() == 2 and t.shape[0] == batch and t.is_floating_point():
                return t[0]
    return None


def _dynamics(
    model: nn.Module, call: RnnCall, inputs: tuple[Any, ...], kwargs: dict[str, Any],
    targets: Tensor, reference: Tensor,
) -> Dynamics | None:
    """Saturation and ‖∂loss/∂h_t‖ of the last recurrent layer, over the batch.

    The layer's fused output hides its per-step states from autograd, so a forward hook swaps
    in the same layer unrolled by hand (equal to PyTorch's to ~1e-7) for this one pass.
    """
    rnn = call.rnn
    if not call.batched:
        return None
    kept: list[Any] = []

    def swap(_m: nn.Module, _args: Any, _kw: Any, result: Any) -> Any:
        if kept:  # a layer called twice: only the call traced is unrolled
            return result
        unrolled = unroll(rnn, call.x, call.hx, call.lengths)
        kept.append(unrolled)
        output: Any = unrolled.output
        if call.packed and call.lengths is not None:
            output = pack_padded_sequence(
                output, call.lengths.cpu(), batch_first=rnn.batch_first, enforce_sorted=False
            )
        state = unrolled.h_n if unrolled.c_n is None else (unrolled.h_n, unrolled.c_n)
        return output, state

    handle = rnn.register_forward_hook(swap, with_kwargs=True)
    try:
        with eval_mode(model), torch.enable_grad():
            result = model(*inputs, **kwargs)
            logits = result[0] if isinstance(result, tuple | list) else result
            loss = F.cross_entropy(logits, targets)
            top = kept[0].states[-1]  # direction → step → (B, R)
            grads = torch.autograd.grad(loss, [h for d in top for h in d], allow_unused=True)
    finally:
        handle.remove()
    steps, batch = call.steps, call.batch
    live = torch.ones(steps, batch, dtype=torch.bool)
    if call.lengths is not None:
        live = torch.arange(steps).view(-1, 1) < call.lengths.view(1, -1).cpu()  # (T, B)
    grad_norm = [
        [
            0.0 if g is None else float((g * live[t].to(g.device).unsqueeze(1)).norm())
            for t, g in enumerate(grads[d * steps : (d + 1) * steps])
        ]
        for d in range(len(top))
    ]
    relu = cell_name(rnn) == "rnn" and activation_name(rnn) == "relu"
    return Dynamics(
        cell=cell_name(rnn),
        measure="h = 0 (ReLU)" if relu else f"|h| > {SATURATION}",
        steps=steps,
        saturated=[saturated_share(top, t, live[t], relu) for t in range(steps)],
        grad_norm=grad_norm,
        loss=float(loss.detach()),
        # the pass through the unrolled layer vs the model's own scores: checks the swap
        logits_diff=float((logits.detach() - reference).abs().max()),
    )


def _insight(model_type: str, layers: list[RecurrentLayer], n_findings: int) -> str:
    worst = max(layer.recomputation.max_abs_diff for layer in layers)
    ok = all(layer.recomputation.matches for layer in layers)
    verdict = "all match" if ok else "NOT all match"
    found = (
        f"{n_findings} finding{'s' if n_findings != 1 else ''} below: each is a way the model "
        "may not read its data as meant"
        if n_findings else "no silent mistake found in how the layers are fed"
    )
    return (
        f"{model_type}: {len(layers)} recurrent call{'s' if len(layers) != 1 else ''} recomputed "
        f"by hand from their own weights; {verdict} PyTorch (largest difference {worst:.1e}). "
        f"{found}."
    )
