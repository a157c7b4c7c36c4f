"""Shape mistakes with recurrent layers explained: what was expected, what arrived, how PyTorch
read it, and the fix.

Two ways in: `explain_call(rnn, x, hx)` diagnoses one call without running it, and
`with checked(model) as findings: model(x)` watches every recurrent layer inside any module,
turns PyTorch's terse error into a `ShapeError` (the original kept as its cause) and collects
the warnings for inputs PyTorch accepts but probably not as meant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnntrace.errors import ShapeError
from rnntrace.records import Finding

# What PyTorch raises for a badly shaped call (an LSTM given one tensor as its state even fails
# with IndexError). Only converted when our own diagnosis found an error in that call.
TORCH_SHAPE_ERRORS = (RuntimeError, ValueError, IndexError, TypeError)

_PACK_FIX = "pack_padded_sequence(x, lengths, batch_first={bf}, enforce_sorted=False)"


def layer_label(rnn: nn.RNNBase, name: str = "") -> str:
    """The layer as a reader would write it, e.g. `rnn = nn.LSTM(5, 8, bidirectional=True)`."""
    options = [f"{rnn.input_size}", f"{rnn.hidden_size}"]
    if rnn.num_layers > 1:
        options.append(f"num_layers={rnn.num_layers}")
    if rnn.proj_size:
        options.append(f"proj_size={rnn.proj_size}")
    if rnn.bidirectional:
        options.append("bidirectional=True")
    if rnn.batch_first:
        options.append("batch_first=True")
    text = f"nn.{type(rnn).__name__}({', '.join(options)})"
    return f"{name} = {text}" if name else text


def input_layout(rnn: nn.RNNBase) -> str:
    """The input shape a layer expects, in words."""
    f = rnn.input_size
    if rnn.batch_first:
        return f"(batch, steps, {f}) because batch_first=True"
    return f"(steps, batch, {f}) because batch_first=False"


def reading(rnn: nn.RNNBase, shape: tuple[int, ...] | list[int]) -> str:
    """How PyTorch reads a 2-D or 3-D input shape, in words: "batch 32 × 10 steps × 5 features"."""
    if len(shape) == 2:
        return f"one unbatched sequence: {shape[0]} steps × {shape[1]} features"
    if len(shape) != 3:
        return f"nothing: a recurrent layer takes 2-D or 3-D input, this is {len(shape)}-D"
    if rnn.batch_first:
        return f"batch {shape[0]} × {shape[1]} steps × {shape[2]} features"
    return f"{shape[0]} steps × batch {shape[1]} × {shape[2]} features"


def explain_call(
    rnn: nn.RNNBase,
    x: Tensor | PackedSequence,
    hx: Tensor | tuple[Tensor, Tensor] | None = None,
    lengths: Tensor | list[int] | None = None,
    *,
    name: str = "",
) -> list[Finding]:
    """Everything wrong or suspicious about calling `rnn(x, hx)`, without running it.

    `lengths` are the real lengths of a padded batch, when known; without them, trailing
    all-zero steps of differing length are taken as padding.
    """
    label = layer_label(rnn, name)
    if isinstance(x, PackedSequence):
        found = _input_size(rnn, label, tuple(x.data.shape), packed=True)
        batch = int(x.batch_sizes[0])
        return found + _hidden(rnn, label, hx, batch=batch, unbatched=False)
    shape = tuple(int(d) for d in x.shape)
    if len(shape) not in (2, 3):
        return [
            Finding(
                "input_dims",
                "error",
                label,
                f"a 3-D input {input_layout(rnn)} (or 2-D for one sequence)",
                f"a {len(shape)}-D tensor of shape {shape}",
                "reads only 2-D (steps, features) or 3-D batched inputs",
                "reshape to (batch, steps, features); e.g. x.flatten(2) if the features are "
                "spread over several dimensions",
            )
        ]
    found = _input_size(rnn, label, shape, packed=False)
    unbatched = len(shape) == 2
    if unbatched:
        found.append(_unbatched(rnn, label, shape))
        batch = 1
    else:
        batch = shape[0] if rnn.batch_first else shape[1]
    found += _hidden(rnn, label, hx, batch=batch, unbatched=unbatched)
    if not unbatched:
        padded = _padding(rnn, label, x, lengths)
        if padded is not None:
            found.append(padded)
    return found


def _input_size(
    rnn: nn.RNNBase, label: str, shape: tuple[int, ...], *, packed: bool
) -> list[Finding]:
    if shape[-1] == rnn.input_size:
        return []
    others = [i for i, d in enumerate(shape[:-1]) if d == rnn.input_size]
    if others and not packed:
        order = [i for i in range(len(shape)) if i != others[-1]] + [others[-1]]
        fix = (
            f"the features look like dimension {others[-1]}: move them last with "
            f"x.permute({', '.join(map(str, order))})"
        )
    else:
        fix = (
            f"build the layer with input_size={shape[-1]}, or map the {shape[-1]} features to "
            f"{rnn.input_size} first (e.g. nn.Linear({shape[-1]}, {rnn.input_size}))"
        )
    what = "a PackedSequence whose data is" if packed else "shape"
    how = "reads the last dimension as the features of each step"
    if not packed:
        how += f" ({reading(rnn, shape)})"
    return [
        Finding(
            "input_size",
            "error",
            label,
            f"input_size = {rnn.input_size} features in the last dimension, {input_layout(rnn)}",
            f"{what} {shape}, with {shape[-1]} features",
            how,
            fix,
        )
    ]


def _unbatched(rnn: nn.RNNBase, label: str, shape: tuple[int, ...]) -> Finding:
    steps, feats = shape
    layers = rnn.num_layers * (2 if rnn.bidirectional else 1)
    fix = f"x.unsqueeze({0 if rnn.batch_first else 1}) makes it a batch of one sequence"
    if rnn.input_size == 1:
        fix += (
            f"; if it is a batch of {steps} sequences of {feats} steps with one feature each, "
            "use x.unsqueeze(-1) and input_size=1"
        )
    return Finding(
        "unbatched",
        "warning",
        label,
        f"a batched 3-D input {input_layout(rnn)}",
        f"a 2-D tensor {shape}",
        f"reads it as ONE unbatched sequence of {steps} steps × {feats} features (not a batch "
        f"of {steps}); output is ({steps}, D·H) and h_n ({layers}, {rnn.hidden_size}) with no "
        "batch dimension",
        fix,
    )


def _hidden(
    rnn: nn.RNNBase,
    label: str,
    hx: Tensor | tuple[Tensor, Tensor] | None,
    *,
    batch: int,
    unbatched: bool,
) -> list[Finding]:
    if hx is None:
        return []
    is_lstm = isinstance(rnn, nn.LSTM)
    if is_lstm != isinstance(hx, tuple):
        wanted = "a tuple (h_0, c_0)" if is_lstm else "one tensor h_0"
        return [
            Finding(
                "hidden_shape",
                "error",
                label,
                f"an initial state that is {wanted}",
                "a tuple" if isinstance(hx, tuple) else "one tensor",
                f"passes the state of an nn.LSTM as (h, c) and of nn.{type(rnn).__name__} "
                "as one tensor",
                f"pass {wanted}",
            )
        ]
    layers = rnn.num_layers * (2 if rnn.bidirectional else 1)
    h_size = rnn.proj_size if is_lstm and rnn.proj_size > 0 else rnn.hidden_size
    states: list[tuple[str, Tensor, int]] = (
        [("h_0", hx[0], h_size), ("c_0", hx[1], rnn.hidden_size)]
        if isinstance(hx, tuple)
        else [("h_0", hx, h_size)]
    )
    found = []
    for sname, state, size in states:
        want = (layers, size) if unbatched else (layers, batch, size)
        got = tuple(int(d) for d in state.shape)
        if got == want:
            continue
        names = ["num_layers × directions", "hidden_size"]
        if not unbatched:
            names.insert(1, "batch")
        wrong = [
            f"dimension {i} ({n}) should be {w}, is {g}"
            for i, (n, w, g) in enumerate(zip(names, want, got, strict=False))
            if w != g
        ]
        if len(got) != len(want):
            wrong = [f"it has {len(got)} dimensions, not {len(want)}"]
        batch_from = "" if unbatched else f"; the batch {batch} comes from the input"
        found.append(
            Finding(
                "hidden_shape",
                "error",
                label,
                f"{sname} of shape {want} = ({', '.join(names)})",
                f"{sname} of shape {got}",
                f"checks the state against the input: {'; '.join(wrong)}{batch_from}",
                f"create it as torch.zeros({', '.join(map(str, want))}), or leave it out for "
                "zeros; h_n is always (layers × directions, batch, hidden) even with "
                "batch_first=True; a state kept from a batch of another size must be rebuilt",
            )
        )
    return found


def _padding(
    rnn: nn.RNNBase, label: str, x: Tensor, lengths: Tensor | list[int] | None
) -> Finding | None:
    steps = x.shape[1] if rnn.batch_first else x.shape[0]
    inferred = lengths is None
    lens = padded_lengths(x, rnn.batch_first) if lengths is None else torch.as_tensor(lengths)
    if lens is None or int(lens.min()) >= steps:
        return None
    source = " (lengths inferred from trailing all-zero steps)" if inferred else ""
    bf = rnn.batch_first
    how = (
        f"runs every sequence all {steps} steps: for the shorter ones the last steps are "
        "padding, so output[:, -1] and h_n hold states after reading padding"
    )
    if rnn.bidirectional:
        how += ", and the backward direction starts inside the padding"
    return Finding(
        "padded_unpacked",
        "warning",
        label,
        "a PackedSequence when sequences have different lengths",
        f"a padded tensor with lengths {int(lens.min())}..{int(lens.max())} of {steps} steps"
        + source,
        how,
        f"pack it: {_PACK_FIX.format(bf=bf)}; with one direction, taking each output at step "
        "lengths - 1 is also exact",
    )


def check_lengths(lengths: Tensor | list[int], batch: int, steps: int) -> Tensor:
    """Lengths as a 1-D tensor, or a ShapeError when they cannot describe a (batch, steps) input."""
    lens = torch.as_tensor(lengths).reshape(-1)
    if lens.numel() != batch:
        raise ShapeError(f"got {lens.numel()} lengths for a batch of {batch} sequences")
    if lens.numel() and (int(lens.min()) < 1 or int(lens.max()) > steps):
        raise ShapeError(
            f"lengths must be between 1 and the {steps} steps of the input, "
            f"got {int(lens.min())}..{int(lens.max())}"
        )
    return lens


def padded_lengths(x: Tensor, batch_first: bool) -> Tensor | None:
    """Lengths read from trailing all-zero steps, or None when no sequence looks padded.

    Only differing trailing runs count: data that merely ends in zeros everywhere is not padding.
    """
    xb = x if batch_first else x.transpose(0, 1)  # (B, T, F)
    if xb.dim() != 3 or xb.shape[1] == 0 or xb.is_meta:  # a meta tensor has no values to read
        return None
    real = (xb != 0).any(dim=2)  # (B, T): a step with any non-zero feature
    steps = torch.arange(1, xb.shape[1] + 1, device=xb.device)
    lengths = (real * steps).amax(dim=1)  # (B,): last real step, 1-based; 0 if all zero
    if int(lengths.min()) == int(lengths.max()) or int(lengths.min()) == 0:
        return None
    return lengths


def last_step_finding(rnn: nn.RNNBase, label: str) -> Finding:
    """The finding for `output[:, -1]` taken from a bidirectional layer."""
    pick = "output[:, -1]" if rnn.batch_first else "output[-1]"
    h = rnn.hidden_size
    return Finding(
        "bidirectional_last_step",
        "warning",
        label,
        "each direction's summary: the forward one at the last step, the backward one at step 0",
        f"{pick} used as the summary of a bidirectional layer",
        f"puts the backward direction's state at the last step in {pick}[..., {h}:], after it "
        "has read only that one step; its summary of the whole sequence is at step 0",
        "use torch.cat([h_n[-2], h_n[-1]], dim=1) (the top layer's two final states)",
    )


def run_checked(
    rnn: nn.RNNBase,
    x: Tensor | PackedSequence,
    hx: Tensor | tuple[Tensor, Tensor] | None = None,
    lengths: Tensor | list[int] | None = None,
    *,
    name: str = "",
) -> tuple[Any, list[Finding]]:
    """`rnn(x, hx)` and the warnings about it; PyTorch's errors become an explained ShapeError."""
    findings = explain_call(rnn, x, hx, lengths, name=name)
    try:
        result = rnn(x, hx)
    except TORCH_SHAPE_ERRORS as exc:
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise ShapeError(errors[0].message) from exc
        raise
    return result, [f for f in findings if f.severity == "warning"]


@contextmanager
def checked(
    module: nn.Module, lengths: Tensor | list[int] | None = None
) -> Iterator[list[Finding]]:
    """Watch every recurrent layer inside `module` while the block runs.

    Yields the list of findings (filled as calls happen). A call that PyTorch refuses is
    re-raised as ShapeError with the explanation; its original error is the cause.
    """
    findings: list[Finding] = []
    in_flight: list[list[Finding]] = []  # error findings of recurrent calls not yet returned
    last_steps: list[tuple[Tensor, Finding]] = []  # bidirectional output[:, -1] seen so far
    handles = []

    def add(finding: Finding) -> None:
        if all((f.kind, f.layer) != (finding.kind, finding.layer) for f in findings):
            findings.append(finding)

    def watch_inputs(values: Any) -> None:
        for t in _tensors(values):
            for last, finding in last_steps:
                if t.shape == last.shape and torch.equal(t, last):
                    add(finding)

    def make_hooks(name: str, rnn: nn.RNNBase) -> tuple[Any, Any]:
        label = layer_label(rnn, name)

        def before(_m: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            x = args[0] if args else kwargs.get("input")
            hx = args[1] if len(args) > 1 else kwargs.get("hx")
            found = explain_call(rnn, x, hx, lengths, name=name) if x is not None else []
            for f in found:
                if f.severity == "warning":
                    add(f)
            in_flight.append([f for f in found if f.severity == "error"])

        def after(_m: nn.Module, _args: Any, _kwargs: Any, result: Any) -> None:
            in_flight.pop()
            output = result[0] if isinstance(result, tuple) else None
            if rnn.bidirectional and isinstance(output, Tensor) and output.dim() == 3:
                last = output[:, -1] if rnn.batch_first else output[-1]  # (B, 2H)
                last_steps.append((last.detach(), last_step_finding(rnn, label)))

        return before, after

    for name, sub in module.named_modules():
        if isinstance(sub, nn.RNNBase):
            before, after = make_hooks(name or type(sub).__name__.lower(), sub)
            handles.append(sub.register_forward_pre_hook(before, with_kwargs=True))
            handles.append(sub.register_forward_hook(after, with_kwargs=True))
        else:
            handles.append(sub.register_forward_pre_hook(lambda _m, a: watch_inputs(a)))
    handles.append(module.register_forward_hook(lambda _m, _a, out: watch_inputs(out)))
    try:
        yield findings
    except TORCH_SHAPE_ERRORS as exc:
        errors = in_flight[-1] if in_flight else []
        if errors:
            raise ShapeError(errors[0].message) from exc
        raise
    finally:
        for handle in handles:
            handle.remove()


def _tensors(values: Any) -> Iterator[Tensor]:
    if isinstance(values, Tensor):
        yield values
    elif isinstance(values, (tuple, list)):
        for v in values:
            yield from _tensors(v)
    elif isinstance(values, dict):
        for v in values.values():
            yield from _tensors(v)
