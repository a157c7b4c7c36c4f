"""Every record readable where it is shown: `print()`, Jupyter (`_repr_html_`) and rich consoles.

Each record calls its own view here (records sit above render, which knows them for type
checking only, as torchinfo's ModelStatistics uses its formatting module). A Trace in a notebook is
the report page itself, inside an `<iframe srcdoc>`: the page keeps its own Content-Security-
Policy and script, its element ids cannot clash with another output's, and nothing is loaded
from anywhere (no widget, no CDN). The sandbox lets its script run and nothing else.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rnntrace.render.choice_text import choice_renderables
from rnntrace.render.dataflow_text import finding_view, module_calls_table
from rnntrace.render.formatting import averaging_sentence
from rnntrace.render.text import (
    front_end_reading,
    loss_chart,
    observations,
    prediction_table,
    recomputation_section,
    stages_table,
    test_tables,
    training_table,
)

if TYPE_CHECKING:
    from rnntrace.records import (
        DecoderTrace,
        History,
        ModuleCalls,
        Question,
        Recomputation,
        Trace,
    )

WIDTH = 110  # characters of the terminal view when no terminal gives one
INLINE_HEIGHT = 900  # pixels of the inline page; it scrolls inside


def trace_renderables(trace: Trace) -> list[RenderableType]:
    """The one terminal view of a Trace, in the order the data flows, blank lines between
    sections; what `print(trace)`, rich, a notebook's text output and the CLI all show.
    Sections that do not apply are left out."""
    blank = Text("")
    parts: list[RenderableType] = []
    if trace.stages:
        parts.append(stages_table(trace.stages))
    calls = trace.module_calls
    if calls is not None:
        parts.append(Text("Every module call, recorded with forward hooks", style="bold"))
        parts.append(module_calls_table(calls))
        if trace.config is None:  # rnntrace's own runs show their findings elsewhere
            parts += [finding_view(f) for f in calls.findings]
            parts += [Text(note) for note in calls.notes]
    if trace.layers:
        parts.append(layers_table(trace))
    if trace.decoder is not None:
        parts.append(decoder_table(trace.decoder))
    if trace.training:
        score = trace.config.model.task_spec.score_short if trace.config is not None else "acc"
        parts += [blank, training_table(trace.training, score), observations(trace.training),
                  blank,
                  Text(loss_chart(trace.training))]
        if trace.averaging is not None:
            parts.append(Text(averaging_sentence(trace.averaging, _task(trace))))
    if trace.head is not None:  # a regression or per-step run's scores, strips and why
        from rnntrace.render.head_text import head_section

        parts += [blank, head_section(trace.head)]
    if trace.prediction is not None:
        parts += [blank, prediction_table(trace.prediction, **front_end_reading(trace))]
    if trace.prediction is not None or trace.steps or trace.recomputation is not None:
        parts += [blank, recomputation_section(trace)]
    if trace.test is not None:
        parts += [blank, test_tables(trace.test)]
    parts.append(blank)
    if trace.choice is not None:
        parts += [blank, *choice_renderables(trace.choice)]
    parts.append(Panel(escape(trace.insight), title="Key Insight", title_align="left"))
    return parts


def print_trace(trace: Trace, out: Console) -> None:
    """The trace's terminal view, printed section by section (`rnntrace demo`, `train`)."""
    for part in trace_renderables(trace):
        out.print(part)


def layers_table(trace: Trace) -> Table:
    table = Table(title="Recurrent layers recomputed from their own weights", title_justify="left")
    for name in ("Layer", "Built as", "Read its input as", "Largest |hand − PyTorch|", ""):
        table.add_column(name)
    for layer in trace.layers:
        r = layer.recomputation
        reading = layer.reading + (f" ({layer.note})" if layer.note else "")
        table.add_row(
            escape(layer.name), escape(layer.label), escape(reading),
            f"{r.max_abs_diff:.1e}", "✓" if r.matches else "✗",
        )
    return table


def decoder_table(decoder: DecoderTrace) -> Table:
    """Each decoder step: the token read and where from, what it emitted, its attention."""
    table = Table(title=f"Decoder {escape(decoder.name)}, step by step (sequence 0)",
                  title_justify="left")
    for name in ("step", "read token", "which was", "emitted", "P"):
        table.add_column(name)
    if decoder.attention:
        table.add_column(f"attention over the {decoder.encoder_steps} encoder steps")
    for i, s in enumerate(decoder.steps):
        row = [str(s.step), "–" if s.token is None else str(s.token), escape(s.read),
               "–" if s.emitted is None else str(s.emitted),
               "–" if s.probability is None else f"{s.probability:.3f}"]
        if decoder.attention:
            row.append(" ".join(f"{w:.2f}" for w in decoder.attention[i]))
        table.add_row(*row)
    return table


def trace_text(trace: Trace) -> str:
    return _text(trace_renderables(trace))


def trace_html(trace: Trace) -> str:
    """The report page, inline: one iframe whose whole document is in its srcdoc attribute."""
    from rnntrace.render.html import render_report

    page = html.escape(render_report(trace), quote=True)
    return (
        f'<iframe class="rnntrace-report" sandbox="allow-scripts" srcdoc="{page}" '
        f'style="width: 100%; height: {INLINE_HEIGHT}px; border: 1px solid #ccc" '
        f'title="rnntrace report"></iframe>'
    )


def module_calls_renderables(calls: ModuleCalls) -> list[RenderableType]:
    return [module_calls_table(calls), *(finding_view(f) for f in calls.findings)]


def history_renderables(history: History) -> list[RenderableType]:
    if not history.records:
        return [Text("No epochs recorded yet.")]
    return [training_table(history.records), observations(history.records)]


def recomputation_renderables(r: Recomputation) -> list[RenderableType]:
    return [recomputation_view(r)]


def question_renderables(q: Question) -> list[RenderableType]:
    return [question_view(q)]


def text_of(parts: Iterable[RenderableType]) -> str:
    """A record's terminal view as plain text, as `print()` shows it."""
    return _text(parts)


def html_of(parts: Iterable[RenderableType]) -> str:
    """A small record as HTML: its terminal view with colours, inline styles, no script."""
    out = Console(record=True, width=WIDTH, file=io.StringIO(), highlight=False)
    for part in parts:
        out.print(part)
    return out.export_html(
        inline_styles=True,
        code_format='<pre class="rnntrace" style="font-family: monospace">{code}</pre>',
    )


def recomputation_view(r: Recomputation) -> Table:
    layout = "batch_first" if r.batch_first else "sequence-first"
    table = Table(
        title=f"{r.cell.upper()} recomputed by hand ({r.num_layers} layer(s), "
        f"{'bidirectional' if r.bidirectional else 'one direction'}, {layout}, input "
        f"{tuple(r.input_shape)})",
        title_justify="left",
    )
    table.add_column("Compared with PyTorch")
    table.add_column("Largest |difference|", justify="right")
    rows = [("output", r.diff_output), ("h_n", r.diff_h_n)]
    if r.diff_c_n is not None:
        rows.append(("c_n", r.diff_c_n))
    for name, diff in rows:
        table.add_row(name, f"{diff:.1e}")
    verdict = "✓ matches" if r.matches else "✗ differs from"
    table.caption = f"{verdict} PyTorch within {r.tolerance:g}; equations: " + "; ".join(
        r.equations
    )
    return table


def question_view(q: Question) -> Panel:
    lines: list[RenderableType] = [Text(q.prompt)]
    if q.code:
        lines.append(Text(q.code, style="cyan"))
    for letter, option in zip("ABCD", q.options, strict=False):
        lines.append(Text(f"  {letter}  {option}"))
    if q.hint:
        lines.append(Text(f"Hint: {q.hint}", style="dim"))
    from rich.console import Group

    return Panel(Group(*lines), title=f"Question ({q.level}, {q.template})", title_align="left")


def _text(parts: Iterable[RenderableType]) -> str:
    out = Console(width=WIDTH, file=io.StringIO(), highlight=False, color_system=None)
    for part in parts:
        out.print(part)
    file = out.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _task(trace: Trace) -> str:
    """The run's task (task.py); a user's own model traced with rt.trace has no config."""
    return trace.config.model.task if trace.config is not None else "classify"
