"""The report's explain section: figures and the data its script reads, from an Explanation.

Pure: records in, SVG and plain dicts out. Every string from data reaches the page through the
template's autoescaping, the SVG writer's escaping (attribution_svg.py), or the script's
textContent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnntrace.render.attribution_svg import attribution_svg
from rnntrace.render.explain_text import completeness_line, hard_cases_heading, loss_text
from rnntrace.render.plots import unit_names

if TYPE_CHECKING:
    from rnntrace.records import PredictionTrace, Trace
    from rnntrace.records.explanation import Attribution, Explanation, LayerTerms

# Per-unit terms are numerous (steps × gates × units × 5); the page carries them for the traced
# sequence first, then for hard cases while this many numbers are not exceeded (explain.json
# holds them all). The lesson needs 400 a sequence.
TERMS_BUDGET = 60_000
DIGITS = 4  # the page shows 4 decimals; explain.json keeps full precision


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
          traced: bool, hard: str = "hard case") -> dict[str, Any]:
    return {
        "id": p.sequence_id,
        "traced": traced,
        "label": "traced sequence" if traced else (hard if loss is not None else "sequence"),
        "length": p.length,
        "true": None if p.true_class is None else p.class_names[p.true_class],
        "predicted": p.class_names[p.predicted],
        "probability": p.probabilities[p.predicted],
        "loss": loss,
        "loss_text": None if loss is None else loss_text(loss),
        "target": a.target_name,
        "hidden": [[round(v, DIGITS) for v in row] for row in p.hidden_states],
        "per_step": [round(v, DIGITS) for v in a.per_step],
        "against_data": a.data_baselines is not None,
        "checks_line": _checks_line(a),
        "warning": (a.baseline_check.advice if a.baseline_check is not None else None),
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
        figures.append(attribution_svg(p, a, "attr-0"))
        lines.append(_check_lines(a))
    budget = TERMS_BUDGET - _terms_size(explanation.terms)
    for case in explanation.hard_cases:
        key = f"attr-{len(cases)}"
        size = _terms_size(case.terms)
        budget -= size
        cases.append(_case(case.prediction, case.attribution,
                           case.terms if budget >= 0 else [], case.loss, traced=False,
                           hard="least confident" if explanation.no_mistake else "hard case"))
        figures.append(attribution_svg(case.prediction, case.attribution, key))
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
        "hard_heading": hard_cases_heading(explanation) if explanation.hard_cases else "",
        "baseline": a.baseline if a is not None else "",
        "method": a.method if a is not None else "",
    }


def _checks_line(a: Attribution) -> str:
    """The checks in one line, each with its mark; the lines under it give their numbers."""
    parts = [f"completeness {'✓' if a.completeness.holds else '✗'}"]
    if a.data_baselines is not None:
        held = a.data_baselines.completeness.holds
        parts.append(f"against data baselines {'✓' if held else '✗'}")
    if a.occlusion is not None and a.occlusion.rank_agreement is not None:
        parts.append(f"occlusion agrees in rank, ρ = {a.occlusion.rank_agreement:.2f}")
    return "Checks: " + ", ".join(parts)


def _check_lines(a: Attribution) -> list[str]:
    out = [completeness_line(a.completeness)]
    d = a.data_baselines
    if d is not None:
        out.append(f"Against baselines drawn from the data ({d.baseline}): "
                   + completeness_line(d.completeness).replace("f(baseline)", "mean f(baseline)"))
    if a.occlusion is not None and a.occlusion.rank_agreement is not None:
        out.append(f"Occlusion of each step agrees in rank with Integrated Gradients: "
                   f"Spearman ρ = {a.occlusion.rank_agreement:.2f}")
    return out
