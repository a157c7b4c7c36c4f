"""The comparison in a terminal: one table of scores and costs, then what the views say."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rnntrace.records.comparison import Comparison


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def scores_table(c: Comparison) -> Table:
    """Every model's held-out scores beside what it cost (Best: the epoch of lowest held-out
    loss; s/ep: training seconds per epoch); seed groups as mean ± std."""
    table = Table(title=f"{len(c.models)} models on {c.held_out}", title_justify="left")
    table.add_column("Model", no_wrap=True)
    table.add_column("Settings", min_width=10)
    for name in ("Seed", "Acc", "Loss", "Params", "Epochs", "Best", "s/ep"):
        table.add_column(name, justify="right", no_wrap=True)
    for m in c.models:
        table.add_row(
            escape(m.name), escape(m.description), str(m.seed), _num(m.accuracy),
            _num(m.loss), str(m.parameters), str(m.epochs),
            str(m.best_epoch) if m.best_epoch is not None else "–", _num(m.epoch_seconds),
        )
    for g in c.groups:
        table.add_row(
            f"[bold]{len(g.runs)} seeds[/bold]", escape(g.name), "",
            f"{_num(g.accuracy_mean)} ± {_num(g.accuracy_std)}",
            f"{_num(g.loss_mean)} ± {_num(g.loss_std)}", str(g.parameters), "",
            _num(g.best_epoch_mean, 1), _num(g.epoch_seconds_mean),
        )
    return table


def similarity_table(c: Comparison) -> Table:
    table = Table(title="Linear CKA of what the head reads (1: the same up to rotation and "
                        "scale)", title_justify="left")
    table.add_column("")
    for m in c.models:
        table.add_column(escape(m.name), justify="right")
    for m, row in zip(c.models, c.similarity_summary, strict=True):
        table.add_row(escape(m.name), *(_num(v) for v in row))
    return table


def settled(decided: list[float], steps: list[int], share: float = 0.9) -> int | None:
    """The first step from which at least `share` of the sequences are on their final answer
    at every later step too (a model may reach it, leave it and come back); None if only the
    last step is."""
    first = None
    for step, value in zip(steps, decided, strict=True):
        if math.isfinite(value) and value >= share:
            first = step if first is None else first
        else:
            first = None
    return first if first is not None and first != steps[-1] else None


def findings(c: Comparison) -> Text:
    """What the per-step views say, in sentences true of these models."""
    lines = []
    said = []
    for m in c.models:
        step = settled(m.decided, c.steps)
        said.append(f"{m.name} from step {step} on" if step is not None
                    else f"{m.name} only at the end")
    lines.append("90 % of the sequences are on their final answer and stay there: "
                 + "; ".join(said) + ".")
    reach = []
    for m in c.models:
        finite = [g for g in m.gradient if math.isfinite(g) and g > 0]
        if len(finite) >= 2:
            reach.append(f"{m.name} {finite[0] / max(finite):.2g}")
    if reach:
        lines.append("The gradient reaching step 1, relative to its largest step: "
                     + "; ".join(reach) + ".")
    lines.append(f"The models disagree on {c.disagreeing} of {c.sequences} sequences.")
    return Text("\n".join(lines))


def comparison_renderables(c: Comparison) -> list[RenderableType]:
    return [scores_table(c), similarity_table(c), findings(c)]


def comparison_group(c: Comparison) -> Group:
    return Group(*comparison_renderables(c))
