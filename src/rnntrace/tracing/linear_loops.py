"""A recurrence built from nn.Linear: the module whose output feeds its own next call.

PyTorch's char-RNN tutorials step a hand-written cell over the letters of a name:

    combined = torch.cat((category, input, hidden), 1)     call t reads [c, x_t, h_(t-1)]
    hidden = self.i2h(combined)                             and returns h_t
                                                            call t + 1 reads [c, x_(t+1), h_t]

So an nn.Linear called T times whose output of call t is, unchanged (or through tanh, σ or
ReLU), a block of columns of its input at call t + 1 is one recurrence of T steps. Its own
arithmetic, h_t = W·input_t + b, is recomputed from its weights and checked against PyTorch;
what the rest of its input holds, and anything the forward does outside modules, rnntrace
cannot see, and the layer's note says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnntrace.records import Recomputation, RecurrentLayer
from rnntrace.tracing.capture import Capture, Received

# What may stand between a call's output and its next input, tried in this order.
_FED_BACK = {
    "unchanged": lambda t: t,
    "tanh": torch.tanh,
    "σ": torch.sigmoid,
    "ReLU": torch.relu,
}


@dataclass
class LinearLoop:
    """The calls of one nn.Linear whose output is part of its own next input."""

    name: str
    linear: nn.Linear
    calls: list[Received]
    offset: int  # the first input column that holds the fed-back state
    through: str  # unchanged | tanh | σ | ReLU: how h_t reaches the next input

    @property
    def index(self) -> int:
        return self.calls[0].index

    @property
    def steps(self) -> int:
        return len(self.calls)

    @property
    def batch(self) -> int:
        return int(self.calls[0].tensors[0].shape[0])

    def inputs(self, b: int = 0) -> Tensor:
        """Sequence b's whole input at each call, (T, F_in): the fed-back state included."""
        return torch.stack([c.tensors[0][b] for c in self.calls])

    def hidden(self, b: int = 0) -> Tensor:
        """Sequence b's output at each call, (T, H)."""
        return torch.stack([c.outputs[0][b] for c in self.calls])


def find_linear_loops(model: nn.Module, seen: Capture) -> list[LinearLoop]:
    """Every nn.Linear of the model called ≥ 2 times whose output feeds its own next call."""
    modules = dict(model.named_modules())
    by_name: dict[str, list[Received]] = {}
    for r in seen.received:
        if (r.type == "Linear" and len(r.tensors) == 1 and len(r.outputs) == 1
                and r.tensors[0].dim() == 2 and r.outputs[0].dim() == 2):
            by_name.setdefault(r.name, []).append(r)
    found = []
    for name, calls in by_name.items():
        linear = modules.get(name)
        if not isinstance(linear, nn.Linear) or len(calls) < 2:
            continue
        fed = _fed_back(calls)
        if fed is not None:
            found.append(LinearLoop(name, linear, calls, *fed))
    return found


def _fed_back(calls: list[Received]) -> tuple[int, str] | None:
    """The column offset and the function by which each output reappears in the next input."""
    first_out, second_in = calls[0].outputs[0], calls[1].tensors[0]  # (B, H), (B, F_in)
    width = first_out.shape[1]
    if second_in.shape[0] != first_out.shape[0] or second_in.shape[1] <= width:
        return None
    for through, f in _FED_BACK.items():
        wanted = f(first_out)
        for offset in range(second_in.shape[1] - width + 1):
            if not torch.equal(second_in[:, offset : offset + width], wanted):
                continue
            if all(
                later.tensors[0].shape == second_in.shape
                and torch.equal(later.tensors[0][:, offset : offset + width],
                                f(earlier.outputs[0]))
                for earlier, later in itertools.pairwise(calls)
            ):
                return offset, through
    return None


@torch.no_grad()
def linear_loop_layer(loop: LinearLoop, tolerance: float = 1e-5) -> RecurrentLayer:
    """The loop as a layer: each call's W·input + b recomputed and compared with PyTorch."""
    w, b = loop.linear.weight, loop.linear.bias
    diffs = []
    for call in loop.calls:
        x, out = call.tensors[0], call.outputs[0]  # (B, F_in), (B, H)
        mine = x.double() @ w.double().T + (b.double() if b is not None else 0.0)
        diffs.append(float((mine - out.double()).abs().max()))
    width = loop.linear.out_features
    end = loop.offset + width - 1
    fed = "" if loop.through == "unchanged" else f"{loop.through} of "
    state = f"columns {loop.offset}..{end} of call t + 1's input are {fed}call t's output"
    equation = (f"h_t = W·[input_t without h, {fed or ''}h_(t-1) in columns "
                f"{loop.offset}..{end}] + b")
    recomputation = Recomputation(
        cell="linear", nonlinearity=loop.through, num_layers=1, bidirectional=False,
        batch_first=True, input_shape=[loop.batch, loop.steps, loop.linear.in_features],
        diff_output=max(diffs), diff_h_n=diffs[-1], diff_c_n=None, tolerance=tolerance,
        equations=[equation],
    )
    return RecurrentLayer(
        name=loop.name,
        label=f"nn.Linear({loop.linear.in_features}, {width})",
        reading=(f"called {loop.steps} times, its output fed to its own next call: {state}"),
        recomputation=recomputation,
        kind="linear loop",
        calls=loop.steps,
        note=("recomputed: W·input_t + b of each call, from the Linear's own weights. Not "
              "recomputed: what the other input columns hold and any step the forward takes "
              "outside a module (torch.cat, activations called as functions), which hooks "
              "cannot see"),
        step_values=loop.hidden().double().tolist(),
    )
