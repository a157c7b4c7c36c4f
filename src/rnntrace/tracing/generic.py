"""`rt.trace(model, x)`: the whole Trace of any nn.Module that contains recurrent layers or cells.

What each part follows:

    module calls, findings    the whole batch, every submodule call (hooks)
    layers                    every recurrent call recomputed from its weights, the whole batch;
                              a cell (or a fused layer fed one step at a time) called in a
                              Python loop is one layer of as many steps as it had calls
    steps                     sequence 0 through the first recurrence, step by step
    prediction                sequence 0 from the first recurrence's input to the model's output,
                              read through its head (heads.py)
    dynamics                  the last recurrence over the batch (when the head has classes)

The module calls, the layers and the prediction come from one forward pass; the dynamics pass
replays its random draws (passes.py). A Trace of a user's model has no `config` (rnntrace did not
build it) and no stages (those are the stages of rnntrace's own classifier); the module calls and
layers describe the model instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.errors import ConfigError
from rnntrace.records import (
    History,
    PredictionTrace,
    RecurrentLayer,
    StepRecord,
    Trace,
)
from rnntrace.tracing.capture import Capture, RnnCall, capturing, refuse_without_recurrence
from rnntrace.tracing.decoding import decoder_trace
from rnntrace.tracing.equations import recompute
from rnntrace.tracing.explain import reading
from rnntrace.tracing.findings import find_mistakes
from rnntrace.tracing.heads import HEADS, Head, read_head
from rnntrace.tracing.hooks import recording
from rnntrace.tracing.linear_loops import find_linear_loops, linear_loop_layer
from rnntrace.tracing.loops import Loop, find_loops, loop_findings, loop_layer, loop_steps
from rnntrace.tracing.model_dynamics import layer_dynamics, loop_dynamics
from rnntrace.tracing.passes import Draws, check_mode, determinism_note, mode_note, traced_mode
from rnntrace.tracing.sample import to_list
from rnntrace.tracing.steps import explain_steps


@dataclass
class _Recurrence:
    """One traced recurrence (a fused call, or a loop), as the prediction and steps read it."""

    index: int  # its first call among the module calls
    last: int  # its last call
    layer: RecurrentLayer
    batch: int
    steps: int
    batch_first: bool
    inputs: Callable[[], Tensor]  # sequence 0's x_t, (T, F)
    hidden: Callable[[], Tensor]  # sequence 0's h_t (top layer), (T, R)
    step_records: Callable[[], list[StepRecord]]
    call: RnnCall | None = None
    loop: Loop | None = None


def trace(
    model: nn.Module,
    *inputs: Any,
    labels: Tensor | None = None,
    class_names: list[str] | None = None,
    feature_names: list[str] | None = None,
    history: History | None = None,
    tolerance: float = 1e-5,
    mode: str = "eval",
    head: str = "auto",
    **kwargs: Any,
) -> Trace:
    """Trace `model(*inputs, **kwargs)`: calls, recomputed layers, one prediction, findings.

    `labels` (B,) are the classes of the batch, when known: the prediction shows the true class
    and the dynamics use them for the loss (else the model's own predictions). `history` (from
    `rt.Recorder`) fills the training section. `mode` is the mode the model runs in: "eval"
    (dropout off; the model's own mode is given back after) or "train". `head` says what the
    output is when its shape cannot: "values" for a regression, "classes", or "auto" (read from
    its shape and values: heads.py).
    """
    check_mode(mode)
    if head not in HEADS:
        raise ConfigError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    draws, was_training = Draws(), model.training
    try:
        with traced_mode(model, mode):
            draws.replay()
            with recording(model) as calls, capturing(model) as seen, torch.no_grad():
                seen.output = model(*inputs, **kwargs)
            if not (seen.rnn_calls or seen.cell_calls or find_linear_loops(model, seen)):
                refuse_without_recurrence(model)  # names what the model holds instead
            _, deterministic = determinism_note(model, inputs, kwargs, seen.output)
            calls.notes = [mode_note(was_training, mode), deterministic]
            return _assemble(model, inputs, kwargs, seen, calls, labels, class_names,
                             feature_names, history, tolerance, draws.replay, head)
    finally:
        draws.replay()  # the user's random state as it was before the trace


def _assemble(
    model: nn.Module, inputs: tuple[Any, ...], kwargs: dict[str, Any], seen: Capture,
    calls: Any, labels: Tensor | None, class_names: list[str] | None,
    feature_names: list[str] | None, history: History | None, tolerance: float,
    replay: Callable[[], None], given_head: str,
) -> Trace:
    loops = find_loops(seen)
    recurrences = _recurrences(seen, loops, tolerance) + [
        _Recurrence(
            lin.index, lin.calls[-1].index, linear_loop_layer(lin, tolerance), lin.batch,
            lin.steps, True, lin.inputs, lin.hidden, list,
        )
        for lin in find_linear_loops(model, seen)
    ]
    recurrences.sort(key=lambda r: r.index)
    if not recurrences:
        held = sorted({type(m).__name__ for m in model.modules()
                       if isinstance(m, nn.RNNBase | nn.RNNCellBase)})
        raise ConfigError(
            f"{type(model).__name__}'s forward called none of its recurrent modules "
            f"({', '.join(held)}) on these inputs: nothing to trace"
        )
    in_loops = {c.index for loop in loops for c in loop.calls}
    plain = Capture([c for c in seen.rnn_calls if c.index not in in_loops], [], seen.received,
                    seen.output)
    calls.findings += find_mistakes(plain, labels)
    for loop in loops:
        calls.findings += loop_findings(loop)
    first, top = recurrences[0], recurrences[-1]
    # the step-through and the equations need a known cell: the first layer or cell loop
    stepped = next((r for r in recurrences if r.layer.kind != "linear loop"), None)
    head = read_head(seen.output, top.batch, top.steps, top.batch_first, seen.received,
                     given_head)
    layers = [r.layer for r in recurrences]
    prediction = _prediction(seen, first, top, head, labels, class_names, feature_names)
    dynamics = None
    if head.classes and top.layer.kind != "linear loop":
        reference = head.arranged(seen.output).detach()
        if top.loop is not None:
            dynamics = loop_dynamics(model, top.loop, inputs, kwargs, head, labels, reference,
                                     replay)
        elif top.call is not None:
            dynamics = layer_dynamics(model, top.call, inputs, kwargs, head, labels, reference,
                                      replay)
    decoder = None
    if len(recurrences) > 1 and (top.loop is not None):  # a loop after an encoder
        indices = sorted([c.index for c in top.loop.cells] + [c.index for c in top.loop.calls])
        decoder = decoder_trace(seen, top.layer.name, indices, first.steps, top.batch)
    records = history.records if history is not None else []
    steps = stepped.step_records() if stepped is not None else []
    return Trace(
        config=None,
        stages=[],
        training=records,
        prediction=prediction,
        insight=_insight(calls.model_type, layers, len(calls.findings), head),
        module_calls=calls,
        steps=steps,
        recomputation=stepped.layer.recomputation if stepped is not None else None,
        dynamics=dynamics,
        layers=layers,
        decoder=decoder,
    )


def _recurrences(seen: Capture, loops: list[Loop], tolerance: float) -> list[_Recurrence]:
    """Every fused call and every loop, in the order their first call began."""
    in_loops = {c.index for loop in loops for c in loop.calls}
    found = []
    for c in seen.rnn_calls:
        if c.index in in_loops:
            continue
        layer = RecurrentLayer(
            name=c.name,
            label=c.label.split(" = ", 1)[-1],
            reading=_reading(c),
            recomputation=recompute(c.rnn, c.x, c.hx, c.lengths, tolerance),
            proj_size=int(c.rnn.proj_size),
        )
        found.append(_Recurrence(
            c.index, c.index, layer, c.batch, c.steps, bool(c.rnn.batch_first),
            partial(c.sequence, c.x), partial(c.sequence, c.output),
            partial(_call_steps, c), call=c,
        ))
    for loop in loops:
        last = max([c.index for c in loop.cells] + [c.index for c in loop.calls])
        found.append(_Recurrence(
            loop.index, last, loop_layer(loop, tolerance), loop.batch, loop.steps, True,
            loop.inputs, loop.hidden, partial(loop_steps, loop), loop=loop,
        ))
    return sorted(found, key=lambda r: r.index)


def _call_steps(call: RnnCall) -> list[StepRecord]:
    return explain_steps(call.rnn, call.sequence(call.x), call.state_of(0))


def _reading(call: RnnCall) -> str:
    if call.packed and call.lengths is not None:
        return (
            f"packed: {call.batch} sequences of lengths "
            f"{', '.join(str(int(n)) for n in call.lengths)} × {call.x.shape[-1]} features"
        )
    return reading(call.rnn, [int(d) for d in call.x.shape])


def _prediction(
    seen: Capture, first: _Recurrence, top: _Recurrence, head: Head, labels: Tensor | None,
    class_names: list[str] | None, feature_names: list[str] | None,
) -> PredictionTrace | None:
    """Sequence 0 from the first recurrence's input to the model's output, read by its head."""
    if not head.classes:
        return None
    x0 = first.inputs()  # (T, F)
    # The step table sets x_t beside h_t: the top's states when it runs the same steps (a
    # stack), else the first recurrence's own (an encoder–decoder: the decoder has its own T).
    hidden = top.hidden() if top.steps == first.steps else first.hidden()
    log_p = head.log_probabilities(seen.output).detach().double()[0]  # (C,) or (T', C)
    arranged = head.arranged(seen.output).detach()
    if head.kind in ("logit", "sigmoid"):
        value = float(arranged[0])
        logit = value if head.kind == "logit" else float(torch.logit(torch.tensor(value)))
        shown = [0.0, logit]  # softmax([0, l]) = (σ(−l), σ(l)): the one logit as two scores
    else:
        shown = to_list(arranged[0] if not head.per_step else arranged[0, -1])
    per_step = log_p.exp() if head.per_step else None  # (T', C)
    probs = log_p.exp() if per_step is None else per_step[-1]
    n_classes = int(probs.shape[-1])
    names = class_names or [str(i) for i in range(n_classes)]
    features = feature_names or [f"x{i}" for i in range(int(x0.shape[-1]))]
    head_input = _head_input(seen, top)
    true_class = None
    if labels is not None and labels.dim() == 1 and not head.per_step:
        true_class = int(labels[0])
    return PredictionTrace(
        sequence_id="0",
        length=int(x0.shape[0]),
        feature_names=features,
        inputs=to_list(x0),
        hidden_states=to_list(hidden),
        last_hidden=to_list(head_input) if head_input is not None else [],
        logits=shown,
        probabilities=to_list(probs),
        class_names=names,
        predicted=int(probs.argmax()),
        true_class=true_class,
        head=head.note,
        step_probabilities=[] if per_step is None else to_list(per_step),
    )


def _head_input(seen: Capture, top: _Recurrence) -> Tensor | None:
    """Row 0 of what the first module after the last recurrence received, (width,)."""
    for r in seen.received:
        if r.index <= top.last:
            continue
        for t in r.tensors:
            if t.dim() == 2 and t.shape[0] == top.batch and t.is_floating_point():
                return t[0]
    return None


def _insight(
    model_type: str, layers: list[RecurrentLayer], n_findings: int, head: Head
) -> str:
    worst = max(layer.recomputation.max_abs_diff for layer in layers)
    ok = all(layer.recomputation.matches for layer in layers)
    verdict = "all match" if ok else "NOT all match"
    found = (
        f"{n_findings} finding{'s' if n_findings != 1 else ''}, listed with the module calls: "
        "each is a way the model may not read its data as meant"
        if n_findings else "No silent mistake found in how the recurrences are fed"
    )
    fused = sum(1 for layer in layers if layer.kind == "layer")
    looped = [layer for layer in layers if layer.kind != "layer"]
    parts = []
    if fused:
        parts.append(f"{fused} recurrent call{'s' if fused != 1 else ''}")
    if looped:
        steps = ", ".join(str(layer.calls) for layer in looped)
        parts.append(f"{len(looped)} loop{'s' if len(looped) != 1 else ''} of one step per call "
                     f"({steps} steps)")
    what = " and ".join(parts)
    linear = [layer.name for layer in layers if layer.kind == "linear loop"]
    partly = (f" ({', '.join(linear)}: nn.Linear fed its own output, of which only "
              "W·input + b is recomputed)" if linear else "")
    return (
        f"{model_type}: {what} recomputed by hand from their own weights{partly}; {verdict} "
        f"PyTorch (largest difference {worst:.1e}). Output: {head.note}. {found}."
    )

