"""Forward hooks that record every submodule call of any nn.Module: names, shapes, samples.

`trace_modules(model, x)` runs the model once, in eval mode and without gradients, and returns
ModuleCalls, plain records. Hooks are removed and the model's train/eval mode restored in
`finally`, so the model is left exactly as it was, even when the forward pass raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnntrace._deprecated import renamed_getattr
from rnntrace.model.modes import eval_mode
from rnntrace.records import ModuleCall, ModuleCalls, TensorInfo
from rnntrace.tracing.explain import checked, reading

_SAMPLE_ROWS, _SAMPLE_COLS, _DIGITS = 2, 4, 4


def trace_modules(module: nn.Module, *inputs: Any, **kwargs: Any) -> ModuleCalls:
    """Run `module(*inputs, **kwargs)` once and record every submodule call, in call order."""
    with recording(module) as calls, eval_mode(module), torch.no_grad():
        module(*inputs, **kwargs)
    return calls


@contextmanager
def recording(module: nn.Module) -> Iterator[ModuleCalls]:
    """Record every submodule call made while the block runs (hooks removed after).

    The block runs the forward itself, so the module calls can come from the very pass other
    hooks (tracing.capture) watch. PyTorch's shape errors inside recurrent layers become
    explained ShapeErrors (explain.checked), whose warnings are the findings.
    """
    calls: list[ModuleCall] = []
    open_calls: list[ModuleCall] = []  # calls begun and not yet returned: depth and pairing
    handles = []

    def make_hooks(name: str, sub: nn.Module) -> tuple[Any, Any]:
        def before(_m: nn.Module, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
            call = ModuleCall(
                index=len(calls),
                name=name,
                type=type(sub).__name__,
                depth=len(open_calls),
                inputs=_infos(_input_names(sub, args, kw)),
                outputs=[],
                n_parameters=sum(p.numel() for p in sub.parameters()),
                reading=_rnn_reading(sub, args, kw),
            )
            calls.append(call)
            open_calls.append(call)

        def after(_m: nn.Module, _a: Any, _kw: Any, result: Any) -> None:
            call = open_calls.pop()
            call.outputs = _infos(_output_names(sub, result))

        return before, after

    for name, sub in module.named_modules():
        before, after = make_hooks(name, sub)
        handles.append(sub.register_forward_pre_hook(before, with_kwargs=True))
        handles.append(sub.register_forward_hook(after, with_kwargs=True))
    record = ModuleCalls(
        model_type=type(module).__name__,
        calls=calls,
        n_parameters=sum(p.numel() for p in module.parameters()),
        n_trainable=sum(p.numel() for p in module.parameters() if p.requires_grad),
    )
    try:
        with checked(module) as findings:
            record.findings = findings
            yield record
    finally:
        for handle in handles:
            handle.remove()


def _input_names(
    sub: nn.Module, args: tuple[Any, ...], kw: dict[str, Any]
) -> list[tuple[str, Any]]:
    """Name a call's inputs: a recurrent layer's are `input` and `h_0`/`c_0`."""
    named: list[tuple[str, Any]] = []
    if isinstance(sub, nn.RNNBase):
        values = list(args) + [kw[k] for k in ("input", "hx") if k in kw]
        if values:
            named.append(("input", values[0]))
        if len(values) > 1 and values[1] is not None:
            named += _state_names(values[1], "0")
        return named
    for i, value in enumerate(args):
        named.append(("input" if len(args) == 1 else f"input[{i}]", value))
    named += list(kw.items())
    return named


def _output_names(sub: nn.Module, result: Any) -> list[tuple[str, Any]]:
    """Name a call's outputs: a recurrent layer's are `output`, `h_n` and, for LSTM, `c_n`."""
    if isinstance(sub, nn.RNNBase) and isinstance(result, tuple) and len(result) == 2:
        return [("output", result[0]), *_state_names(result[1], "n")]
    return [("output", result)]


def _state_names(state: Any, suffix: str) -> list[tuple[str, Any]]:
    if isinstance(state, tuple) and len(state) == 2:
        return [(f"h_{suffix}", state[0]), (f"c_{suffix}", state[1])]
    return [(f"h_{suffix}", state)]


def _infos(named: list[tuple[str, Any]]) -> list[TensorInfo]:
    """One TensorInfo per tensor or PackedSequence, looking inside tuples, lists and dicts."""
    return [info for name, value in named for info in _walk(name, value)]


def _walk(name: str, value: Any) -> Iterator[TensorInfo]:
    if isinstance(value, PackedSequence):
        yield _packed_info(name, value)
    elif isinstance(value, Tensor):
        yield TensorInfo(
            name, _shape(value), str(value.dtype).replace("torch.", ""), _sample(value)
        )
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _walk(f"{name}[{i}]", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{name}[{key!r}]", item)


def _packed_info(name: str, packed: PackedSequence) -> TensorInfo:
    """A PackedSequence as its data shape, batch sizes per step and each sequence's length.

    Packing stores the real steps only, step by step, longest sequences first:

        lengths 3, 1, 2  →  batch_sizes [3, 2, 1]   data rows: t=1 ×3, t=2 ×2, t=3 ×1
    """
    batch_sizes = packed.batch_sizes.tolist()
    # Sequence b (in sorted order) runs for as many steps as it is among the first batch_sizes.
    sorted_lengths = [sum(1 for n in batch_sizes if n > b) for b in range(batch_sizes[0])]
    order = packed.unsorted_indices
    lengths = (
        [sorted_lengths[int(i)] for i in order] if order is not None else sorted_lengths
    )  # in the order the sequences were given
    return TensorInfo(
        name,
        _shape(packed.data),
        str(packed.data.dtype).replace("torch.", ""),
        _sample(packed.data),
        packed=True,
        batch_sizes=batch_sizes,
        lengths=lengths,
    )


def _rnn_reading(sub: nn.Module, args: tuple[Any, ...], kw: dict[str, Any]) -> str:
    """How a recurrent layer read its input: "batch 32 × 10 steps × 5 features"."""
    if not isinstance(sub, nn.RNNBase):
        return ""
    x = args[0] if args else kw.get("input")
    if isinstance(x, PackedSequence):
        lengths = _packed_info("input", x).lengths or []
        return (
            f"packed: {len(lengths)} sequences of lengths {', '.join(map(str, lengths))} "
            f"× {x.data.shape[-1]} features ({x.data.shape[0]} real steps, no padding read)"
        )
    if isinstance(x, Tensor):
        return reading(sub, tuple(int(d) for d in x.shape))
    return ""


def _shape(t: Tensor) -> list[int]:
    return [int(d) for d in t.shape]


def _sample(t: Tensor) -> Any:
    """The leading corner of a tensor as nested lists of rounded floats."""
    t = t.detach()
    while t.dim() > 2:
        t = t[0]
    if t.dim() == 2:
        t = t[:_SAMPLE_ROWS, :_SAMPLE_COLS]
    elif t.dim() == 1:
        t = t[:_SAMPLE_COLS]
    return _rounded(t.cpu().double().tolist())  # one copy out of torch, not one per value


def _rounded(values: Any) -> Any:
    if isinstance(values, list):
        return [_rounded(v) for v in values]
    return round(values, _DIGITS)


__getattr__ = renamed_getattr(__name__, {"trace": "trace_modules"}, globals())
