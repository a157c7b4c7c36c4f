"""Recurrences written as a Python loop, traced as one recurrent layer of T steps.

A forward that calls an nn.LSTMCell / nn.GRUCell / nn.RNNCell once per step, or a fused
nn.RNN / nn.GRU / nn.LSTM on one step at a time (as attention decoders do), makes T calls of one
module. Each call is one step, and the state it returns should be the next call's state:

    call 1             call 2             call T
    x_1, h_0  ──►  h_1 ─► x_2, h_1 ──► h_2 … ─► x_T, h_(T-1) ──► h_T

Every step is recomputed from the module's own weights and the state it was really given
(`equations.cell_step`, the one arithmetic of a step), and compared with what PyTorch returned.
Whether each step was given the state the step before returned is read from the same tensors:
`loop_findings` names a state never carried, a cell state c_t dropped, a state reset mid-loop.

Shape legend: B batch, T steps (calls), F features, H hidden size, R the width of h.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.records import Finding, Recomputation, RecurrentLayer, StepRecord
from rnntrace.tracing.capture import Capture, CellCall, RnnCall
from rnntrace.tracing.equations import (
    Weights,
    activation_name,
    cell_step,
    equations,
    input_part,
    recompute,
    spec_of,
)
from rnntrace.tracing.explain import layer_label
from rnntrace.tracing.steps import explain_steps, step_record


@dataclass
class Loop:
    """The calls of one cell (or of one fused layer fed one step per call), in call order."""

    name: str
    module: nn.Module
    cells: list[CellCall] = field(default_factory=list)  # a cell's calls
    calls: list[RnnCall] = field(default_factory=list)  # a fused layer's one-step calls

    @property
    def fused(self) -> bool:
        return bool(self.calls)

    @property
    def index(self) -> int:
        """The first call's position among all module calls of the pass."""
        return self.calls[0].index if self.fused else self.cells[0].index

    @property
    def steps(self) -> int:
        return len(self.calls) if self.fused else len(self.cells)

    @property
    def batch(self) -> int:
        return self.calls[0].batch if self.fused else self.cells[0].batch

    @property
    def label(self) -> str:
        if self.fused:
            assert isinstance(self.module, nn.RNNBase)
            return layer_label(self.module)
        cell = self.module
        assert isinstance(cell, nn.RNNCellBase)
        options = [str(cell.input_size), str(cell.hidden_size)]
        if getattr(cell, "nonlinearity", "tanh") != "tanh":
            options.append(f"nonlinearity={cell.nonlinearity!r}")
        if not cell.bias:
            options.append("bias=False")
        return f"nn.{type(cell).__name__}({', '.join(options)})"

    @property
    def reading(self) -> str:
        first = self.calls[0].x if self.fused else self.cells[0].x
        per_step = f"batch {self.batch} × {first.shape[-1]} features"
        times = "once" if self.steps == 1 else f"{self.steps} times"
        return f"called {times} in a Python loop, one step per call: {per_step} each"

    def inputs(self, b: int = 0) -> Tensor:
        """x_t of sequence b at every step, (T, F)."""
        if self.fused:
            return torch.cat([c.sequence(c.x, b) for c in self.calls])  # each call (1, F)
        return torch.stack([_row(c.x, b) for c in self.cells])

    def hidden(self, b: int = 0) -> Tensor:
        """h_t of sequence b after every step (the top layer's, for a stack), (T, R)."""
        if self.fused:
            return torch.cat([c.sequence(c.output, b) for c in self.calls])  # each (1, D·R)
        return torch.stack([_row(c.h, b) for c in self.cells])


def find_loops(seen: Capture) -> list[Loop]:
    """The cells called in the pass, and the fused layers called on one step at a time ≥ 2 times.

    A fused layer called on longer sequences stays an ordinary layer (one per call).
    """
    loops: dict[int, Loop] = {}
    for cell_call in seen.cell_calls:
        loop = loops.setdefault(id(cell_call.cell), Loop(cell_call.name, cell_call.cell))
        loop.cells.append(cell_call)
    by_layer: dict[int, list[RnnCall]] = {}
    for call in seen.rnn_calls:
        by_layer.setdefault(id(call.rnn), []).append(call)
    for calls in by_layer.values():
        if len(calls) > 1 and all(c.steps == 1 and not c.packed for c in calls):
            loops[id(calls[0].rnn)] = Loop(calls[0].name, calls[0].rnn, calls=calls)
    return sorted(loops.values(), key=lambda loop: loop.index)


def stepped_calls(loops: list[Loop]) -> set[int]:
    """The module-call indices of fused calls that belong to a loop (not layers of their own)."""
    return {c.index for loop in loops for c in loop.calls}


@torch.no_grad()
def loop_layer(loop: Loop, tolerance: float = 1e-5) -> RecurrentLayer:
    """The loop as one recurrent layer, every step recomputed and compared with PyTorch."""
    return RecurrentLayer(
        name=loop.name,
        label=loop.label,
        reading=loop.reading,
        recomputation=_recompute_fused(loop, tolerance) if loop.fused
        else _recompute_cells(loop, tolerance),
        proj_size=int(getattr(loop.module, "proj_size", 0)),
        kind="step loop" if loop.fused else "cell loop",
        calls=loop.steps,
    )


def _recompute_cells(loop: Loop, tolerance: float) -> Recomputation:
    cell = loop.module
    assert isinstance(cell, nn.RNNCellBase)
    spec, act, w = spec_of(cell), activation_name(cell), Weights.of_cell(cell)
    worst_h = worst_c = last_h = 0.0
    for call in loop.cells:
        out = _step(cell, w, call)
        diff_h = _diff(out.h, _batched(call.h))
        worst_h, last_h = max(worst_h, diff_h), diff_h
        if out.c is not None and call.c is not None:
            worst_c = max(worst_c, _diff(out.c, _batched(call.c)))
    first = loop.cells[0].x
    return Recomputation(
        cell=spec.name,
        nonlinearity=act,
        num_layers=1,
        bidirectional=False,
        batch_first=True,
        input_shape=[loop.batch, loop.steps, int(first.shape[-1])],
        diff_output=worst_h,
        diff_h_n=last_h,
        diff_c_n=worst_c if spec.has_cell_state else None,
        tolerance=tolerance,
        equations=equations(cell),
    )


def _recompute_fused(loop: Loop, tolerance: float) -> Recomputation:
    each = [recompute(c.rnn, c.x, c.hx, c.lengths, tolerance) for c in loop.calls]
    first = each[0]
    shape = list(first.input_shape)
    shape[1 if first.batch_first and len(shape) == 3 else 0] = loop.steps
    return Recomputation(
        cell=first.cell,
        nonlinearity=first.nonlinearity,
        num_layers=first.num_layers,
        bidirectional=first.bidirectional,
        batch_first=first.batch_first,
        input_shape=shape,
        diff_output=max(r.diff_output for r in each),
        diff_h_n=each[-1].diff_h_n,
        diff_c_n=None if first.diff_c_n is None else max(r.diff_c_n or 0.0 for r in each),
        tolerance=tolerance,
        equations=first.equations,
    )


@torch.no_grad()
def loop_steps(loop: Loop) -> list[StepRecord]:
    """Sequence 0 step by step through the loop (layer 0 of a fused stack), numbered from 1."""
    if loop.fused:
        records: list[StepRecord] = []
        for t, call in enumerate(loop.calls, start=1):
            records += explain_steps(call.rnn, call.sequence(call.x), call.state_of(0),
                                     first_step=t)
        return records
    cell = loop.module
    assert isinstance(cell, nn.RNNCellBase)
    w = Weights.of_cell(cell)
    found = []
    for t, step in enumerate(loop.cells, start=1):
        out = _step(cell, w, step, rows=1)  # sequence 0 alone: the record shows no other
        h_prev, c_prev = _previous(cell, step, rows=1)
        found.append(step_record(
            cell, w, out, _row(step.x, 0), h_prev[0],
            None if c_prev is None else c_prev[0], _row(step.h, 0),
            None if step.c is None else _row(step.c, 0), step=t, order=t,
        ))
    return found


def _step(cell: nn.Module, w: Weights, call: CellCall, rows: int | None = None) -> Any:
    """`cell_step` on the call's batch (its first `rows`), from the state it was really given."""
    h_prev, c_prev = _previous(cell, call, rows)
    x = _batched(call.x)[:rows]  # (B, F)
    return cell_step(spec_of(cell), activation_name(cell), w, input_part(w, x), h_prev, c_prev)


def _previous(
    cell: nn.Module, call: CellCall, rows: int | None = None
) -> tuple[Tensor, Tensor | None]:
    """The state a call started from, (B, H) each: zeros where none was passed, as PyTorch does."""
    x = _batched(call.x)[:rows]
    zeros = x.new_zeros(x.shape[0], int(getattr(cell, "hidden_size", 0)))
    h = zeros if call.h_prev is None else _batched(call.h_prev)[:rows]
    if not spec_of(cell).has_cell_state:
        return h, None
    return h, zeros if call.c_prev is None else _batched(call.c_prev)[:rows]


def _batched(t: Tensor) -> Tensor:
    return t if t.dim() == 2 else t.unsqueeze(0)


def _row(t: Tensor, b: int) -> Tensor:
    return t[b] if t.dim() == 2 else t


def _diff(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


# ─── Whether each step was given the state the step before returned ──────────────────────────


@dataclass
class _Handover:
    """One step t ≥ 2: what it started from against what step t − 1 returned."""

    step: int
    h_given: Tensor | None  # None: no state passed (zeros)
    h_before: Tensor  # what the step before returned
    c_given: Tensor | None
    c_before: Tensor | None
    h_first: Tensor | None  # the state step 1 started from
    c_first: Tensor | None


def _handovers(loop: Loop) -> list[_Handover]:
    found = []
    if loop.fused:
        calls = loop.calls
        states = [_split(c.hx) for c in calls]
        for t in range(1, len(calls)):
            found.append(_Handover(
                t + 1, states[t][0], calls[t - 1].h_n, states[t][1], calls[t - 1].c_n,
                states[0][0], states[0][1],
            ))
        return found
    cells = loop.cells
    for t in range(1, len(cells)):
        found.append(_Handover(
            t + 1, cells[t].h_prev, cells[t - 1].h, cells[t].c_prev, cells[t - 1].c,
            cells[0].h_prev, cells[0].c_prev,
        ))
    return found


def _split(hx: Any) -> tuple[Tensor | None, Tensor | None]:
    if isinstance(hx, tuple):
        return hx[0], hx[1]
    return hx, None


def _verdict(given: Tensor | None, before: Tensor, first: Tensor | None) -> str:
    """carried | reset (to zeros, None or the first step's state) | other (transformed)."""
    if given is not None and given.shape == before.shape and torch.equal(given, before):
        return "carried"
    if not bool(before.abs().amax() > 0):
        return "carried"  # the step before returned zeros: starting from zeros loses nothing
    if given is None or not bool(given.abs().amax() > 0):
        return "reset"
    if first is not None and given.shape == first.shape and torch.equal(given, first):
        return "reset"
    return "other"  # a state derived from the last one (zoneout, a mask): not ours to judge


def loop_findings(loop: Loop) -> list[Finding]:
    """A state never carried, reset inside the loop, or an LSTM's c_t dropped."""
    handovers = _handovers(loop)
    if not handovers:
        return []
    label = f"{loop.name} = {loop.label}"
    h_verdicts = [_verdict(s.h_given, s.h_before, s.h_first) for s in handovers]
    reset = [s.step for s, v in zip(handovers, h_verdicts, strict=True) if v == "reset"]
    n = len(handovers)
    lstm = spec_of(loop.module).has_cell_state
    keep = "h, c = cell(x_t, (h, c))" if lstm else "h = cell(x_t, h)"
    if loop.fused:
        keep = "output, state = layer(x_t, state)"
    found = []
    if len(reset) == n:
        found.append(Finding(
            "state_not_carried", "warning", label,
            "at each step the state the step before returned, h_(t-1)",
            f"steps 2..{n + 1} of {n + 1} each started from {_start_words(handovers[0])}",
            "runs each step as if it were the first: nothing read at earlier steps reaches "
            "later ones, so the loop has no memory",
            f"pass the returned state back in: {keep}, with the state initialised once, "
            "before the loop",
        ))
    elif reset:
        found.append(Finding(
            "state_reset", "warning", label,
            "at each step the state the step before returned, h_(t-1)",
            f"step{'s' if len(reset) > 1 else ''} {_listed(reset)} of {n + 1} started from "
            "zeros (or the first step's state) although the step before returned another state",
            "forgets everything read before those steps; that is right only where a new "
            "sequence begins",
            "initialise the state once, before the loop over steps, and carry it through: "
            + keep,
        ))
    if lstm:
        # steps whose h_(t-1) was handed on but whose c_(t-1) was not: the cell state dropped
        dropped = [
            s for s, v in zip(handovers, h_verdicts, strict=True)
            if v != "reset" and s.c_before is not None
            and _verdict(s.c_given, s.c_before, s.c_first) == "reset"
        ]
        if dropped:
            where = (f"at steps 2..{n + 1}" if len(dropped) == n
                     else f"at step{'s' if len(dropped) > 1 else ''} "
                     f"{_listed([s.step for s in dropped])} of {n + 1}")
            found.append(Finding(
                "c_dropped", "warning", label,
                "(h_(t-1), c_(t-1)): both parts of the LSTM state the step before returned",
                f"h_(t-1) carried, but c_(t-1) {where} was "
                f"{_start_words(dropped[0], cell_state=True)}",
                "throws the cell state, the LSTM's long-term memory, away at those steps: only "
                "h_t carries anything forward, through the output gate",
                f"keep both: {keep}",
            ))
    return found


def _start_words(first: _Handover, cell_state: bool = False) -> str:
    given = first.c_given if cell_state else first.h_given
    if given is None:
        return "no state passed (zeros)"
    if not bool(given.abs().amax() > 0):
        return "zeros"
    return "the state step 1 started from"


def _listed(steps: list[int]) -> str:
    shown = ", ".join(str(t) for t in steps[:8])
    return shown + (f" and {len(steps) - 8} more" if len(steps) > 8 else "")
