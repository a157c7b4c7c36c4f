"""The heads' figures: predicted against actual and the residuals (regression), and label
strips, truth above prediction (per step). Drawn with matplotlib (Agg, no pyplot state) to SVG
for inlining in the page.

Only a regression or per-step run draws these, so matplotlib is imported when one is drawn,
never by a classifier's report (report_figures.py writes those as text). Text stays text in the
SVG (svg.fonttype "none"): small, selectable and readable by a screen reader. Labels from data
are XML-escaped by matplotlib's SVG writer, and the SVG is parsed and written again with
ElementTree, which escapes once more and proves it is well-formed. Mathtext is off so a label
called "$x$" is shown as typed, never parsed.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from rnntrace.render.formatting import short
from rnntrace.render.svg_plot import COLOURS

if TYPE_CHECKING:  # a view knows the records it shows for type checking only
    from matplotlib.figure import Figure

    from rnntrace.records.heads import HeadReport

_SVG = "http://www.w3.org/2000/svg"
_XLINK = "http://www.w3.org/1999/xlink"
ET.register_namespace("", _SVG)
ET.register_namespace("xlink", _XLINK)

# Any: matplotlib types rc keys as a Literal of every known key, which a dict[str, ...] is not.
_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "rnntrace",  # stable ids: the same trace gives the same page
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_COLOURS = list(COLOURS)
_ID = re.compile(r"url\(#([^)]+)\)")


def _to_svg(fig: Figure, key: str, title: str) -> str:
    """The figure as an inline <svg>: ids prefixed by `key`, scalable, with a <title>."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    root = ET.fromstring(buf.getvalue())
    for meta in root.findall(f"{{{_SVG}}}metadata"):
        root.remove(meta)
    # Several figures share one page, so matplotlib's ids ("figure_1", clip paths) are prefixed.
    href = f"{{{_XLINK}}}href"
    for el in root.iter():
        if "id" in el.attrib:
            el.set("id", f"{key}-{el.get('id', '')}")
        if el.get(href, "").startswith("#"):
            el.set(href, f"#{key}-{el.get(href, '')[1:]}")
        for attr, value in el.attrib.items():
            # clip paths, hatch patterns: url(#id) in clip-path, fill, style, ...
            if attr != "id" and "url(#" in value:
                el.set(attr, _ID.sub(lambda m: f"url(#{key}-{m.group(1)})", value))
    root.attrib.pop("width", None)
    root.attrib.pop("height", None)
    root.set("role", "img")
    root.set("aria-label", title)
    root.set("class", f"plot plot-{key}")
    label = ET.Element(f"{{{_SVG}}}title")
    label.text = title
    root.insert(0, label)
    return ET.tostring(root, encoding="unicode")


# Label colours: Okabe–Ito first, then a wider qualitative palette (tab20); past those 27,
# label_colours spreads more hues, so every label keeps a colour of its own.
_TAB20 = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728",
          "#ff9896", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2",
          "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5"]
LABEL_COLOURS = _COLOURS + _TAB20
_GOLDEN = 0.381966  # of a turn: consecutive hues land far apart, and never on one another


def label_colours(n: int) -> list[str]:
    """`n` different colours, one per label: the palette above, then hues a golden angle
    apart at three lightnesses (a run may have 70 labels; the palette alone has 27)."""
    import colorsys

    colours = list(LABEL_COLOURS[:n])
    seen = set(colours)
    k = 0
    while len(colours) < n:
        lightness = (0.35, 0.55, 0.72)[k % 3]
        red, green, blue = colorsys.hls_to_rgb((k * _GOLDEN) % 1.0, lightness, 0.65)
        colour = f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
        k += 1
        if colour not in seen:  # rounding to 8 bits could meet an earlier colour
            seen.add(colour)
            colours.append(colour)
    return colours


def regression_figures(report: HeadReport) -> tuple[str, str]:
    """Predicted against actual (the diagonal is perfect, the dashed line the training mean),
    and residual (predicted − actual) against actual."""
    actual, predicted = report.actual, report.predicted
    name = short(report.target_names[0]) if report.target_names else "target"
    mean = report.target_mean[0] if report.target_mean else None
    scored = report.sets[-1].name if report.sets else "scored"
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    out = []
    with rc_context(_RC):
        fig = Figure(figsize=(4.2, 3.6))
        fig.subplots_adjust(left=0.17, right=0.97, bottom=0.14, top=0.9)
        ax = fig.add_subplot()
        low, high = min(actual + predicted), max(actual + predicted)
        ax.plot([low, high], [low, high], "-", color=_COLOURS[6], linewidth=0.8,
                label="predicted = actual")
        if mean is not None:
            ax.axhline(mean, linestyle="--", color=_COLOURS[1], linewidth=0.8,
                       label="training mean")
        ax.plot(actual, predicted, "o", color=_COLOURS[0], markersize=3.5, alpha=0.8,
                label=f"{scored} sequences")
        ax.set_xlabel(f"actual {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title("Predicted against actual")
        ax.legend(frameon=False, fontsize=7)
        out.append(_to_svg(fig, "pred-actual", f"Predicted against actual {name} on the "
                                               f"{scored} set"))
        fig = Figure(figsize=(4.2, 3.6))
        fig.subplots_adjust(left=0.17, right=0.97, bottom=0.14, top=0.9)
        ax = fig.add_subplot()
        residuals = [p - a for p, a in zip(predicted, actual, strict=True)]
        ax.axhline(0, color=_COLOURS[6], linewidth=0.8)
        ax.plot(actual, residuals, "s", color=_COLOURS[2], markersize=3.5, alpha=0.8)
        ax.set_xlabel(f"actual {name}")
        ax.set_ylabel("predicted − actual")
        ax.set_title("Residuals")
        out.append(_to_svg(fig, "residuals", f"Residuals against actual {name} on the {scored} "
                                             "set"))
    return out[0], out[1]


def strips_figure(report: HeadReport) -> str:
    """Each shown sequence as two coloured rows, truth above prediction, one cell per step."""
    from matplotlib import rc_context
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    strips = report.strips
    cmap = ListedColormap(label_colours(max(1, len(report.class_names))))
    with rc_context(_RC | {"axes.grid": False}):
        fig = Figure(figsize=(7.5, 0.5 + 0.55 * len(strips)))
        # room at the left for a sequence id beside the truth/predicted ticks
        fig.subplots_adjust(left=0.22, right=0.98, bottom=0.12, top=0.95, hspace=0.6)
        longest = max((s.length for s in strips), default=1)
        for row, strip in enumerate(strips):
            ax = fig.add_subplot(len(strips), 1, row + 1)
            cells = [strip.truth or [], strip.predicted]
            ax.imshow(cells, aspect="auto", cmap=cmap, vmin=-0.5,
                      vmax=len(report.class_names) - 0.5, interpolation="nearest",
                      extent=(0, strip.length, 2, 0))
            ax.set_xlim(0, longest)
            ax.set_yticks([0.5, 1.5], ["truth", "predicted"], fontsize=7)
            ax.set_ylabel(short(strip.sequence_id, 10), rotation=0, ha="right", va="center",
                          fontsize=7)
            ax.tick_params(axis="x", labelsize=7)
        return _to_svg(fig, "strips", "Label strips: truth above prediction for each shown "
                                      "sequence, one cell per step, coloured by label")


def attribution_figure(report: HeadReport, feature_names: list[str] | None = None) -> str:
    """The example's attribution: per step (and feature) for regression; output step × input
    step for a label per step. Red raised the prediction (or the label's score), blue lowered.
    A regression's rows are named by `feature_names` when given, else numbered from 0."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    values = report.attribution
    with rc_context(_RC | {"axes.grid": False}):
        fig = Figure(figsize=(7.5, 2.8))
        fig.subplots_adjust(left=0.12, right=0.9, bottom=0.18, top=0.88)
        ax = fig.add_subplot()
        if report.task == "regress":
            grid = [list(col) for col in zip(*values, strict=True)]  # (F, T)
            ylabel, title = "feature", "Share of the prediction from each step and feature"
            rows = list(range(len(grid)))
        else:
            grid, ylabel = values, "output step"
            title = "Where each output step's label drew from (input steps)"
            rows = report.attribution_rows
        peak = max((abs(v) for row in grid for v in row), default=1.0) or 1.0
        steps = len(grid[0]) if grid else 1
        image = ax.imshow(grid, aspect="auto", cmap="RdBu_r", vmin=-peak, vmax=peak,
                          interpolation="nearest",  # steps numbered from 1, as in the text
                          extent=(0.5, steps + 0.5, len(grid) - 0.5, -0.5))
        names = (feature_names if report.task == "regress" and feature_names
                 and len(feature_names) == len(rows) else None)
        ax.set_yticks(range(len(rows)), [str(r + 1) if report.task == "steps" else
                                          short(names[r], 12) if names else str(r)
                                          for r in rows], fontsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
        ax.set_xlabel("input step")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.03)
        return _to_svg(fig, "head-why", title)
