"""The report's figures of a run and its traced sequence, written as SVG text: loss and score per
epoch, the traced input, the hidden state after each step, the softmax output, and the gradient
reaching each step.

Drawn with matplotlib these took about 0.5 s per report and its import another 0.5 s; as text
they take milliseconds (svg_plot.py draws the pieces). Each keeps what the matplotlib figure
showed: its title, axis labels and legend, Okabe–Ito colours with a marker and line style per
series (told apart without colour), red for positive and blue for negative in the grids. Grids
of more than svg_plot.MAX_RECTS cells are one PNG image, a pixel per cell, so long sequences stay
small. Ids are prefixed per figure; the same trace gives the same text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from rnntrace.render.formatting import short
from rnntrace.render.svg_plot import (
    COLOURS,
    FONT,
    MARKERS,
    Look,
    Panel,
    colour_scale,
    document,
    grid,
    integer_ticks,
    legend,
    nice_ticks,
    number,
    padded,
    series,
    text,
    text_width,
)

if TYPE_CHECKING:
    from rnntrace.records import Dynamics, EpochRecord, PredictionTrace

STYLES = ("-", "--", "-.", ":")
MOST_LINES = 8  # input features drawn as lines; more are a features × steps grid
MAX_LABELLED = 40  # grid rows named beside the grid; more: each cell's tooltip names its row
MAX_UNITS_LABELLED = 32
ANNOTATE_CELLS = 400  # hidden-state cells up to which each value is printed in its cell
TRAINING = Look(COLOURS[0], "-", "o")
HELD_OUT = Look(COLOURS[1], "--", "s")


def _finite(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None or not math.isfinite(v) else float(v) for v in values]


def _marks(length: int) -> int:
    """Every k-th point marked: enough markers to tell lines apart, no more (about 15)."""
    return max(1, length // 15)


def training_figures(records: Sequence[EpochRecord], score: str = "Accuracy") -> tuple[str, str]:
    """Loss and accuracy (or the task's score) per epoch, training solid with circles,
    held-out dashed with squares."""
    epochs = [r.epoch for r in records]
    out = []
    for key, name, train, held in (
        ("loss", "Loss", [r.loss for r in records], [r.val_loss for r in records]),
        ("accuracy", score, [r.accuracy for r in records], [r.val_accuracy for r in records]),
    ):
        has_held = any(v is not None for v in held)
        lines = [("training", _finite(train), TRAINING)]
        if has_held:
            lines.append(("held-out", _finite(held), HELD_OUT))
        bounded = key == "accuracy" and score != "R²"  # R² falls below 0 for a poor fit
        y_range = (-0.02, 1.02) if bounded else padded([v for _, ys, _ in lines for v in ys])
        first, last = epochs[0], epochs[-1]
        pad = 0.5 if len(epochs) <= 20 else 0.02 * (last - first)
        panel = Panel(45, 17, 248, 95, (first - pad, last + pad), y_range, canvas=302)
        x_ticks = epochs if len(epochs) <= 20 else integer_ticks(first, last)
        y_ticks, y_labels = nice_ticks(*y_range, most=5)
        body = [panel.frame(x_ticks, [str(e) for e in x_ticks], y_ticks, y_labels,
                            title=f"{name} per epoch", x_label="epoch",
                            y_label=name if name == "R²" else name.lower())]
        body += [series(panel, epochs, ys, look, mark_every=_marks(len(epochs)) if
                        len(epochs) > 30 else 1, label=label) for label, ys, look in lines]
        body.append(_legend_in_corner(panel, [(label, look) for label, _, look in lines],
                                      [(e, v) for _, ys, _ in lines for e, v in zip(epochs, ys,
                                                                                     strict=True)]))
        title = f"{name} per epoch for training" + (" and held-out data" if has_held else "")
        out.append(document(key, title, 302, 144, "".join(body)))
    return out[0], out[1]


def _legend_in_corner(panel: Panel, entries: list[tuple[str, Look]],
                      points: list[tuple[float, float]]) -> str:
    """The legend inside the panel, in the corner that covers the fewest points (matplotlib's
    "best"), the upper right when tied."""
    size = FONT * 0.9
    width = 28 + max(text_width(name, size) for name, _ in entries)
    height = len(entries) * size * 1.5
    right, bottom = panel.left + panel.width, panel.bottom
    corners = [(right - width - 4, panel.top + 4), (panel.left + 6, panel.top + 4),
               (right - width - 4, bottom - height - 4), (panel.left + 6, bottom - height - 4)]
    drawn = [(panel.sx(x), panel.sy(y)) for x, y in points if math.isfinite(y)]

    def covered(corner: tuple[float, float]) -> int:
        x, y = corner
        return sum(x - 4 <= px <= x + width + 4 and y - 4 <= py <= y + height + 4
                   for px, py in drawn)

    x, y = min(corners, key=covered)
    return legend(x, y + size * 0.75, entries, size=size)


def dynamics_figure(d: Dynamics) -> str:
    """‖∂loss/∂h_t‖ per step on a log scale (each direction), and the saturated share per step."""
    steps = list(range(1, d.steps + 1))
    pad = 0.5 if d.steps <= 30 else 0.02 * d.steps
    x_range = (1 - pad, d.steps + pad)
    x_ticks = steps if d.steps <= 12 else integer_ticks(1, d.steps)
    x_labels = [str(t) for t in x_ticks]
    names = ["forward", "backward"] if len(d.grad_norm) > 1 else ["‖∂loss/∂h_t‖"]
    norms = [_finite(n) for n in d.grad_norm[: len(names)]]
    positive = [v for n in norms for v in n if v > 0]
    low, high = (min(positive), max(positive)) if positive else (0.1, 1.0)
    if high / low < 10:  # at least one power of ten on the axis
        low, high = low / 2, high * 2
    span = math.log10(high / low)
    y_range = (low / 10 ** (0.05 * span), high * 10 ** (0.05 * span))
    grad = Panel(51, 22, 215, 101, x_range, y_range, log_y=True)
    powers = range(math.ceil(math.log10(y_range[0])), math.floor(math.log10(y_range[1])) + 1)
    every = max(1, math.ceil(len(powers) / 6))
    y_ticks = [10.0**k for k in powers if k % every == 0] or [10.0 ** round(math.log10(low))]
    body = [grad.frame(x_ticks, x_labels, y_ticks,
                       [f"{v:.0e}".replace("-", "\u2212") for v in y_ticks],
                       title="Gradient reaching each step, ‖∂loss/∂h_t‖",
                       x_label="time step t")]
    looks = [Look(COLOURS[i], STYLES[i], MARKERS[i], 4.2) for i in range(len(names))]
    body += [series(grad, steps, n, look, mark_every=_marks(d.steps), label=name)
             for name, n, look in zip(names, norms, looks, strict=True)]
    if len(names) > 1:
        body.append(legend(grad.left + grad.width - 80, grad.top + 8,
                           list(zip(names, looks, strict=True)), size=FONT * 0.78))
    saturated = Panel(318, 22, 134, 101, x_range, (-3, 103))
    y_ticks, y_labels = nice_ticks(0, 100, most=4)
    body.append(saturated.frame(x_ticks, x_labels, y_ticks, y_labels,
                                title="Saturated units, %", x_label="time step t"))
    body.append(series(saturated, steps, [100 * v for v in _finite(d.saturated)],
                       Look(COLOURS[2], "-", "o", 4.2), mark_every=_marks(d.steps),
                       label="saturated"))
    return document("dynamics", f"Gradient norm reaching each of the {d.steps} steps, on a log "
                    "scale, and the share of saturated units per step", 461, 158, "".join(body))


def inputs_figure(p: PredictionTrace) -> str:
    """The traced sequence's input features over time, one line (and marker) per feature, or,
    past MOST_LINES features (more lines would tangle), one grid row per feature."""
    if len(p.feature_names) > MOST_LINES:
        return _inputs_grid(p)
    steps = list(range(1, p.length + 1))
    lines = [_finite([row[i] for row in p.inputs][: p.length])
             for i in range(len(p.feature_names))]
    names = [short(n) for n in p.feature_names]
    size = FONT * 0.78
    legend_width = 30 + max((text_width(n, size) for n in names), default=0.0)
    y_range = padded([v for line in lines for v in line])
    y_ticks, y_labels = nice_ticks(*y_range, most=6)
    left = 22 + max(text_width(label) for label in y_labels)
    panel = Panel(left, 20, 331 - left - legend_width - 8, 146, (1 - _pad(p.length),
                                                                 p.length + _pad(p.length)),
                  y_range, canvas=331)
    x_ticks = steps if p.length <= 20 else integer_ticks(1, max(1, p.length))
    body = [panel.frame(x_ticks, [str(t) for t in x_ticks], y_ticks, y_labels,
                        title=f"Input of sequence {short(p.sequence_id)}",
                        x_label="time step t", y_label="x_t (raw value)")]
    # matplotlib's cycle: markers change first, then the line style; colours repeat past 7
    looks = [Look(COLOURS[i % len(COLOURS)], STYLES[(i // len(MARKERS)) % len(STYLES)],
                  MARKERS[i % len(MARKERS)], 4.8) for i in range(len(lines))]
    body += [series(panel, steps, line, look, mark_every=_marks(p.length), label=name)
             for line, look, name in zip(lines, looks, names, strict=True)]
    middle = panel.top + panel.height / 2 - len(names) * size * 0.75
    body.append(legend(331 - legend_width, middle, list(zip(names, looks, strict=True)),
                       size=size))
    return document("inputs", f"Input features of sequence {p.sequence_id} over time", 331, 202,
                    "".join(body))


def _pad(length: int) -> float:
    return 0.5 if length <= 30 else 0.02 * length


def _inputs_grid(p: PredictionTrace) -> str:
    """Features × steps, each cell the raw value on a scale symmetric about 0."""
    features = len(p.feature_names)
    cells = [_finite([row[i] for row in p.inputs][: p.length]) for i in range(features)]  # (F, T)
    top = max((abs(v) for row in cells for v in row if math.isfinite(v)), default=1.0) or 1.0
    labelled = features <= MAX_LABELLED
    names = [short(n) for n in p.feature_names]
    left = 12 + (max(text_width(n, 6) for n in names) if labelled else 0)
    height = min(7.0, 1.2 + 0.12 * features) * 72
    panel = Panel(left, 20, 331 - left - 62, height - 56, (0.5, p.length + 0.5),
                  (features - 0.5, -0.5), canvas=331)
    body = [grid(cells, panel, top, lambda f, t, v: f"{p.feature_names[f]}, step {t + 1}: "
                                                    f"{v:.4g}")]
    x_ticks = integer_ticks(1, max(1, p.length), 6)
    body.append(panel.frame(x_ticks, [str(t) for t in x_ticks], [], [],
                            title=f"Input of sequence {short(p.sequence_id)}: {features} "
                                  "features", x_label="time step t", grid=False))
    if labelled:
        row = panel.height / features
        body += [text(left - 3, panel.top + (f + 0.5) * row + 2, name, anchor="end", size=6)
                 for f, name in enumerate(names)]
    body.append(colour_scale("inputs", 331 - 52, panel.top + panel.height * 0.1,
                             panel.height * 0.8, top, "x_t (raw value)"))
    return document("inputs", f"Input features of sequence {p.sequence_id} over time, one row "
                    "per feature", 331, height, "".join(body))


def heatmap_figure(p: PredictionTrace, units: Sequence[str]) -> str:
    """Hidden units × time steps, each cell the unit's value after step t (printed in the cell
    when there are few), and one outline per step that the page shows for the step it explains
    (class hm-col, data-t the step from 1)."""
    rows, length = len(units), p.length
    cells = [_finite([h[u] for h in p.hidden_states][:length]) for u in range(rows)]  # (H, T)
    finite = [abs(v) for row in cells for v in row if math.isfinite(v)]
    top = max(1.0, max(finite, default=1.0))  # tanh cells fill [-1, 1]; ReLU/LSTM may exceed
    printed = rows * length <= ANNOTATE_CELLS
    width, height = min(9.0, 1.4 + 0.5 * length) * 72, min(7.0, 1.0 + 0.3 * rows) * 72
    labelled = rows <= MAX_UNITS_LABELLED
    left = 10 + (max(text_width(u) for u in units) if labelled else 0) + 6
    right = 8 if printed else 64
    panel = Panel(left, 22, width - left - right, height - 22 - 34, (0, length), (rows, 0),
                  canvas=width)
    body = [grid(cells, panel, top, lambda u, t, v: f"{units[u]} after step {t + 1}: {v:.3f}")]
    column, row = panel.width / max(1, length), panel.height / max(1, rows)
    if printed:
        for u, line in enumerate(cells):
            for t, v in enumerate(line):
                colour = "#fff" if math.isfinite(v) and abs(v) > 0.55 * top else "#000"
                body.append(text(panel.left + (t + 0.5) * column, panel.top + (u + 0.5) * row
                                 + 2, f"{v:.2f}", anchor="middle", size=6,
                                 extra=f' fill="{colour}"'))
    else:  # too many cells to print each value: a colour scale instead
        body.append(colour_scale("heatmap", width - 52, panel.top + panel.height * 0.1,
                                 panel.height * 0.8, top, "value"))
    steps = list(range(length)) if length <= 30 else [t - 1 for t in integer_ticks(1, length,
                                                                                     16)]
    body.append(panel.frame([t + 0.5 for t in steps], [str(t + 1) for t in steps], [], [],
                            title="Hidden state h_t after each step", x_label="time step t",
                            grid=False))
    if labelled:
        body += [text(panel.left - 4, panel.top + (u + 0.5) * row + FONT * 0.35, name,
                      anchor="end") for u, name in enumerate(units)]
    # One outline per step; the page's script shows the one for the step being explained.
    body += [f'<rect id="heatmap-col-{t + 1}" class="hm-col" data-t="{t + 1}" '
             f'x="{panel.left + t * column:.2f}" y="{panel.top:.1f}" width="{column:.2f}" '
             f'height="{panel.height:.1f}" fill="none" stroke="#000" stroke-width="2.2"/>'
             for t in range(length)]
    return document("heatmap", f"Heatmap of the {rows} hidden units over {length} time steps of "
                    f"sequence {p.sequence_id}" + ("; values printed in the cells" if printed
                                                   else "; colour scale beside it"),
                    width, height, "".join(body))


def softmax_figure(p: PredictionTrace) -> str:
    """One bar per class with its probability written beside it; the predicted class outlined,
    coloured apart and labelled (predicted), so not by colour alone."""
    n = len(p.class_names)
    labels = []
    for i, name in enumerate(p.class_names):
        shown = (("predicted", i == p.predicted), ("true", i == p.true_class))
        marks = [m for m, on in shown if on]
        labels.append(f"{short(name)} ({', '.join(marks)})" if marks else short(name))
    probabilities = _finite(p.probabilities)
    height = (0.8 + 0.32 * n) * 72
    left = 12 + max((text_width(label) for label in labels), default=0.0)
    width = max(302.0, left + 150)  # long names widen the figure rather than squeeze the bars
    panel = Panel(left, 22, width - left - 10, height - 22 - 36, (0, 1.15), (n - 0.5, -0.5),
                  canvas=width)
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] if panel.width > 200 else [0.0, 0.5, 1.0]
    body = [panel.frame(ticks, [number(t, 1) for t in ticks], list(range(n)), labels,
                        title="Softmax output", x_label="probability (softmax of the logits)",
                        grid=False)]
    bar = 0.8 * panel.height / max(1, n)
    for i, v in enumerate(probabilities):
        length = min(v, 1.0) if math.isfinite(v) else 0.0
        predicted = i == p.predicted
        outline = ' stroke="#000" stroke-width="1"' if predicted else ""
        body.append(f'<rect x="{panel.left:.1f}" y="{panel.sy(i) - bar / 2:.1f}" '
                    f'width="{max(0.0, panel.sx(length) - panel.left):.1f}" '
                    f'height="{bar:.1f}" fill="{COLOURS[1] if predicted else COLOURS[0]}"'
                    f'{outline} data-class="{i}"><title>{escape(p.class_names[i])}: {v:.3f}'
                    "</title></rect>")
        body.append(text(panel.sx(length + 0.01), panel.sy(i) + 8 * 0.35,
                         f"{v:.3f}", size=8))
    return document("softmax", "Softmax probability of each class", width, height, "".join(body))

