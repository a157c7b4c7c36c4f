"""The report's figures: matplotlib (Agg, no pyplot state) drawn to SVG for inlining in HTML.

Text stays text in the SVG (svg.fonttype "none"): small, selectable and readable by a screen
reader. Labels from data are XML-escaped by matplotlib's SVG writer, and the SVG is parsed and
written again with ElementTree, which escapes once more and proves it is well-formed. Mathtext is
off so a class called "$x$" is shown as typed, never parsed.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

# Figures are made without pyplot: no global figure list, no GUI backend, and the user's own
# matplotlib backend is left alone; savefig(format="svg") picks the SVG canvas itself.
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    from rnntrace.records import Dynamics, EpochRecord, PredictionTrace


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
# Told apart by marker and line style as well as colour (Okabe–Ito, safe for colour blindness).
_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
_STYLES = ["-", "--", "-.", ":"]
MAX_SERIES = 12  # input features drawn; the rest are in the step table
ANNOTATE_CELLS = 400  # heatmap cells up to which each value is printed in its cell
_ID = re.compile(r"url\(#([^)]+)\)")
_COLUMN = re.compile(r"col-\d+")


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
            gid = el.get("id", "")
            if _COLUMN.fullmatch(gid):  # the heatmap's per-step outlines, found by the script
                el.set("class", "hm-col")
                el.set("data-t", gid.removeprefix("col-"))
            el.set("id", f"{key}-{gid}")
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


def short(label: str, limit: int = 24) -> str:
    """A label cut to fit a figure; the tables beside the figures carry it in full."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _finite(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None or not math.isfinite(v) else v for v in values]


def training_figures(records: Sequence[EpochRecord], score: str = "Accuracy") -> tuple[str, str]:
    """Loss and accuracy (or the task's score) per epoch, training solid with circles,
    held-out dashed with squares."""
    epochs = [r.epoch for r in records]
    out = []
    for key, name, train, held in (
        ("loss", "Loss", [r.loss for r in records], [r.val_loss for r in records]),
        ("accuracy", score, [r.accuracy for r in records], [r.val_accuracy for r in records]),
    ):
        with rc_context(_RC):
            # Fixed margins: every label here is ours (no data text), and the layout engine
            # would double the time these two small figures take.
            fig = Figure(figsize=(4.2, 2.0))
            fig.subplots_adjust(left=0.15, right=0.97, bottom=0.22, top=0.88)
            ax = fig.add_subplot()
            ax.plot(epochs, _finite(train), "-o", color=_COLOURS[0], label="training")
            if any(v is not None for v in held):
                ax.plot(epochs, _finite(held), "--s", color=_COLOURS[1], label="held-out")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name if name == "R²" else name.lower())
            ax.set_title(f"{name} per epoch")
            _epoch_axis(ax, epochs)
            if key == "accuracy" and score != "R²":  # R² falls below 0 for a poor fit
                ax.set_ylim(-0.02, 1.02)
            ax.legend(frameon=False)
            text = f"{name} per epoch for training" + (
                " and held-out data" if any(v is not None for v in held) else ""
            )
            out.append(_to_svg(fig, key, text))
    return out[0], out[1]


def _epoch_axis(ax: Any, epochs: Sequence[int]) -> None:
    """Whole epochs, from the first to the last: a 100-epoch run's axis is 1–100, not −20–120."""
    from matplotlib.ticker import MaxNLocator

    first, last = epochs[0], epochs[-1]
    pad = 0.5 if len(epochs) <= 20 else 0.02 * (last - first)
    ax.set_xlim(first - pad, last + pad)
    if len(epochs) <= 20:
        ax.set_xticks(epochs)
    else:  # round numbers inside the run, and its first and last epoch
        inside = [int(t) for t in MaxNLocator(nbins=6, integer=True).tick_values(first, last)
                  if first + 0.05 * (last - first) < t < last - 0.05 * (last - first)]
        ax.set_xticks([first, *inside, last])


def dynamics_figure(d: Dynamics) -> str:
    """‖∂loss/∂h_t‖ per step on a log scale (each direction), and the saturated share per step."""
    steps = list(range(1, d.steps + 1))
    with rc_context(_RC):
        fig = Figure(figsize=(6.4, 2.2))
        fig.subplots_adjust(left=0.11, right=0.98, bottom=0.22, top=0.86, wspace=0.3)
        grad, sat = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1.0]})
        names = ["forward", "backward"] if len(d.grad_norm) > 1 else ["‖∂loss/∂h_t‖"]
        for i, (name, norms) in enumerate(zip(names, d.grad_norm, strict=False)):
            shown = [v if v > 0 else math.nan for v in _finite(norms)]
            grad.plot(steps, shown, _STYLES[i] + _MARKERS[i], color=_COLOURS[i], markersize=3,
                      label=name, markevery=max(1, d.steps // 15))
        grad.set_yscale("log")
        # Plain tick labels: with mathtext off the default ones would print "$10^{-2}$".
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        grad.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
        grad.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))
        grad.yaxis.set_minor_formatter(NullFormatter())
        grad.set_title("Gradient reaching each step, ‖∂loss/∂h_t‖")
        grad.set_xlabel("time step t")
        if len(names) > 1:
            grad.legend(frameon=False, fontsize=7)
        sat.plot(steps, [100 * v for v in _finite(d.saturated)], "-o", color=_COLOURS[2],
                 markersize=3, markevery=max(1, d.steps // 15))
        sat.set_ylim(-3, 103)
        sat.set_title("Saturated units, %")
        sat.set_xlabel("time step t")
        for ax in (grad, sat):
            pad = 0.5 if d.steps <= 30 else 0.02 * d.steps
            ax.set_xlim(1 - pad, d.steps + pad)
            if d.steps <= 12:
                ax.set_xticks(steps)
        return _to_svg(fig, "dynamics", f"Gradient norm reaching each of the {d.steps} steps, "
                       "on a log scale, and the share of saturated units per step")


MOST_LINES = 8  # input features drawn as lines; more are a features × steps heatmap


def inputs_figure(p: PredictionTrace) -> str:
    """The traced sequence's input features over time, one line (and marker) per feature, or,
    past MOST_LINES features (28 lines would tangle), one heatmap row per feature."""
    if len(p.feature_names) > MOST_LINES:
        return _inputs_heatmap(p)
    steps = list(range(1, p.length + 1))
    with rc_context(_RC):
        fig = Figure(figsize=(4.6, 2.8), layout="constrained")
        ax = fig.add_subplot()
        looks = itertools.cycle(itertools.product(_STYLES, _MARKERS))
        for i, name in enumerate(p.feature_names[:MAX_SERIES]):
            style, marker = next(looks)
            ax.plot(
                steps,
                _finite([row[i] for row in p.inputs]),
                linestyle=style,
                marker=marker,
                markevery=max(1, p.length // 15),  # enough markers to tell lines apart, no more
                markersize=4,
                color=_COLOURS[i % len(_COLOURS)],
                label=short(name),
            )
        ax.set_xlabel("time step t")
        ax.set_ylabel("x_t (raw value)")
        ax.set_title(f"Input of sequence {short(p.sequence_id)}")
        if p.length <= 20:
            ax.set_xticks(steps)
        ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        return _to_svg(fig, "inputs", f"Input features of sequence {p.sequence_id} over time")


def _inputs_heatmap(p: PredictionTrace) -> str:
    features = len(p.feature_names)
    grid = [[_finite([row[i]])[0] for row in p.inputs] for i in range(features)]  # (F, T)
    finite = [abs(v) for row in grid for v in row if math.isfinite(v)]
    top = max(finite, default=1.0) or 1.0
    with rc_context(_RC):
        fig = Figure(figsize=(4.6, min(7.0, 1.2 + 0.12 * features)), layout="constrained")
        ax = fig.add_subplot()
        mesh = ax.pcolormesh(
            [t + 0.5 for t in range(p.length + 1)], [i - 0.5 for i in range(features + 1)],
            grid, cmap="RdBu_r", vmin=-top, vmax=top, rasterized=features * p.length > 4000,
        )
        ax.invert_yaxis()  # feature 1 on top, as a table reads
        if features <= 40:
            ax.set_yticks(range(features), [short(n) for n in p.feature_names], fontsize=6)
        ax.set_xlabel("time step t")
        ax.set_title(f"Input of sequence {short(p.sequence_id)}: {features} features")
        fig.colorbar(mesh, ax=ax, shrink=0.8, label="x_t (raw value)")
        return _to_svg(fig, "inputs", f"Input features of sequence {p.sequence_id} over time, "
                       "one row per feature")


def unit_names(width: int, bidirectional: bool) -> list[str]:
    """h1…hH, or fwd h1…/bwd h1… when the top layer reads both directions (width = 2H)."""
    if not bidirectional:
        return [f"h{i + 1}" for i in range(width)]
    half = width // 2
    return [f"fwd h{i + 1}" for i in range(half)] + [f"bwd h{i + 1}" for i in range(half)]


def heatmap_figure(p: PredictionTrace, units: Sequence[str]) -> str:
    """Hidden units × time steps, each cell the unit's value after step t, the value printed."""
    rows = len(units)
    grid = [[_finite([h[u]])[0] for h in p.hidden_states] for u in range(rows)]  # (H, T)
    finite = [abs(v) for row in grid for v in row if math.isfinite(v)]
    top = max(1.0, max(finite, default=1.0))  # tanh cells fill [-1, 1]; ReLU/LSTM may exceed
    cells = rows * p.length
    with rc_context(_RC):
        width, height = min(9.0, 1.4 + 0.5 * p.length), min(7.0, 1.0 + 0.3 * rows)
        printed = cells <= ANNOTATE_CELLS
        # With values printed there is no colour bar and every label is ours ("fwd h12" at
        # most): fixed margins, in inches, instead of the slower layout engine.
        fig = Figure(figsize=(width, height), layout=None if printed else "constrained")
        if printed:
            fig.subplots_adjust(
                left=0.75 / width, right=1 - 0.1 / width, bottom=0.5 / height, top=1 - 0.3 / height
            )
        ax = fig.add_subplot()
        ax.grid(False)
        mesh = ax.pcolormesh(
            grid, cmap="RdBu_r", vmin=-top, vmax=top, rasterized=cells > 4000, edgecolors="face"
        )
        ax.invert_yaxis()
        ax.set_yticks([u + 0.5 for u in range(rows)] if rows <= 32 else [])
        if rows <= 32:
            ax.set_yticklabels(units)
        ticks = range(p.length) if p.length <= 30 else range(0, p.length, max(1, p.length // 15))
        ax.set_xticks([t + 0.5 for t in ticks])
        ax.set_xticklabels([str(t + 1) for t in ticks])
        ax.set_xlabel("time step t")
        ax.set_title("Hidden state h_t after each step")
        if not printed:  # too many cells to print each value: a colour scale instead
            fig.colorbar(mesh, ax=ax, shrink=0.8, label="value")
        else:
            for u, row in enumerate(grid):
                for t, v in enumerate(row):
                    ax.text(
                        t + 0.5,
                        u + 0.5,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if abs(v) > 0.55 * top else "black",
                        in_layout=False,  # inside the axes; measuring each would double the cost
                    )
        # One outline per step; the page shows the one for the step being explained.
        for t in range(p.length):
            box = Rectangle((t, 0), 1, rows, fill=False, edgecolor="black", linewidth=2.2)
            box.set_gid(f"col-{t + 1}")
            box.set_in_layout(False)
            ax.add_patch(box)
        return _to_svg(
            fig,
            "heatmap",
            f"Heatmap of the {rows} hidden units over {p.length} time steps of sequence "
            f"{p.sequence_id}; values printed in the cells",
        )


def softmax_figure(p: PredictionTrace) -> str:
    """One bar per class with its probability written beside it; the predicted class marked."""
    n = len(p.class_names)
    labels = []
    for i, name in enumerate(p.class_names):
        shown = (("predicted", i == p.predicted), ("true", i == p.true_class))
        marks = [m for m, on in shown if on]
        labels.append(f"{short(name)} ({', '.join(marks)})" if marks else short(name))
    with rc_context(_RC):
        fig = Figure(figsize=(4.2, 0.8 + 0.32 * n), layout="constrained")
        ax = fig.add_subplot()
        ax.grid(False)
        probs = _finite(p.probabilities)
        bars = ax.barh(range(n), probs, color=_COLOURS[0])
        bars[p.predicted].set_color(_COLOURS[1])
        bars[p.predicted].set_edgecolor("black")  # and "(predicted)" in its label: not colour alone
        for i, v in enumerate(probs):
            ax.text(min(v, 1.0) + 0.01, i, f"{v:.3f}", va="center", fontsize=8)
        ax.set_yticks(range(n))
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.15)
        ax.set_xlabel("probability (softmax of the logits)")
        ax.set_title("Softmax output")
        return _to_svg(fig, "softmax", "Softmax probability of each class")
