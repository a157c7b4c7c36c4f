"""The report page's section for a regression or per-step head: the words and figures its
template block reads (report.html.j2, section "head"). Strings here are plain text: the
template escapes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnntrace.config.task import task_spec
from rnntrace.render.head_plots import (
    attribution_figure,
    label_colours,
    regression_figures,
    strips_figure,
)
from rnntrace.render.head_text import (
    _COLUMNS,
    attribution_lines,
    example_text,
    pooled_note,
    single_note,
)

if TYPE_CHECKING:  # a view knows the records it shows for type checking only
    from rnntrace.records.heads import HeadReport


def head_view(
    report: HeadReport, feature_names: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the template's values, the section's figures as SVG strings); `feature_names` label
    the rows of a regression's attribution grid."""
    spec = task_spec(report.task)
    view: dict[str, Any] = {
        "task_title": spec.title[0].upper() + spec.title[1:],
        "chance": spec.chance + (" and the last value of each series"
                                 if report.last_value else ""),
        "columns": [(key, heading) for key, heading, _ in _COLUMNS[report.task]],
        "example": str(example_text(report, report.example)) if report.example else "",
        "colours": label_colours(len(report.class_names)),
        "why": attribution_lines(report),
        "scored": _scored(report),
        "pooled": " ".join(n for n in (pooled_note(report), single_note(report)) if n),
    }
    figures: dict[str, str] = {}
    if report.attribution:
        figures["head_why"] = attribution_figure(report, feature_names)
    if report.task == "regress":
        if report.actual:
            pred_actual, residuals = regression_figures(report)
            figures |= {"pred_actual": pred_actual, "residuals": residuals}
    elif report.strips:
        figures["strips"] = strips_figure(report)
    return view, figures


def _scored(report: HeadReport) -> str:
    """The sets the score table holds, named as the table names them, for its caption."""
    names = list(dict.fromkeys(s.name for s in report.sets))
    where = {"held-out": "the held-out part of the training file", "test": "the test file",
             "validation": "the validation file",
             "training": "the training data (nothing was held out)"}
    return " and ".join(where.get(n, f"the {n} set") for n in names)
