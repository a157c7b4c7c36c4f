"""The report's explain section: figures and the data its script reads, from an Explanation.

Pure: records in, SVG and plain dicts out. Every string from data reaches the page through the
template's autoescaping, the SVG writer's escaping, or the script's textContent.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from matplotlib import rc_context
from matplotlib.figure import Figure

from rnntrace.render.explain_text import completeness_line

# The figure writer of the report's other figures (ids prefixed, escaped, scalable).
from rnntrace.render.plots import _RC, _to_svg, short, unit_names

if TYPE_CHECKING:
    from rnntrace.records import PredictionTrace, Trace
    from rnntrace.records.explanation import Attribution, Explanation, LayerTerms

MAX_LINES = 12  # input features drawn; the attribution grid below shows every feature
# Per-unit terms are numerous (steps × gates × units × 5); the page carries them for the traced
# sequence first, then for hard cases while this many numbers are not exceeded (explain.json
# holds them all). The lesson needs 400 a sequence.
TERMS_BUDGET = 60_000
DIGITS = 4  # the page shows 4 decimals; explain.json keeps full precision


def attribution_figure(p: PredictionTrace, a: Attribution, key: str) -> str:
    """The input plot with each step shaded by its attribution, over a step × feature grid."""
    steps = list(range(1, a.length + 1))
    top = max((abs(v) for v in a.per_step), default=0.0) or 1.0
    cell_top = max((abs(v) for row in a.values for v in row), default=0.0) or 1.0
    n_features = len(a.feature_names)
    with rc_context(_RC):
        height = 2.4 + min(3.0, 0.18 * n_features)
        fig = Figure(figsize=(5.6, height))
        # Fixed margins in inches (every label is ours or cut short): no layout engine.
        fig.subplots_adjust(left=0.12, right=0.8, bottom=0.5 / height, top=1 - 0.3 / height,
                            hspace=0.45)
        ax, grid = fig.subplots(2, 1, sharex=True,
                                gridspec_kw={"height_ratios": [2.0, max(1.0, 0.12 * n_features)]})
        lines = [[row[f] if math.isfinite(row[f]) else math.nan for row in p.inputs]
                 for f in range(min(MAX_LINES, len(p.feature_names)))]
        finite = [v for line in lines for v in line if math.isfinite(v)] or [0.0]
        low, high = min(finite), max(finite)
        pad = 0.05 * (high - low or 1.0)
        # One image row behind the lines, a pixel per step (small for any length): red pushed
        # towards the explained class, blue away from it, as the heatmap colours.
        band = [[(0.84, 0.15, 0.16, 0.55 * abs(v) / top) if v > 0
                 else (0.12, 0.47, 0.71, 0.55 * abs(v) / top) for v in a.per_step]]
        ax.imshow(band, extent=(0.5, a.length + 0.5, low - pad, high + pad), aspect="auto",
                  interpolation="nearest", zorder=0)
        marker = "o" if a.length <= 30 else None
        for f, line in enumerate(lines):
            ax.plot(steps, line, marker=marker, markersize=2.5, linewidth=1,
                    label=short(p.feature_names[f], 16))
        ax.set_xlim(0.5, a.length + 0.5)
        ax.set_ylim(low - pad, high + pad)
        ax.set_ylabel("x_t (raw)")
        ax.set_title(f"Attribution to {short(a.target_name)!r} over the input")
        ax.legend(frameon=False, fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.grid(False)
        grid.grid(False)
        values = [[a.values[t][f] for t in range(a.length)] for f in range(n_features)]  # (F, T)
        grid.pcolormesh([s - 0.5 for s in range(1, a.length + 2)],
                        [f - 0.5 for f in range(n_features + 1)], values, cmap="RdBu_r",
                        vmin=-cell_top, vmax=cell_top, rasterized=a.length * n_features > 4000)
        grid.invert_yaxis()
        if n_features <= 16:
            grid.set_yticks(range(n_features))
            grid.set_yticklabels([short(n, 12) for n in a.feature_names], fontsize=6)
        grid.set_xlabel("time step t")
        grid.set_title("per step and feature (red: towards, blue: away)", fontsize=8)
        if a.length <= 30:
            grid.set_xticks(steps)
        return _to_svg(fig, key, f"Attribution of sequence {a.sequence_id} to class "
                       f"{a.target_name}, step by step, drawn over its input")


def _terms_view(terms: list[LayerTerms]) -> list[dict[str, Any]]:
    """The top layer's terms, per step, with forward units first: as the heatmap's columns."""
    if not terms:
        return []
    top = max(t.layer for t in terms)
    layers = [t for t in terms if t.layer == top]  # forward, then backward
    out = []
    for t in range(len(layers[0].steps)):
        gates: dict[str, dict[str, list[float]]] = {}
        for part in ("from_x", "from_h", "bias", "pre", "value"):
            for layer in layers:
                for name, g in layer.steps[t].gates.items():
                    gates.setdefault(name, {}).setdefault(part, []).extend(
                        round(v, DIGITS) for v in getattr(g, part))
        h = [round(v, DIGITS) for layer in layers for v in layer.steps[t].h]
        out.append({"t": t + 1, "gates": gates, "h": h})
    return out


def _case(p: PredictionTrace, a: Attribution, terms: list[LayerTerms], loss: float | None,
          traced: bool) -> dict[str, Any]:
    return {
        "id": p.sequence_id,
        "traced": traced,
        "label": "traced sequence" if traced else ("hard case" if loss is not None
                                                   else "sequence"),
        "length": p.length,
        "true": None if p.true_class is None else p.class_names[p.true_class],
        "predicted": p.class_names[p.predicted],
        "probability": p.probabilities[p.predicted],
        "loss": loss,
        "target": a.target_name,
        "hidden": [[round(v, DIGITS) for v in row] for row in p.hidden_states],
        "per_step": [round(v, DIGITS) for v in a.per_step],
        "terms": _terms_view(terms),
    }


def _terms_size(terms: list[LayerTerms]) -> int:
    top = max((t.layer for t in terms), default=0)
    return sum(5 * len(s.h) * len(s.gates) for t in terms if t.layer == top for s in t.steps)


def explain_view(explanation: Explanation, trace: Trace) -> dict[str, Any]:
    """What the template and the script need for the explain section."""
    bidirectional = trace.config is not None and trace.config.model.bidirectional
    cases: list[dict[str, Any]] = []
    figures: list[str] = []
    lines: list[list[str]] = []
    p, a = trace.prediction, explanation.attribution
    traced = p is not None and a is not None and a.sequence_id == p.sequence_id
    if not traced:  # a sequence other than the traced one: its own prediction, if recorded
        p = explanation.prediction
    if p is not None and a is not None:
        cases.append(_case(p, a, explanation.terms, None, traced=traced))
        figures.append(attribution_figure(p, a, "attr-0"))
        lines.append(_check_lines(a))
    budget = TERMS_BUDGET - _terms_size(explanation.terms)
    for case in explanation.hard_cases:
        key = f"attr-{len(cases)}"
        size = _terms_size(case.terms)
        budget -= size
        cases.append(_case(case.prediction, case.attribution,
                           case.terms if budget >= 0 else [], case.loss, traced=False))
        figures.append(attribution_figure(case.prediction, case.attribution, key))
        lines.append(_check_lines(case.attribution))
    width = len(cases[0]["hidden"][0]) if cases and cases[0]["hidden"] else 0
    grad = trace.dynamics.grad_norm if trace.dynamics is not None else []
    return {
        "cases": cases,
        "figures": figures,
        "checks": lines,
        "units": unit_names(width, bidirectional),
        "grad_norm": grad,
        "summary": explanation.units,
        "baseline": a.baseline if a is not None else "",
        "method": a.method if a is not None else "",
    }


def _check_lines(a: Attribution) -> list[str]:
    out = [completeness_line(a.completeness)]
    if a.occlusion is not None and a.occlusion.rank_agreement is not None:
        out.append(f"Occlusion of each step agrees in rank with Integrated Gradients: "
                   f"Spearman ρ = {a.occlusion.rank_agreement:.2f}")
    return out
