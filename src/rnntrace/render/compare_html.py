"""The comparison page: one self-contained, offline HTML page of a Comparison.

No script runs: the step-throughs open with <details>, the figures are inline SVG
(svg_charts), and the Comparison itself rides along as a JSON data island for anyone who
wants the numbers (the tests read it back). Every string from the runs is escaped.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import TYPE_CHECKING, Any

from rnntrace.render.formatting import fmt_number
from rnntrace.render.html import json_island
from rnntrace.render.svg_charts import PALETTE, Series, heatmap, line_chart

if TYPE_CHECKING:
    from rnntrace.records.comparison import Comparison, Disagreement

__all__ = ["COMPARE_PAGE", "render_compare_page"]

COMPARE_PAGE = "compare.html"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; " \
      "form-action 'none'"


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _views(c: Comparison) -> dict[str, str]:
    """The per-step views, each a chart with one line per model."""
    def series(values: list[list[float]], xs: list[int]) -> list[Series]:
        return [Series(m.name, xs, v, _color(i)) for i, (m, v) in
                enumerate(zip(c.models, values, strict=True))]

    views = {
        "decide": line_chart(series([m.true_class_probability for m in c.models], c.steps),
                             title="Mean probability of the true class after each step",
                             x_label="step", y_range=(0.0, 1.0)),
        "decided": line_chart(series([m.decided for m in c.models], c.steps),
                              title="Share of sequences already on their final answer",
                              x_label="step", y_range=(0.0, 1.0)),
        "memory": line_chart(
            [Series(m.name, list(range(1, len(m.gradient) + 1)), m.gradient, _color(i))
             for i, m in enumerate(c.models)],
            title="‖∂loss/∂h_t‖: the loss reaching each step", x_label="step", log=True),
    }
    if any(m.attribution for m in c.models):
        views["attribution"] = line_chart(
            series([m.attribution or [math.nan] * len(c.steps) for m in c.models], c.steps),
            title="Mean share of |Integrated Gradients| on each step", x_label="step")
    return views


def _step_through(c: Comparison, d: Disagreement) -> list[dict[str, Any]]:
    out = []
    for index, view in enumerate(d.models):
        probs = view.probabilities
        chart = line_chart(
            [Series(name, d.steps, [row[k] for row in probs], _color(k), dashed=k != d.true_class)
             for k, name in enumerate(c.class_names)],
            title=f"{view.model}: each class's probability after each step",
            x_label="step", y_range=(0.0, 1.0), width=360, height=180)
        steps = len(view.hidden)
        cell = max(3, min(14, 560 // max(steps, 1)))
        out.append({
            "model": view.model,
            "color": _color(index),
            "predicted": c.class_names[view.predicted],
            "right": view.predicted == d.true_class,
            "final": probs[-1][view.predicted] if probs else math.nan,
            "chart": chart,
            "heatmap": heatmap(view.hidden, title=f"{view.model}: hidden state h_t of sequence "
                               f"{d.sequence_id} after each step", cell=cell),
            "rows": [(step, c.class_names[max(range(len(row)), key=row.__getitem__)], row)
                     for step, row in zip(d.steps, probs, strict=True)],
        })
    return out


def render_compare_page(c: Comparison) -> str:
    """The page as one HTML string: no external file, font, script or request."""
    import jinja2
    from markupsafe import Markup

    here = resources.files("rnntrace.render")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = fmt_number
    template = env.from_string((here / "compare.html.j2").read_text(encoding="utf-8"))
    return template.render(
        c=c,
        csp=CSP,
        style=Markup((here / "compare.css").read_text(encoding="utf-8")),
        views={k: Markup(v) for k, v in _views(c).items()},
        colors=[_color(i) for i in range(len(c.models))],
        disagreements=[(d, [dict(v, chart=Markup(v["chart"]), heatmap=Markup(v["heatmap"]))
                            for v in _step_through(c, d)]) for d in c.disagreements],
        island=Markup(json_island(c.to_dict())),
        shade=lambda v: f"background: rgba(0, 114, 178, {max(0.0, min(1.0, v)) * 0.6:.2f})",
    )

