"""The explanation in the terminal: plain lines, no torch (tests read them as text).

    Attribution per step (height |value|; + pushed towards 'rising', − away from it)
      steps 1–10: ▁▁▂▃▂▄▅▆█▇
                  −+++−+++++
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnntrace.render.formatting import apart

if TYPE_CHECKING:
    from rnntrace.records.explanation import (
        Attribution,
        Completeness,
        Explanation,
        NumberAttribution,
        PlantedCheck,
        TargetExplanation,
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


def completeness_line(c: Completeness, units: bool = False) -> str:
    """The completeness check in words: a class's score to four decimals; with `units` (a
    number in a target's units, any scale) significant digits, f(x) and f(baseline) apart."""
    if units:
        f_input, f_baseline = apart(c.f_input, c.f_baseline)
        total, difference = number(c.attribution_sum), number(c.f_input - c.f_baseline)
    else:
        f_input, f_baseline, total, difference = (
            f"{v:.4f}" for v in (c.f_input, c.f_baseline, c.attribution_sum,
                                 c.f_input - c.f_baseline))
    mark = "✓ holds" if c.holds else "✗ does NOT hold"
    tried = ", ".join(str(s) for s in c.tried)
    how = (f"{c.n_steps} steps" if c.pieces == 1 else
           f"{c.n_steps} gradient evaluations over {c.pieces} pieces of the path")
    line = (f"Completeness: Σ attributions = {total}, f(x) − f(baseline) = "
            f"{f_input} − ({f_baseline}) = {difference}; error "
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
    lines += _step_and_feature_lines(a.per_step, a.per_feature, a.feature_names, "+.4f")
    lines += ["", completeness_line(a.completeness)]
    if a.baseline_check is not None and a.baseline_check.advice is not None:
        lines.append(f"⚠ {a.baseline_check.advice}")
    if a.occlusion is not None:
        lines.append(occlusion_line(a.occlusion.rank_agreement))
    return lines


def occlusion_line(rho: float | None, measured: str = "") -> str:
    """The occlusion check in one line: each step set to the baseline, and how well the order
    of the `measured` changes agrees with Integrated Gradients' (– when it cannot be ranked)."""
    said = "–" if rho is None else f"{rho:.2f}"
    what = f"each step set to the baseline, {measured}" if measured else \
        "each step set to the baseline"
    return (f"Check by occlusion ({what}): rank agreement with Integrated Gradients, "
            f"Spearman ρ = {said}")


def data_baseline_lines(a: Attribution) -> list[str]:
    """The same sequence against baselines drawn from the data: per step, per feature, check."""
    d = a.data_baselines
    if d is None:
        return []
    lines = [f"Against baselines drawn from the data: {d.baseline} (mean P({a.target_name!r}) "
             f"= {d.p_baseline:.3f} over them)"]
    for start in range(0, a.length, STRIP):
        part = d.per_step[start : start + STRIP]
        blocks, signs = strip(part)
        label = f"  steps {start + 1}–{start + len(part)}: "
        lines += [label + blocks, " " * len(label) + signs]
    peak = max(range(a.length), key=lambda t: abs(d.per_step[t]))
    order = sorted(range(len(d.per_feature)), key=lambda f: -abs(d.per_feature[f]))[:3]
    named = ", ".join(f"{a.feature_names[f]} {d.per_feature[f]:+.4f}" for f in order)
    lines.append(f"  largest at step {peak + 1}: {d.per_step[peak]:+.4f}; features {named}")
    lines.append(completeness_line(d.completeness).replace("f(baseline)", "mean f(baseline)")
                 + f"; {d.holds_each} of {d.n_baselines} baselines within it on their own")
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
    lines = [
        f"Planted-signal self-test ({check.cell.upper()}"
        f"{', bidirectional' if check.bidirectional else ''}): the class is decided by the level "
        f"of steps {check.window[0]}–{check.window[1]} of feature(s) {check.features}",
        f"  share of |attribution| inside that window, over {check.n_sequences} held-out "
        f"sequences, baselines drawn from the data: trained {100 * check.share_trained:.0f} % "
        f"(accuracy {100 * check.accuracy_trained:.0f} %), untrained "
        f"{100 * check.share_untrained:.0f} % (accuracy {100 * check.accuracy_untrained:.0f} %), "
        f"by chance {100 * check.share_by_chance:.0f} %",
    ]
    for c in check.classes:
        at_mean = (" (the training mean: the mean baseline is such a sequence)"
                   if c.level == 0 else "")
        level = "0" if c.level == 0 else f"{c.level:+g} × amplitude"
        lines.append(f"  class {c.name!r}, level {level}{at_mean}: {c.n_sequences} "
                     "predicted, "
                     f"window share {100 * c.share_data:.0f} % with data baselines, "
                     f"{100 * c.share_mean:.0f} % with the mean baseline; baseline warning on "
                     f"{c.warned}")
    if check.warning_right:
        warning = "fires on the class at the mean and on no other"
    elif check.false_warnings:
        warning = f"fires on {check.false_warnings} sequences of classes away from the mean ✗"
    else:
        warning = ("stays silent on most sequences at the mean: this model does not take the "
                   "mean baseline surely enough for that class to hide it")
    lines.append(f"  the baseline warning {warning}")
    lines.append(f"  completeness {'held' if check.completeness_holds else 'did NOT hold'} for "
                 f"every sequence; {verdict} (trained ≥ 50 % for every class and ≥ 20 points "
                 f"above untrained; no warning away from the mean)")
    return lines


def hard_cases_heading(e: Explanation) -> str:
    """The hard cases named for what they are: mistakes, or with none the least confident."""
    how = "rnntrace explain RUN --sequence ID"
    if e.no_mistake:
        return (f"Least confident held-out cases: the model makes no mistake on the "
                f"{e.n_scored} held-out sequences scored, so there is no mistake to explain; "
                f"these have the largest loss ({how})")
    counted = "" if e.mistakes is None else f"{e.mistakes} of {e.n_scored} wrong; "
    return f"Hardest held-out cases ({counted}largest loss; {how})"


def loss_text(loss: float) -> str:
    """Three decimals, or two significant digits below 0.01 (a loss of 0.0002 is not 0.000)."""
    if loss == 0 or abs(loss) >= 0.01:
        return f"{loss:.3f}"
    return f"{loss:.2g}"


def number(value: float) -> str:
    """A number in the target's units: four significant digits, never 0 for a small value."""
    return f"{value:.4g}"


def number_attribution_lines(a: NumberAttribution) -> list[str]:
    """One sequence's predicted number, attributed per step and feature, with both checks."""
    c = a.completeness
    predicted, baseline, actual = apart(a.predicted, c.f_baseline,
                                        a.predicted if a.actual is None else a.actual)
    truth = "" if a.actual is None else f", actual {actual}"
    lines = [f"Why sequence {a.sequence_id!r} ({a.length} steps) is predicted {a.target_name} = "
             f"{predicted}{truth}: {a.method}",
             f"Baseline: {a.baseline}. For the baseline the model predicts "
             f"{baseline}: the attributions share out the difference, "
             f"{c.f_input - c.f_baseline:+.4g}",
             "", f"Attribution per step ({a.target_name} units; + raised the prediction, − "
             "lowered it)"]
    lines += _step_and_feature_lines(a.per_step, a.per_feature, a.feature_names, "+.4g")
    lines += ["", completeness_line(c, units=True)]
    if a.occlusion is not None:
        lines.append(occlusion_line(a.occlusion.rank_agreement, "the prediction's change"))
    return lines


def target_lines(t: TargetExplanation) -> list[str]:
    """A regression model's explanation: its error beside the mean line, one sequence
    attributed, the largest errors, the units that follow the number."""
    which = (f"{t.target_name}, number {t.target + 1} of the {t.n_targets} it predicts"
             if t.n_targets > 1 else t.target_name)
    ratio = t.rmse / t.mean_rmse if t.mean_rmse > 0 else float("inf")
    compared = (f"{ratio:.2f}× that of always predicting the training mean "
                f"({number(t.training_mean)}), whose RMSE is {number(t.mean_rmse)}")
    lines = [f"Explaining {which} on {t.scored_on}: RMSE {number(t.rmse)}, {compared}", ""]
    lines += number_attribution_lines(t.attribution)
    if t.largest_errors:
        lines += ["", "Largest errors (predicted furthest from the true number; rnntrace explain "
                  "RUN --sequence ID explains one)"]
        for a in t.largest_errors:
            peak = max(range(a.length), key=lambda s: abs(a.per_step[s]))
            actual = 0.0 if a.actual is None else a.actual
            said, true = apart(a.predicted, actual)
            lines.append(f"  {a.sequence_id!r:<12} predicted {said}, actual "
                         f"{true} (error {a.predicted - actual:+.4g}); step "
                         f"{peak + 1} moved it most ({a.per_step[peak]:+.4g})")
    if t.units:
        lines += ["", f"Units that follow {t.target_name} most closely ({t.statistic}, over "
                  f"{t.n_scored} sequences)"]
        lines += [f"  {u.name:<8} r = {u.r:+.2f}" for u in t.units]
    return lines


def explanation_lines(e: Explanation) -> list[str]:
    """The whole explanation as terminal lines."""
    lines: list[str] = []
    if e.regression is not None:
        lines += target_lines(e.regression)
    if e.attribution is not None:
        lines += attribution_lines(e.attribution)
        if e.attribution.data_baselines is not None:
            lines += ["", *data_baseline_lines(e.attribution)]
    if e.units is not None:
        lines += ["", *unit_lines(e.units)]
    if e.hard_cases:
        lines += ["", hard_cases_heading(e)]
        for case in e.hard_cases:
            p, a = case.prediction, case.attribution
            peak = max(range(a.length), key=lambda t: abs(a.per_step[t]))
            truth = "?" if p.true_class is None else p.class_names[p.true_class]
            lines.append(f"  {p.sequence_id!r:<12} loss {loss_text(case.loss):>6}  true "
                         f"{truth!r} → "
                         f"predicted {p.class_names[p.predicted]!r} (P = "
                         f"{p.probabilities[p.predicted]:.2f}); step {peak + 1} weighed most")
    if e.planted is not None:
        lines += ["", *planted_lines(e.planted)]
    return lines


def explanation_renderables(e: Explanation) -> list[Any]:
    """The explanation's lines as rich Text (never read as markup: ids come from files)."""
    from rich.text import Text

    return [Text(line) for line in explanation_lines(e)]


def _step_and_feature_lines(per_step: list[float], per_feature: list[float],
                            feature_names: list[str], spec: str) -> list[str]:
    """An attribution's strips per step, its largest step, and its features largest first
    (the 20 largest; explain.json holds them all), numbers written with format `spec`."""
    lines: list[str] = []
    for start in range(0, len(per_step), STRIP):
        part = per_step[start : start + STRIP]
        blocks, signs = strip(part)
        label = f"  steps {start + 1}–{start + len(part)}: "
        lines += [label + blocks, " " * len(label) + signs]
    peak = max(range(len(per_step)), key=lambda t: abs(per_step[t]))
    lines.append(f"  largest at step {peak + 1}: {per_step[peak]:{spec}}")
    lines += ["", "Attribution per feature (summed over steps)"]
    top = max((abs(v) for v in per_feature), default=0.0) or 1.0
    width = max(len(n) for n in feature_names[:20])
    order = sorted(range(len(per_feature)), key=lambda f: -abs(per_feature[f]))
    for f in order[:20]:
        v = per_feature[f]
        bar = "█" * max(0, round(abs(v) / top * BAR))
        lines.append(f"  {feature_names[f]:<{width}} {v:{spec}} {bar}")
    if len(order) > 20:
        lines.append(f"  … {len(order) - 20} more features in explain.json")
    return lines
