"""One sequence's attribution as an SVG written as text: its input with each step shaded by the
attribution, over a step × feature grid (and the same against baselines drawn from the data).

The explain section draws one of these for the traced sequence and one per hard case. Drawn with
matplotlib they cost about 0.2 s each, most of a lesson's report; as text they cost milliseconds,
for any length (a grid of more than MAX_RECTS cells is one PNG image, a pixel per cell, so
the page stays small). Every string from data is escaped; the SVG is well-formed XML.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING

from rnntrace.render.svg_charts import PALETTE, tick_text

if TYPE_CHECKING:
    from rnntrace.records import PredictionTrace
    from rnntrace.records.explanation import Attribution

MAX_LINES = 12  # input features drawn as lines; the grid below shows every feature
MAX_LABELLED = 16  # features named beside the grid rows (more: the rows' tooltips name them)
MAX_RECTS = 4000  # grid cells drawn as rectangles with a tooltip each; more: one PNG image
WIDTH, LEFT, RIGHT = 560, 64, 128  # the legend sits in the right margin
TOP_PANEL = 120
# The band behind the inputs and the grids' colours: red towards the explained class, blue away.
RED, BLUE = (214, 39, 40), (31, 119, 180)
GRID_RED, GRID_BLUE = (178, 24, 43), (33, 102, 172)  # the ends of matplotlib's RdBu_r


def attribution_svg(p: PredictionTrace, a: Attribution, key: str) -> str:
    """The figure for the page, its ids prefixed by `key` (several share one page)."""
    length, names = a.length, a.feature_names
    plot = WIDTH - LEFT - RIGHT
    top_attr = max((abs(v) for v in a.per_step), default=0.0) or 1.0
    d = a.data_baselines
    grids = [(a.values, "per step and feature, mean baseline (red: towards, blue: away)")]
    if d is not None:
        grids.append((d.values, f"against {d.n_baselines} sequences drawn from the data"))
    row = max(3.0, min(14.0, 180 / max(1, len(names))))  # a grid row's height
    grid_height = row * len(names)
    y = 24.0
    title = (f"Attribution of sequence {a.sequence_id} to class {a.target_name}, step by step, "
             "drawn over its input")
    parts = [f'<text x="{LEFT}" y="14" class="chart-title" font-weight="bold">'
             f'{escape(f"Attribution to {a.target_name!r} over the input")}</text>']

    def sx(step: float) -> float:  # step 1…T at the centre of its column
        return LEFT + (step - 0.5) / length * plot

    column = plot / length
    for t, value in enumerate(a.per_step):  # the band, one column per step
        if value != 0:
            colour = RED if value > 0 else BLUE
            parts.append(f'<rect x="{LEFT + t * column:.2f}" y="{y:.1f}" width="{column:.2f}" '
                         f'height="{TOP_PANEL}" fill="rgb{colour}" '
                         f'fill-opacity="{0.55 * abs(value) / top_attr:.3f}"/>')
    parts.append(_inputs(p, a, sx, y))
    y += TOP_PANEL + 8
    for cells, caption in grids:
        parts.append(f'<text x="{LEFT}" y="{y + 10:.1f}" font-size="10">{escape(caption)}</text>')
        y += 14
        parts.append(_grid(cells, names, length, LEFT, y, plot, row))
        y += grid_height + 6
    parts.append(_step_axis(length, sx, y))
    height = y + 32
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'role="img" aria-label="{escape(title)}" class="plot plot-{escape(key)}" '
            f'font-family="sans-serif" font-size="11"><title>{escape(title)}</title>'
            + "".join(parts) + "</svg>")


def _inputs(p: PredictionTrace, a: Attribution, sx: Callable[[float], float], y: float
            ) -> str:
    """The raw input lines (up to MAX_LINES features), their y axis and their legend."""
    shown = min(MAX_LINES, len(p.feature_names))
    lines = [[row[f] for row in p.inputs][: a.length] for f in range(shown)]
    finite = [v for line in lines for v in line if math.isfinite(v)] or [0.0]
    low, high = min(finite), max(finite)
    pad = 0.05 * (high - low or 1.0)
    low, high = low - pad, high + pad

    def sy(v: float) -> float:
        return y + (1 - (v - low) / (high - low)) * TOP_PANEL

    bottom = y + TOP_PANEL
    parts = [f'<line x1="{LEFT}" y1="{y}" x2="{LEFT}" y2="{bottom}" stroke="#888"/>',
             f'<text x="14" y="{y + TOP_PANEL / 2:.1f}" text-anchor="middle" '
             f'transform="rotate(-90 14 {y + TOP_PANEL / 2:.1f})">x_t (raw)</text>']
    for v in (low + pad, (low + high) / 2, high - pad):
        parts.append(f'<text x="{LEFT - 4}" y="{sy(v) + 4:.1f}" text-anchor="end">'
                     f'{tick_text(v)}</text>')
    for f, line in enumerate(lines):
        colour = PALETTE[f % len(PALETTE)]
        dash = ' stroke-dasharray="5 3"' if f >= len(PALETTE) else ""
        run: list[str] = []  # a non-finite value breaks the line
        for t, v in enumerate([*line, math.nan]):
            if math.isfinite(v):
                run.append(f"{sx(t + 1):.1f},{sy(v):.1f}")
                continue
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                             f'stroke="{colour}" stroke-width="1.2"{dash}/>')
            if a.length <= 30 or len(run) == 1:
                parts.extend(f'<circle cx="{c.split(",")[0]}" cy="{c.split(",")[1]}" r="2" '
                             f'fill="{colour}"/>' for c in run)
            run = []
        legend = y + 8 + min(14.0, (TOP_PANEL - 8) / shown) * f
        parts.append(f'<line x1="{WIDTH - RIGHT + 8}" y1="{legend - 4:.1f}" '
                     f'x2="{WIDTH - RIGHT + 24}" y2="{legend - 4:.1f}" stroke="{colour}" '
                     f'stroke-width="1.5"{dash}/><text x="{WIDTH - RIGHT + 28}" y="{legend:.1f}" '
                     f'font-size="10">{escape(_short(p.feature_names[f], 16))}</text>')
    return "".join(parts)


def _grid(cells: Sequence[Sequence[float]], names: Sequence[str], length: int, left: float,
          y: float, width: float, row: float) -> str:
    """A (T, F) attribution as F rows × T columns, on its own symmetric colour scale."""
    top = max((abs(v) for r in cells for v in r if math.isfinite(v)), default=0.0) or 1.0
    column = width / length
    parts: list[str] = []
    if length * len(names) <= MAX_RECTS:
        for f, name in enumerate(names):
            for t in range(length):
                v = cells[t][f]
                parts.append(f'<rect x="{left + t * column:.2f}" y="{y + f * row:.2f}" '
                             f'width="{column:.2f}" height="{row:.2f}" fill="{_colour(v, top)}">'
                             f'<title>{escape(name)}, step {t + 1}: {v:+.4f}</title></rect>')
    else:  # one pixel per cell, stretched: exact and small for any length
        pixels = [[_rgb(cells[t][f], top) for t in range(length)] for f in range(len(names))]
        parts.append(f'<image x="{left}" y="{y:.2f}" width="{width}" '
                     f'height="{row * len(names):.2f}" preserveAspectRatio="none" '
                     f'style="image-rendering: pixelated" href="data:image/png;base64,'
                     f'{png(pixels)}"><title>{len(names)} features × {length} steps, a pixel '
                     'each</title></image>')
    if len(names) <= MAX_LABELLED:
        parts.extend(f'<text x="{left - 4}" y="{y + (f + 0.5) * row + 3:.1f}" text-anchor="end" '
                     f'font-size="{min(10.0, row):.0f}">{escape(_short(name, 12))}</text>'
                     for f, name in enumerate(names))
    parts.append(f'<text x="{left + width + 6}" y="{y + 10:.1f}" font-size="9">'
                 f'±{tick_text(top)}</text>')
    return "".join(parts)


def _step_axis(length: int, sx: Callable[[float], float], y: float) -> str:
    """Step numbers under the last grid: every step up to 30, else about ten round ones."""
    every = 1 if length <= 30 else _round_step(length / 10)
    ticks = [1, *range(every, length + 1, every)] if every > 1 else list(range(1, length + 1))
    parts = [f'<text x="{sx(t):.1f}" y="{y + 10:.1f}" text-anchor="middle" font-size="10">'
             f'{t}</text>' for t in dict.fromkeys(ticks)]
    centre = LEFT + (WIDTH - LEFT - RIGHT) / 2
    parts.append(f'<text x="{centre:.1f}" y="{y + 26:.1f}" text-anchor="middle">'
                 "time step t</text>")
    return "".join(parts)


def _round_step(raw: float) -> int:
    """The smallest 1, 2 or 5 × 10^k at least `raw`."""
    power = 10 ** math.floor(math.log10(max(raw, 1.0)))
    return next(int(m * power) for m in (1, 2, 5, 10) if m * power >= raw)


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _rgb(value: float, top: float) -> tuple[int, int, int]:
    """White at 0, matplotlib's RdBu_r ends at ±top; grey for a value that is not finite."""
    if not math.isfinite(value):
        return (204, 204, 204)
    share = max(-1.0, min(1.0, value / top))
    end = GRID_RED if share >= 0 else GRID_BLUE
    r, g, b = (round(255 + (c - 255) * abs(share)) for c in end)
    return (r, g, b)


def _colour(value: float, top: float) -> str:
    return "rgb({},{},{})".format(*_rgb(value, top))


def png(pixels: Sequence[Sequence[tuple[int, int, int]]]) -> str:
    """An RGB image (rows of (r, g, b)) as a base64 PNG: the format's chunks, written directly
    (the figures need nothing more than 8-bit RGB without filtering)."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(c for pixel in line for c in pixel) for line in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))
    return base64.b64encode(data).decode("ascii")
