"""The terminal view of a regression or per-step run's head: scores beside their chance lines,
one prediction, and label strips (truth above prediction, one character per step)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnntrace.render.formatting import apart

if TYPE_CHECKING:  # a view knows the records it shows for type checking only
    from rnntrace.records.heads import HeadExample, HeadReport


# Figures per task, in the order shown: (key in ScoreLine.scores, heading, format).
_COLUMNS = {
    "regress": (("mae", "MAE", ".4g"), ("rmse", "RMSE", ".4g"), ("r2", "R²", ".3f")),
    "steps": (("frame_accuracy", "Frame acc", ".1%"), ("macro_f1", "Macro-F1", ".3f"),
              ("f1@10", "F1@10", ".3f"), ("f1@25", "F1@25", ".3f"), ("f1@50", "F1@50", ".3f"),
              ("edit", "Edit", ".1%")),
}
STRIP_WIDTH = 60  # steps per strip line; longer sequences are read every k-th step
_SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_UNNAMED = "?"  # a label past the characters there are


def scores_table(report: HeadReport) -> Table:
    """Every scored set: the model's figures and each chance line's, one row each."""
    table = Table(title="Scores beside the lines to beat", title_justify="left")
    table.add_column("Set")
    table.add_column("Predictor")
    columns = _COLUMNS[report.task]
    for _, heading, _ in columns:
        table.add_column(heading, justify="right")
    for scored in report.sets:
        for line in scored.lines:
            table.add_row(f"{scored.name} ({scored.n_sequences})", line.name,
                          *("—" if undefined(key, scored.n_sequences)
                            else format(line.scores[key], fmt) for key, _, fmt in columns))
    return table


def undefined(key: str, n_sequences: int) -> bool:
    """R² of one sequence divides by the spread of one true number: it is not defined."""
    return key == "r2" and n_sequences < 2


def single_note(report: HeadReport) -> str:
    """What a dash in the R² column means, when a scored set holds one sequence."""
    if report.task != "regress" or all(s.n_sequences >= 2 for s in report.sets):
        return ""
    return ("R² is not defined on a set of one sequence (it divides by the spread of the true "
            "numbers around their mean): shown as —.")


def pooled_note(report: HeadReport) -> str:
    """With several targets, what one row's figures are (regression_scores pools them)."""
    names = report.target_names
    if report.task != "regress" or len(names) < 2:
        return ""
    return (f"With {len(names)} targets ({', '.join(names)}), MAE and RMSE are over every "
            "number of all of them, each in its own units; R² is the mean of their R²s.")


def strip_symbols(report: HeadReport) -> dict[int, str]:
    """Each label's character: its own for every label while there are enough characters;
    with more labels than that, the labels the strips show, in label order (a character
    never stands for two labels)."""
    codes: list[int] = list(range(len(report.class_names)))
    if len(codes) > len(_SYMBOLS):
        codes = sorted({int(v) for s in report.strips for v in (*s.predicted, *(s.truth or []))})
    return dict(zip(codes, _SYMBOLS, strict=False))


def strip(labels: list[float] | list[int], symbols: dict[int, str],
          width: int = STRIP_WIDTH) -> str:
    """One character per step (every k-th step when longer than `width`); `?` for a label
    left without a character."""
    every = max(1, -(-len(labels) // width))
    return "".join(symbols.get(int(v), _UNNAMED) for v in labels[::every])


def _every(k: int) -> str:
    """'every 2nd step', 'every 11th step'."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"every {k}{suffix} step"


def steps_count(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def strips_section(report: HeadReport) -> Group:
    """Truth above prediction for a few sequences of the last scored set, with the key."""
    symbols = strip_symbols(report)
    key = "  ".join(f"{ch} = {report.class_names[c]}" for c, ch in symbols.items())
    shown = {int(v) for s in report.strips for v in (*s.predicted, *(s.truth or []))}
    if unnamed := len(shown - symbols.keys()):
        key += f"  {_UNNAMED} = one of {unnamed} other labels"
    where = f" of the {report.sets[-1].name} set" if report.sets else ""
    parts: list[Text] = [Text(f"Label strips{where}: truth above prediction, one character "
                              "per step", style="bold"), Text(key)]
    for example in report.strips:
        every = max(1, -(-example.length // STRIP_WIDTH))
        note = f" ({_every(every)})" if every > 1 else ""
        parts.append(Text(f"sequence {example.sequence_id}, {steps_count(example.length)}"
                          f"{note}"))
        parts.append(Text(f"  truth      {strip(example.truth or [], symbols)}"))
        parts.append(Text(f"  predicted  {strip(example.predicted, symbols)}"))
    return Group(*parts)


def example_text(report: HeadReport, example: HeadExample) -> Text:
    """The traced sequence's prediction in words."""
    where = {"held-out": " (held out from training)",
             "validation": " (from the validation file, held out from training)",
             "training": " (from the training data, which the model trained on)"}.get(
        report.example_set, "")
    if report.task == "regress":
        pairs = ", ".join(
            f"{name} predicted {p}" + (f", true {t}" if example.truth else "")
            for name, (p, t) in zip(report.target_names, (
                apart(p, t) for p, t in zip(example.predicted,
                                            example.truth or example.predicted, strict=True)),
                strict=True))
        return Text(f"Sequence {example.sequence_id}{where} ({example.length} steps): {pairs}")
    right = sum(p == t for p, t in zip(example.predicted, example.truth or [], strict=False))
    return Text(f"Sequence {example.sequence_id}{where}: {right} of {example.length} steps "
                "labelled right")


def head_section(report: HeadReport) -> Group:
    """The head's whole terminal section."""
    parts: list[Table | Text | Group] = [scores_table(report)]
    if pooled := pooled_note(report):
        parts.append(Text(pooled))
    if single := single_note(report):
        parts.append(Text(single))
    if report.example is not None:
        parts.append(example_text(report, report.example))
    if report.task == "regress" and report.target_mean:
        parts.append(Text(
            "The target was standardised with the training statistics (mean "
            + ", ".join(f"{m:.4g}" for m in report.target_mean) + ", std "
            + ", ".join(f"{s:.4g}" for s in report.target_std)
            + "); every figure above is in the target's own units."))
    if report.task == "steps":
        parts.append(strips_section(report))
        if report.direction:
            parts.append(Text(report.direction[0].upper() + report.direction[1:] + "."))
    parts.extend(Text(line) for line in attribution_lines(report))
    return Group(*parts)


TOP_STEPS = 5


def attribution_lines(report: HeadReport) -> list[str]:
    """The example's attribution in words: the steps that moved the prediction most
    (regress), or where each output step's label drew from (steps)."""
    if not report.attribution:
        return []
    lines = [f"Why: {report.attribution_note}."]
    if report.task == "regress":
        per_step = [sum(row) for row in report.attribution]  # (T,) summed over features
        top = sorted(range(len(per_step)), key=lambda t: -abs(per_step[t]))[:TOP_STEPS]
        lines.append("Steps that moved the prediction most (target units): " + ", ".join(
            f"step {t + 1} ({per_step[t]:+.3g})" for t in top))
        return lines
    names = report.class_names
    predicted = report.example.predicted if report.example is not None else []
    times = report.example.times if report.example is not None else []

    def in_file(t: int) -> str:
        """Where step t + 1 (steps count from 1) is in the file: its own time value."""
        return (f"{report.time_column} {times[t]} in the file"
                if report.time_column and t < len(times) else "")

    for s, row in zip(report.attribution_rows, report.attribution, strict=True):
        total = sum(abs(v) for v in row) or 1.0
        past = sum(abs(v) for v in row[: s + 1]) / total
        peak = max(range(len(row)), key=lambda t: abs(row[t]))
        label = names[int(predicted[s])] if s < len(predicted) else "?"
        output = "; ".join(filter(None, (label, in_file(s))))
        source = f" ({in_file(peak)})" if in_file(peak) else ""
        lines.append(f"output step {s + 1} ({output}): reads most from step {peak + 1}{source}; "
                     f"{past:.0%} of its attribution at or before step {s + 1}")
    return lines
