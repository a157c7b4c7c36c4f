"""The learner's views in the terminal: a worked step, a faded one's lines, the mastery table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnntrace.render.formatting import term_lines
from rnntrace.render.worked import Term, UnitLine, WorkedStep

_SHOWN = 8  # vector entries before "…"
_STYLE = {"not started": "dim", "attempted": "red", "familiar": "yellow", "proficient": "cyan",
          "mastered": "bold green"}


def vector(values: Sequence[float]) -> str:
    head = ", ".join(f"{v:.4f}" for v in values[:_SHOWN])
    return f"[{head}{', …' if len(values) > _SHOWN else ''}]"


def terms_table(terms: list[Term], unit: int) -> Table:
    """Each term: its symbol, what it is, its value at `unit` (where it has one), all values."""
    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
    table.add_column("term")
    table.add_column("what it is")
    table.add_column(f"unit {unit}", justify="right")
    table.add_column("values", overflow="fold")
    for term in terms:
        at_unit = f"{term.values[unit]:.4f}" if term.per_unit else "–"
        table.add_row(term.symbol, term.meaning, at_unit, vector(term.values))
    return table


def unit_line(line: UnitLine, *, blank: bool = False) -> Text:
    """`h_3[2] = o_3[2] · tanh(c_3[2]) = 0.51 · tanh(0.88) = 0.3612`, or `= ?` when blank."""
    result = "?" if blank else f"{line.value:.4f}"
    return Text.assemble((line.symbol, "bold"), f" = {line.formula}\n      = {line.numbers} = ",
                         (result, "bold yellow" if blank else "bold green"))


def worked_view(worked: WorkedStep) -> RenderableType:
    """The step in full: the named terms, the equations with numbers, one unit followed."""
    equations = [Text(f"  {line}", overflow="fold")
                 for equation in worked.with_numbers for line in term_lines(equation)]
    units = [unit_line(line) for line in worked.unit_lines]
    return Group(
        Text(worked.title, style="bold"),
        Text("Every term of the step, named:"), terms_table(worked.terms, worked.unit),
        Text("\nThe equations with this step's numbers:"), *equations,
        Text(f"\nOne unit followed through (unit {worked.unit}):"), *units,
        Text(f"\n✓ {worked.check}", style="dim"),
    )


def faded_view(faded: WorkedStep) -> RenderableType:
    """The next step's terms, with the unit's results left for the learner."""
    return Group(
        Text(faded.title + ": your turn", style="bold"),
        Text("The terms are given; the results for one unit are blank."),
        terms_table([t for t in faded.terms if not _is_result(t, faded)], faded.unit),
    )


def _is_result(term: Term, faded: WorkedStep) -> bool:
    """Terms whose values would give a blank away: the unit lines' own results."""
    results = {line.symbol.split("[")[0] for line in faded.unit_lines}
    return term.symbol in results


def mastery_table(rows: list[tuple[str, str, str]]) -> Table:
    """(concept, level, why) per concept."""
    table = Table(title="Your mastery", show_header=True, header_style="bold", box=None,
                  padding=(0, 1), title_justify="left")
    table.add_column("concept")
    table.add_column("level")
    table.add_column("why", overflow="fold")
    for concept, level, why in rows:
        table.add_row(concept, Text(level, style=_STYLE.get(level, "")), why)
    return table


def reviews_table(rows: list[tuple[str, str, str]], waiting: int) -> Table:
    """(when due, concept, question) for the reviews due soonest, of `waiting` in all."""
    more = f" (the {len(rows)} soonest of {waiting})" if waiting > len(rows) else ""
    table = Table(title=f"What you missed, and when to review it{more}", show_header=True,
                  header_style="bold", box=None, padding=(0, 1), title_justify="left")
    table.add_column("due", no_wrap=True, min_width=max([3, *(len(r[0]) for r in rows)]))
    table.add_column("concept", no_wrap=True, min_width=max([7, *(len(r[1]) for r in rows)]))
    table.add_column("question", overflow="ellipsis", no_wrap=True, ratio=1)
    for due, concept, prompt in rows:
        table.add_row(due, concept, prompt)
    return table
