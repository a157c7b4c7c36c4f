"""The explanation in the terminal: plain lines, no torch (tests read them as text).

    Attribution per step (height |value|; + pushed towards 'rising', − away from it)
      steps 1–10: ▁▁▂▃▂▄▅▆█▇
                  −+++−+++++
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnntrace.records.explanation import (
        Attribution,
        Completeness,
        Explanation,
        PlantedCheck,
        UnitSummary,
    )


BLOCKS = "▁▂▃▄▅▆▇█"
STRIP = 60  # steps per strip line; longer sequences are shown in several rows
BAR = 24  # width of a feature's bar


def strip(values: list[float]) -> tuple[str, str]:
    """One block per value, height by |value| against the largest, and a sign line."""
    top = max((abs(v) for v in values), default=0.0) or 1.0
    blocks = "".join(
        " " if v == 0 else BLOCKS[min(len(BLOCKS) - 1, int(abs(v) / top * len(BLOCKS)))]
        for v in values
    )
    signs = "".join("+" if v > 0 else ("−" if v < 0 else " ") for v in values)
    return blocks, signs


def completeness_line(c: Completeness) -> str:
    mark = "✓ holds" if c.holds else "✗ does NOT hold"
    tried = ", ".join(str(s) for s in c.tried)
    how = (f"{c.n_steps} steps" if c.pieces == 1 else
           f"{c.n_steps} gradient evaluations over {c.pieces} pieces of the path")
    line = (f"Completeness: Σ attributions = {c.attribution_sum:.4f}, f(x) − f(baseline) = "
            f"{c.f_input:.4f} − ({c.f_baseline:.4f}) = {c.f_input - c.f_baseline:.4f}; error "
            f"{100 * c.error:.3g} % ({mark} within {100 * c.tolerance:g} %, {how}; "
            f"uniform steps tried {tried})")
    if c.jumps:
        where = ", ".join(f"{j.size:+.4f} at α = {j.at:.6f}" for j in c.jumps)
        line += (f". The score jumps on the path from the baseline (α = 0) to the input "
                 f"(α = 1): {where}, within 1e-6 of the path: the recurrent state flips "
                 f"between two stable states there, a change no gradient sees. Counting the "
                 f"jump{'s' if len(c.jumps) > 1 else ''}, the attributions account for the rest "
                 f"within {100 * c.error_apart_from_jumps:.2g} %. The occlusion check does not "
                 f"rely on gradients")
    return line


def attribution_lines(a: Attribution) -> list[str]:
    prob = a.probabilities[a.target]
    truth = "" if a.true_class is None else f", true class {a.class_names[a.true_class]!r}"
    lines = [f"Why sequence {a.sequence_id!r} ({a.length} steps{truth}) scores "
             f"{a.target_name!r} (P = {prob:.3f}): {a.method}",
             f"Baseline: {a.baseline}", "", "Attribution per step (height |value|; + pushed "
             f"towards {a.target_name!r}, − away from it)"]
    for start in range(0, a.length, STRIP):
        part = a.per_step[start : start + STRIP]
        blocks, signs = strip(part)
        label = f"  steps {start + 1}–{start + len(part)}: "
        lines += [label + blocks, " " * len(label) + signs]
    peak = max(range(a.length), key=lambda t: abs(a.per_step[t]))
    lines.append(f"  largest at step {peak + 1}: {a.per_step[peak]:+.4f}")
    lines += ["", "Attribution per feature (summed over steps)"]
    top = max((abs(v) for v in a.per_feature), default=0.0) or 1.0
    width = max(len(n) for n in a.feature_names[:20])
    order = sorted(range(len(a.per_feature)), key=lambda f: -abs(a.per_feature[f]))
    for f in order[:20]:
        v = a.per_feature[f]
        bar = "█" * max(0, round(abs(v) / top * BAR))
        lines.append(f"  {a.feature_names[f]:<{width}} {v:+.4f} {bar}")
    if len(order) > 20:
        lines.append(f"  … {len(order) - 20} more features in explain.json")
    lines += ["", completeness_line(a.completeness)]
    if a.occlusion is not None:
        rho = a.occlusion.rank_agreement
        said = "–" if rho is None else f"{rho:.2f}"
        lines.append(f"Check by occlusion (each step set to the baseline): rank agreement with "
                     f"Integrated Gradients, Spearman ρ = {said}")
    return lines


def unit_lines(units: UnitSummary, limit: int = 3) -> list[str]:
    lines = [f"Units that best separate the classes (over {units.n_sequences} held-out "
             "sequences; F of one-way ANOVA on each sequence's mean activation)"]
    for u in units.separating[:limit]:
        unit = units.units[u]
        means = ", ".join(f"{c} {m:+.2f}" for c, m in zip(units.class_names, unit.class_means,
                                                           strict=True))
        f = "–" if unit.f_score is None else f"{unit.f_score:.1f}"
        peak = unit.peaks[0] if unit.peaks else None
        where = "" if peak is None else (f"; most active in {peak.sequence_id!r} at step "
                                         f"{peak.step} ({peak.value:+.2f}, {peak.label})")
        lines.append(f"  {unit.name:<8} F = {f:>7}   mean: {means}{where}")
    return lines


def planted_lines(check: PlantedCheck) -> list[str]:
    verdict = "✓ passed" if check.passed else "✗ FAILED"
    return [
        f"Planted-signal self-test ({check.cell.upper()}"
        f"{', bidirectional' if check.bidirectional else ''}): the class is decided by steps "
        f"{check.window[0]}–{check.window[1]} of feature(s) {check.features}",
        f"  share of |attribution| inside that window, over {check.n_sequences} held-out "
        f"sequences: trained {100 * check.share_trained:.0f} % (accuracy "
        f"{100 * check.accuracy_trained:.0f} %), untrained {100 * check.share_untrained:.0f} % "
        f"(accuracy {100 * check.accuracy_untrained:.0f} %), by chance "
        f"{100 * check.share_by_chance:.0f} %",
        f"  completeness {'held' if check.completeness_holds else 'did NOT hold'} for every "
        f"sequence; {verdict} (trained ≥ 50 % and ≥ 20 points above untrained)",
    ]


def explanation_lines(e: Explanation) -> list[str]:
    """The whole explanation as terminal lines."""
    lines: list[str] = []
    if e.attribution is not None:
        lines += attribution_lines(e.attribution)
    if e.units is not None:
        lines += ["", *unit_lines(e.units)]
    if e.hard_cases:
        lines += ["", "Hardest held-out cases (largest loss; rnntrace explain RUN --sequence ID)"]
        for case in e.hard_cases:
            p, a = case.prediction, case.attribution
            peak = max(range(a.length), key=lambda t: abs(a.per_step[t]))
            truth = "?" if p.true_class is None else p.class_names[p.true_class]
            lines.append(f"  {p.sequence_id!r:<12} loss {case.loss:6.3f}  true {truth!r} → "
                         f"predicted {p.class_names[p.predicted]!r} (P = "
                         f"{p.probabilities[p.predicted]:.2f}); step {peak + 1} weighed most")
    if e.planted is not None:
        lines += ["", *planted_lines(e.planted)]
    return lines


def explanation_renderables(e: Explanation) -> list[Any]:
    """The explanation's lines as rich Text (never read as markup: ids come from files)."""
    from rich.text import Text

    return [Text(line) for line in explanation_lines(e)]
