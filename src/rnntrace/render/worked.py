"""A worked example and a faded one, both views of a Trace's step records.

The worked example is one step of the learner's own layer computed in full: every term named
(x_t, h_(t-1), each gate before and after its activation, c_t, h_t), the equations with their
numbers, then one unit followed through elementwise. The faded example is the next step with
the same unit lines, whose results the learner fills in.

Nothing here recomputes the cell: every number comes from the StepRecord that
`tracing/steps.explain_steps` recomputed and checked against PyTorch. A blank's truth is the
record's own value (h_t, c_t or a gate), so checking an answer is a comparison, never arithmetic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnntrace.config.cells import CellSpec, at_step, cell_spec

if TYPE_CHECKING:  # a view knows the records it reads for type checking only
    from rnntrace.records import StepRecord

TOLERANCE = 0.006  # an answer to two decimals, from inputs shown to four, is within this
_DIGITS = 4


@dataclass(frozen=True)
class Term:
    """One named quantity of the step: its symbol at this step, what it is, its values."""

    symbol: str  # "h_2", "f_3"
    meaning: str
    values: list[float]
    per_unit: bool = True  # one value per hidden unit (x_t is per feature; a projected h per P)


@dataclass(frozen=True)
class UnitLine:
    """One elementwise result for a single unit: what a faded example asks the learner for."""

    symbol: str  # "h_3[2]"
    formula: str  # in symbols: "o_3[2] · tanh(c_3[2])"
    numbers: str  # the same with this step's values: "0.5123 · tanh(0.8811)"
    value: float  # the record's value: the key of a faded blank

    def accepts(self, answer: float) -> bool:
        return abs(answer - self.value) <= TOLERANCE


@dataclass(frozen=True)
class WorkedStep:
    """One step as a worked (or faded) example."""

    title: str
    cell: str
    step: int
    unit: int
    terms: list[Term]
    equations: list[str]  # in symbols, at this step
    with_numbers: list[str]  # the same lines with the step's vectors
    unit_lines: list[UnitLine]
    check: str  # how far PyTorch's own h_t is from the recomputed one


def _n(value: float) -> str:
    return f"{value:.{_DIGITS}f}"


def _activation(step: StepRecord) -> str:
    """The plain RNN's nonlinearity, as its equation line names it."""
    return "relu" if "relu(" in step.equations[0] else "tanh"


def _symbol(name: str, step: StepRecord) -> str:
    """A canonical symbol ("h_t", "c_(t-1)") written at this step and direction."""
    return at_step(name, step.step, step.direction == "backward")


def terms(step: StepRecord, spec: CellSpec) -> list[Term]:
    """Every quantity of the step, named, in the order the step computes them."""
    def at(name: str) -> str:
        return _symbol(name, step)

    # Layer 0 reads the features as the model feeds them (standardised, or a token's embedding).
    source = "what the layer reads" if step.layer == 0 else "the layer below's output"
    first = step.order == 1
    width = len(next(iter(step.pre_activation.values())))  # H
    out = [Term(at("x_t"), f"{source} at step {step.step}", step.x, per_unit=False),
           Term(at("h_(t-1)"), "the state carried in" + (" (h_0: zeros unless given)"
                                                        if first else " from the step before"),
                step.h_prev, per_unit=len(step.h_prev) == width)]
    if step.c_prev is not None:
        out.append(Term(at("c_(t-1)"), "the memory cell carried in", step.c_prev))
    for gate in spec.gates:
        pre = step.pre_activation.get(gate.symbol)
        if not spec.gated:
            if pre is not None:
                out.append(Term(f"a_{step.step}", "the weighted sum W_ih·x + b_ih + W_hh·h + b_hh, "
                                "before the nonlinearity", pre))
            continue
        act = gate.activation.format(act=_activation(step))
        if pre is not None:
            out.append(Term(f"{gate.symbol}_{step.step} (before {act})",
                            f"the {gate.name} gate's weighted sum", pre))
        out.append(Term(at(f"{gate.symbol}_t"), f"the {gate.name} gate, after {act}",
                        step.gates[gate.symbol]))
    if step.c is not None:
        out.append(Term(at("c_t"), "the new memory cell", step.c))
    out.append(Term(at("h_t"), "the new state: what the next step and the layer above read",
                    step.h, per_unit=len(step.h) == width))
    return out


def unit_lines(step: StepRecord, spec: CellSpec, unit: int) -> list[UnitLine]:
    """The step's elementwise results for one unit, each with the record's value."""
    def at(name: str) -> str:
        return f"{_symbol(name, step)}[{unit}]"

    g, j = step.gates, unit
    if spec.name == "rnn":
        act, a = _activation(step), step.pre_activation["a"][j]
        return [UnitLine(at("h_t"), f"{act}(a_{step.step}[{j}])", f"{act}({_n(a)})", step.h[j])]
    if spec.name == "gru":
        n_pre = step.pre_activation["n"][j]
        return [
            UnitLine(at("n_t"), f"tanh(n_{step.step} before tanh [{j}])", f"tanh({_n(n_pre)})",
                     g["n"][j]),
            UnitLine(at("h_t"), f"(1 − {at('z_t')}) · {at('n_t')} + {at('z_t')} · "
                     f"{at('h_(t-1)')}",
                     f"(1 − {_n(g['z'][j])}) · {_n(g['n'][j])} + {_n(g['z'][j])} · "
                     f"{_n(step.h_prev[j])}", step.h[j]),
        ]
    assert step.c is not None and step.c_prev is not None  # LSTM
    lines = [UnitLine(at("c_t"), f"{at('f_t')} · {at('c_(t-1)')} + {at('i_t')} · {at('g_t')}",
                      f"{_n(g['f'][j])} · {_n(step.c_prev[j])} + {_n(g['i'][j])} · "
                      f"{_n(g['g'][j])}", step.c[j])]
    if len(step.h) == len(step.c):  # a projecting LSTM mixes units in W_hr: not one unit's sum
        lines.append(UnitLine(at("h_t"), f"{at('o_t')} · tanh({at('c_t')})",
                              f"{_n(g['o'][j])} · tanh({_n(step.c[j])})", step.h[j]))
    return lines


def worked_step(step: StepRecord, unit: int) -> WorkedStep:
    """Step `step` in full, with `unit` followed through elementwise."""
    spec = cell_spec(step.cell)
    direction = "" if step.direction == "forward" else ", backward"
    title = (f"Step {step.step} of your {spec.display} (layer {step.layer}{direction}), "
             f"unit {unit}")
    return WorkedStep(
        title=title, cell=step.cell, step=step.step, unit=unit, terms=terms(step, spec),
        equations=list(step.equations), with_numbers=list(step.with_numbers),
        unit_lines=unit_lines(step, spec, unit),
        check=f"PyTorch's own h_{step.step} differs from this by at most "
              f"{step.max_abs_diff:.1e}",
    )


def lesson_steps(steps: list[StepRecord], seed: int = 0) -> tuple[WorkedStep, WorkedStep]:
    """The worked example and the faded one: two consecutive forward steps of layer 0.

    Step 2 first where there is one: step 1 starts from h_0 = 0, which hides what the
    recurrent term does. The faded step is the next one, so its answers cannot be copied;
    the unit is drawn from the seed (the same unit, so the learner repeats what was shown).
    """
    forward = [s for s in steps if s.direction == "forward" and s.layer == 0] or steps
    if not forward:
        raise ValueError("the trace has no step records")
    first = 1 if len(forward) >= 3 else 0
    worked_record = forward[first]
    faded_record = forward[min(first + 1, len(forward) - 1)]
    width = len(next(iter(worked_record.pre_activation.values())))  # H: every gate's width
    unit = random.Random(seed).randrange(width)
    # A one-step sequence has no next step: the faded example follows another unit instead.
    faded_unit = (unit + 1) % width if faded_record is worked_record else unit
    return worked_step(worked_record, unit), worked_step(faded_record, faded_unit)
