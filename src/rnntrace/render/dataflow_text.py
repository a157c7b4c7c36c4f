"""Rich terminal views of the tracing records: data flow, steps, shapes, findings, dynamics.

Each function takes plain records and returns a rich renderable; the CLI prints it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from rnntrace._deprecated import renamed_getattr
from rnntrace.render.formatting import fmt_values, grouped_calls

if TYPE_CHECKING:
    from rnntrace.records import Dynamics, Finding, ModuleCalls, ShapeReport, StepRecord, TensorInfo


def _shape(shape: list[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def tensor_text(info: TensorInfo) -> str:
    """A tensor in one line: `h_n (4, 3, 4)`, or a PackedSequence with its batch sizes."""
    if info.packed:
        return (
            f"{info.name} packed {_shape(info.shape)} batch_sizes {info.batch_sizes} "
            f"lengths {info.lengths}"
        )
    return f"{info.name} {_shape(info.shape)}"


def module_calls_table(flow: ModuleCalls) -> Table:
    """Every submodule call, indented by depth, with its inputs, outputs and parameters."""
    table = Table(
        title=f"{escape(flow.model_type)}: {flow.n_parameters:,} parameters "
        f"({flow.n_trainable:,} trainable)",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("module", overflow="fold")  # a dotted name cut short names no module
    table.add_column("in", overflow="fold")
    table.add_column("out", overflow="fold")
    table.add_column("params", justify="right")
    for call, times in grouped_calls(flow.calls):
        name = "  " * call.depth + (call.name or "(model)")
        module = Text(f"{name}  ", style="bold")
        module.append(call.type, style="cyan")
        if times > 1:
            module.append(f"  called {times} times", style="bold")
        if call.reading:
            module.append(f"\n{'  ' * call.depth}  reads {call.reading}", style="dim")
        table.add_row(
            str(call.index),
            module,
            "\n".join(escape(tensor_text(i)) for i in call.inputs),
            "\n".join(escape(tensor_text(o)) for o in call.outputs),
            f"{call.n_parameters:,}",
        )
    return table


def step_table(step: StepRecord) -> Table:
    """One step laid out term by term: the equations, then each vector on its own row."""
    t = step.step
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for line in step.equations:
        grid.add_row("", escape(line))
    grid.add_row(f"x_{t}", fmt_values(step.x, 4))
    previous = t - 1 if step.direction == "forward" else t + 1  # backward reads from the end
    grid.add_row(f"h_{previous}", fmt_values(step.h_prev, 4))
    if step.c_prev is not None:
        grid.add_row("c_prev", fmt_values(step.c_prev, 4))
    for name, before in step.pre_activation.items():
        after = step.gates.get(name)
        label = "inside tanh" if name == "a" else f"gate {name}"
        values = fmt_values(before, 4)
        if after is not None:
            values += f" → {fmt_values(after, 4)}"
        grid.add_row(label, values)
    if step.c is not None:
        grid.add_row(f"c_{t}", fmt_values(step.c, 4))
    grid.add_row(f"h_{t}", fmt_values(step.h, 4))
    check = f"  (|difference| ≤ {step.max_abs_diff:.1e})"
    grid.add_row("PyTorch", fmt_values(step.h_torch, 4) + check)
    return grid


def steps_view(steps: list[StepRecord]) -> RenderableType:
    """Each step's equations, then every vector it reads and gives, and PyTorch's h_t beside."""
    parts: list[RenderableType] = []
    for s in steps:
        parts.append(Text(f"step {s.step} (layer {s.layer}, {s.direction}, read #{s.order})",
                          style="bold underline"))
        parts.append(step_table(s))
    return Group(*parts)


def shape_report_view(report: ShapeReport) -> RenderableType:
    """Measured shapes beside the formula for each dimension, and the parameter count."""
    table = Table(
        title=f"{escape(report.layer)} on zeros{escape(_shape(report.input_shape))}",
        title_justify="left",
    )
    table.add_column("tensor", style="bold")
    table.add_column("measured shape")
    table.add_column("where each number comes from")
    for line in report.lines:
        table.add_row(line.name, _shape(line.shape), escape(", ".join(line.formula)))
    parts: list[RenderableType] = [
        Text(f"reads the input as {report.reading}"),
        table,
        Text(f"parameters: {report.n_parameters:,}", style="bold"),
        Text("  " + report.parameter_formula),
    ]
    for name, shape in report.parameters.items():
        parts.append(Text(f"  {name} {_shape(shape)}", style="dim"))
    parts += [finding_view(f) for f in report.findings]
    return Group(*parts)


def finding_view(finding: Finding) -> RenderableType:
    """One explained mistake: expected, arrived, how PyTorch read it, the fix."""
    style = "red" if finding.severity == "error" else "yellow"
    text = Text(f"{finding.severity}: {finding.kind} in {finding.layer}\n", style=f"bold {style}")
    for label, value in (
        ("expected", finding.expected),
        ("got", finding.arrived),
        ("PyTorch", finding.how_read),
        ("fix", finding.fix),
    ):
        text.append(f"  {label:>8}: ", style="bold")
        text.append(value + "\n")
    return text


def dynamics_table(d: Dynamics) -> Table:
    """Per step: saturated share and ‖∂loss/∂h_t‖ for each direction."""
    table = Table(
        title=f"hidden-state dynamics ({d.cell}, loss {d.loss:.4f})", title_justify="left"
    )
    table.add_column("step", justify="right")
    table.add_column(f"saturated ({escape(d.measure)})", justify="right")
    names = ["‖∂L/∂h_t‖ forward", "‖∂L/∂h_t‖ backward"][: len(d.grad_norm)]
    for name in names:
        table.add_column(name, justify="right")
    for t in range(d.steps):
        table.add_row(
            str(t + 1),
            f"{d.saturated[t]:.1%}",
            *(f"{g[t]:.2e}" for g in d.grad_norm),
        )
    return table


__getattr__ = renamed_getattr(__name__, {"dataflow_table": "module_calls_table"}, globals())
