"""The real tensors of one forward pass of any model: each recurrent call and what came after.

Forward hooks keep references (detached) to what every recurrent layer read and returned and to
what every other module received, in call order, so that the recomputation, the prediction and
the findings all work from the very tensors PyTorch used, never from a re-creation of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnntrace.errors import ConfigError
from rnntrace.model.modes import eval_mode
from rnntrace.tracing.explain import layer_label

State = Tensor | tuple[Tensor, Tensor]


@dataclass
class RnnCall:
    """One call of a recurrent layer: its input laid out padded, the lengths, state, results."""

    index: int  # position among all the module calls of the pass
    name: str
    rnn: nn.RNNBase
    x: Tensor  # in the layer's layout, padded with zeros when the input was packed
    lengths: Tensor | None  # (B,) in input order when the input was packed, else None
    hx: State | None
    output: Tensor  # in the layer's layout, padded when packed (pad_packed_sequence)
    h_n: Tensor
    c_n: Tensor | None
    packed: bool

    @property
    def label(self) -> str:
        return layer_label(self.rnn, self.name)

    @property
    def batched(self) -> bool:
        return self.x.dim() == 3

    @property
    def batch(self) -> int:
        if not self.batched:
            return 1
        return int(self.x.shape[0] if self.rnn.batch_first else self.x.shape[1])

    @property
    def steps(self) -> int:
        if not self.batched:
            return int(self.x.shape[0])
        return int(self.x.shape[1] if self.rnn.batch_first else self.x.shape[0])

    def batch_first(self, tensor: Tensor) -> Tensor:
        """A batched tensor in the layer's layout as (B, T, ·)."""
        return tensor if self.rnn.batch_first else tensor.transpose(0, 1)

    def sequence(self, tensor: Tensor, b: int = 0) -> Tensor:
        """Sequence b of a tensor in the layer's layout, (T_b, F), cut to its real length."""
        seq = tensor if tensor.dim() == 2 else tensor[b] if self.rnn.batch_first else tensor[:, b]
        return seq if self.lengths is None else seq[: int(self.lengths[b])]

    def state_of(self, b: int = 0) -> State | None:
        """The initial state of sequence b alone, unbatched: (L·D, R), or (h_0, c_0)."""
        if self.hx is None:
            return None
        if not self.batched:
            return self.hx
        if isinstance(self.hx, tuple):
            return self.hx[0][:, b], self.hx[1][:, b]
        return self.hx[:, b]


@dataclass
class CellCall:
    """One call of an nn.RNNCell, nn.GRUCell or nn.LSTMCell: one step of a loop the user wrote."""

    index: int  # position among all the module calls of the pass
    name: str
    cell: nn.RNNCellBase
    x: Tensor  # (B, F), or (F,) unbatched
    h_prev: Tensor | None  # as given; None: the cell starts from zeros
    c_prev: Tensor | None  # LSTMCell only
    h: Tensor  # (B, H), or (H,)
    c: Tensor | None  # LSTMCell only

    @property
    def batch(self) -> int:
        return int(self.x.shape[0]) if self.x.dim() == 2 else 1


@dataclass
class Received:
    """The tensors one module (not a recurrent layer) received, after the call `index` began,
    and what it returned (`outputs`, once the call has ended)."""

    index: int
    name: str
    type: str
    tensors: list[Tensor]
    outputs: list[Tensor] = field(default_factory=list)


@dataclass
class Capture:
    """Everything one forward pass handed around, in call order."""

    rnn_calls: list[RnnCall] = field(default_factory=list)
    cell_calls: list[CellCall] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    output: Any = None  # what the model returned

    def received_after(self, call: RnnCall) -> list[Received]:
        return [r for r in self.received if r.index > call.index]

    @property
    def scores(self) -> Tensor | None:
        """The model's output when it is one row of scores per sequence, (B, C); else None."""
        out = self.output[0] if isinstance(self.output, tuple | list) else self.output
        if not isinstance(out, Tensor) or out.dim() != 2 or not out.is_floating_point():
            return None
        batch = self.rnn_calls[0].batch if self.rnn_calls else 0
        return out if out.shape[0] == batch and out.shape[1] > 1 else None


def recurrent_modules(model: nn.Module) -> bool:
    """Whether a model holds a recurrent layer or cell that rnntrace can recompute."""
    return any(isinstance(m, nn.RNNBase | nn.RNNCellBase) for m in model.modules())


def refuse_without_recurrence(model: nn.Module, what: str = "") -> None:
    """A model with no recurrent layer or cell: a ConfigError naming the modules it does hold."""
    if recurrent_modules(model):
        return
    kinds: dict[str, int] = {}
    for sub in model.modules():
        if sub is not model or not list(model.children()):
            kinds[type(sub).__name__] = kinds.get(type(sub).__name__, 0) + 1
    held = ", ".join(f"{k} × {n}" if n > 1 else k for k, n in sorted(kinds.items()))
    raise ConfigError(
        f"{what or type(model).__name__} has no recurrent layer or cell to trace (nn.RNN, "
        f"nn.LSTM, nn.GRU, their Cell versions, or an nn.Linear whose output feeds its own next "
        f"call); it holds {held or 'no modules'}"
    )


@torch.no_grad()
def capture(
    model: nn.Module, inputs: tuple[Any, ...], kwargs: dict[str, Any], *,
    recurrent_only: bool = False,
) -> Capture:
    """Run `model(*inputs, **kwargs)` once in eval mode and keep the tensors of every call.

    `recurrent_only` hooks the recurrent layers alone: what other modules received is then not
    kept, which matters when many long sequences pass through a wide front end.
    """
    refuse_without_recurrence(model)
    with capturing(model, recurrent_only=recurrent_only) as seen, eval_mode(model):
        seen.output = _detached(model(*inputs, **kwargs))
    return seen


@contextmanager
def capturing(model: nn.Module, *, recurrent_only: bool = False) -> Iterator[Capture]:
    """Hooks that fill a Capture with every call made while the block runs; removed after."""
    seen = Capture()
    counter = [0]
    handles = []

    def make_hooks(name: str, sub: nn.Module) -> tuple[Any, Any]:
        begun: list[int] = []
        opened: list[Received] = []

        def before(_m: nn.Module, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
            begun.append(counter[0])
            counter[0] += 1
            if not isinstance(sub, nn.RNNBase | nn.RNNCellBase):
                opened.append(Received(begun[-1], name, type(sub).__name__, tensors_in((args, kw))))
                seen.received.append(opened[-1])

        def after(_m: nn.Module, args: tuple[Any, ...], kw: dict[str, Any], result: Any) -> None:
            index = begun.pop()
            if isinstance(sub, nn.RNNBase):
                seen.rnn_calls.append(_rnn_call(index, name, sub, args, kw, result))
            elif isinstance(sub, nn.RNNCellBase):
                seen.cell_calls.append(_cell_call(index, name, sub, args, kw, result))
            else:
                opened.pop().outputs = tensors_in(result)

        return before, after

    recurrent = (nn.RNNBase, nn.RNNCellBase)
    for name, sub in model.named_modules():
        if sub is model or (recurrent_only and not isinstance(sub, recurrent)):
            continue
        before, after = make_hooks(name, sub)
        handles.append(sub.register_forward_pre_hook(before, with_kwargs=True))
        handles.append(sub.register_forward_hook(after, with_kwargs=True))
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()
    seen.rnn_calls.sort(key=lambda c: c.index)
    seen.cell_calls.sort(key=lambda c: c.index)


def _rnn_call(
    index: int, name: str, rnn: nn.RNNBase, args: tuple[Any, ...], kw: dict[str, Any],
    result: Any,
) -> RnnCall:
    values = list(args) + [kw[k] for k in ("input", "hx") if k in kw]
    x, hx = values[0], (values[1] if len(values) > 1 else None)
    output, state = result
    lengths = None
    packed = isinstance(x, PackedSequence)
    if packed:
        x, lengths = pad_packed_sequence(x, batch_first=rnn.batch_first)
        output, _ = pad_packed_sequence(output, batch_first=rnn.batch_first)
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    return RnnCall(
        index, name or type(rnn).__name__.lower(), rnn, x.detach(), lengths,
        _detached(hx), output.detach(), h_n.detach(), None if c_n is None else c_n.detach(),
        packed,
    )


def _cell_call(
    index: int, name: str, cell: nn.RNNCellBase, args: tuple[Any, ...], kw: dict[str, Any],
    result: Any,
) -> CellCall:
    values = list(args) + [kw[k] for k in ("input", "hx") if k in kw]
    x, hx = values[0], (values[1] if len(values) > 1 else None)
    h_prev, c_prev = hx if isinstance(hx, tuple | list) else (hx, None)
    h, c = result if isinstance(result, tuple | list) else (result, None)
    return CellCall(
        index, name or type(cell).__name__.lower(), cell, x.detach(), _detached(h_prev),
        _detached(c_prev), h.detach(), None if c is None else c.detach(),
    )


def _detached(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, tuple):
        return tuple(_detached(v) for v in value)
    return value


def tensors_in(values: Any) -> list[Tensor]:
    found: list[Tensor] = []
    if isinstance(values, PackedSequence):
        return found
    if isinstance(values, Tensor):
        found.append(values.detach())
    elif isinstance(values, tuple | list):
        for v in values:
            found += tensors_in(v)
    elif isinstance(values, dict):
        for v in values.values():
            found += tensors_in(v)
    return found
