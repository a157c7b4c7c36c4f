"""The pieces the report's figures are drawn from, as SVG text: a panel with its axes and round
ticks, lines with markers, legends, a grid of coloured cells (one PNG past MAX_RECTS cells) and
its colour scale, and the <svg> element around them.

Units are points, as matplotlib's figures had (a 4.2 × 2 inch figure is 302 × 144), so the page's
figures keep their size and text size. Every string from data is escaped here; numbers are
formatted with fixed digits, so the same values give the same text.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# Okabe–Ito, in matplotlib's order for the report (black last): safe for colour blindness.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DASHES = {"-": "", "--": "5.5 2.4", "-.": "6.4 1.6 1 1.6", ":": "1 1.65"}  # matplotlib's, lw 1.5
MAX_RECTS = 4000  # grid cells drawn as rectangles with a tooltip each; more: one PNG image
MINUS = "\u2212"  # a typeset minus, as matplotlib writes tick labels
GRID_RED, GRID_BLUE = (178, 24, 43), (33, 102, 172)  # the ends of matplotlib's RdBu_r
FONT = 9.0  # tick labels and axis labels; titles are 1.2 × this


def document(key: str, title: str, width: float, height: float, body: str) -> str:
    """The figure's <svg>: scalable (no width/height), labelled for a screen reader, its class
    naming the figure for the page's style and script."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'role="img" aria-label="{escape(title)}" class="plot plot-{escape(key)}" '
            f'font-family="sans-serif" font-size="{FONT:g}"><title>{escape(title)}</title>'
            f"{body}</svg>")


def text(x: float, y: float, words: str, *, anchor: str = "start", size: float | None = None,
         extra: str = "") -> str:
    """A text element; `words` is escaped here."""
    attrs = f' text-anchor="{anchor}"' if anchor != "start" else ""
    attrs += f' font-size="{size:g}"' if size is not None else ""
    return f'<text x="{x:.1f}" y="{y:.1f}"{attrs}{extra}>{escape(words)}</text>'


def text_width(words: str, size: float = FONT) -> float:
    """About how wide a sans-serif text is drawn, for margins (no font metrics here)."""
    return 0.56 * size * len(words)


def number(value: float, decimals: int) -> str:
    """A tick label: fixed decimals and a typeset minus."""
    shown = f"{value:.{decimals}f}"
    return shown.replace("-", MINUS) if shown.strip("-0.") else shown.lstrip("-")


def nice_step(span: float, most: int) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k that cuts `span` into at most `most` parts."""
    raw = span / max(1, most)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def nice_ticks(low: float, high: float, most: int = 6) -> tuple[list[float], list[str]]:
    """Round ticks inside [low, high] and their labels, all with the step's decimals."""
    step = nice_step(high - low, most)
    first = math.ceil(low / step - 1e-9)
    ticks = [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:  # 0.25, 2.5
        decimals += 1
    if decimals > 4 or max(abs(low), abs(high)) >= 1e5:  # powers of ten read better there
        return ticks, [f"{t:.1e}".replace("-", MINUS) if t else "0" for t in ticks]
    return ticks, [number(t, decimals) for t in ticks]


def integer_ticks(first: int, last: int, most: int = 7) -> list[int]:
    """Whole numbers for steps or epochs: every one when few, else the first, round ones
    inside (not too close to the ends) and the last."""
    if last - first < most:
        return list(range(first, last + 1))
    step = max(1, round(nice_step(last - first, most - 1)))
    inside = [t for t in range(math.ceil(first / step) * step, last + 1, step)
              if first + step / 2 < t < last - step / 2]
    return [first, *inside, last]


def padded(values: Sequence[float], share: float = 0.05) -> tuple[float, float]:
    """The finite values' range with a margin each side, as matplotlib's autoscale leaves."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    pad = share * (high - low) if high > low else (0.05 * abs(high) or 0.5)
    return low - pad, high + pad


@dataclass
class Panel:
    """One set of axes: where it sits in the figure, what x and y it spans, and y on a log
    scale or not. sx and sy map data to figure points."""

    left: float
    top: float
    width: float
    height: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    log_y: bool = False
    canvas: float = 0.0  # the figure's width, to keep a long title inside it (0: unknown)

    def sx(self, x: float) -> float:
        low, high = self.x_range
        return self.left + (x - low) / (high - low) * self.width

    def sy(self, y: float) -> float:
        low, high = self.y_range
        if self.log_y:
            y, low, high = math.log10(y), math.log10(low), math.log10(high)
        return self.top + (1 - (y - low) / (high - low)) * self.height

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def frame(self, x_ticks: Sequence[float], x_labels: Sequence[str],
              y_ticks: Sequence[float], y_labels: Sequence[str], *, title: str, x_label: str,
              y_label: str = "", grid: bool = True) -> str:
        """Left and bottom axis lines, tick marks and labels, light grid lines at the ticks,
        the axis labels and the title above."""
        parts: list[str] = []
        right, bottom = self.left + self.width, self.bottom
        for x, label in zip(x_ticks, x_labels, strict=True):
            px = self.sx(x)
            if grid:
                parts.append(f'<line x1="{px:.1f}" y1="{self.top:.1f}" x2="{px:.1f}" '
                             f'y2="{bottom:.1f}" stroke="#b0b0b0" stroke-opacity="0.3"/>')
            parts.append(f'<line x1="{px:.1f}" y1="{bottom:.1f}" x2="{px:.1f}" '
                         f'y2="{bottom + 3.5:.1f}" stroke="#000" stroke-width="0.8"/>')
            parts.append(text(px, bottom + 3.5 + FONT, label, anchor="middle"))
        for y, label in zip(y_ticks, y_labels, strict=True):
            py = self.sy(y)
            if grid:
                parts.append(f'<line x1="{self.left:.1f}" y1="{py:.1f}" x2="{right:.1f}" '
                             f'y2="{py:.1f}" stroke="#b0b0b0" stroke-opacity="0.3"/>')
            parts.append(f'<line x1="{self.left - 3.5:.1f}" y1="{py:.1f}" x2="{self.left:.1f}" '
                         f'y2="{py:.1f}" stroke="#000" stroke-width="0.8"/>')
            parts.append(text(self.left - 5.5, py + FONT * 0.35, label, anchor="end"))
        parts.append(f'<path d="M{self.left:.1f},{self.top:.1f}V{bottom:.1f}H{right:.1f}" '
                     'fill="none" stroke="#000" stroke-width="0.8"/>')
        parts.append(text(self.left + self.width / 2, bottom + 3.5 + 2.2 * FONT + 3, x_label,
                          anchor="middle"))
        if y_label:
            widest = max((text_width(label) for label in y_labels), default=0.0)
            x = self.left - 9 - widest - FONT * 0.6
            middle = self.top + self.height / 2
            parts.append(text(x, middle, y_label, anchor="middle",
                              extra=f' transform="rotate(-90 {x:.1f} {middle:.1f})"'))
        # centred over the axes, yet inside the figure when the title is the wider
        half = text_width(title, FONT * 1.2) / 2
        middle = max(self.left + self.width / 2, half + 2)
        if self.canvas:
            middle = min(middle, max(self.canvas - half - 2, self.canvas / 2))
        parts.append(text(middle, self.top - 6, title, anchor="middle", size=FONT * 1.2))
        return "".join(parts)


def marker(kind: str, x: float, y: float, size: float, colour: str) -> str:
    """One of matplotlib's markers (o s ^ D v P X) centred at (x, y), `size` points across."""
    r = size / 2
    if kind == "o":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.2f}" fill="{colour}"/>'
    if kind == "s":
        return (f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{size:.1f}" height="{size:.1f}" '
                f'fill="{colour}"/>')
    shapes: dict[str, list[tuple[float, float]]] = {
        "^": [(0, -1.15), (1, 0.75), (-1, 0.75)],
        "v": [(0, 1.15), (1, -0.75), (-1, -0.75)],
        "D": [(0, -1.1), (0.8, 0), (0, 1.1), (-0.8, 0)],
        "P": [(-0.35, -1), (0.35, -1), (0.35, -0.35), (1, -0.35), (1, 0.35), (0.35, 0.35),
              (0.35, 1), (-0.35, 1), (-0.35, 0.35), (-1, 0.35), (-1, -0.35), (-0.35, -0.35)],
        "X": [(-0.75, -1), (0, -0.25), (0.75, -1), (1, -0.75), (0.25, 0), (1, 0.75), (0.75, 1),
              (0, 0.25), (-0.75, 1), (-1, 0.75), (-0.25, 0), (-1, -0.75)],
    }
    corners = " ".join(f"{x + dx * r:.1f},{y + dy * r:.1f}" for dx, dy in shapes[kind])
    return f'<polygon points="{corners}" fill="{colour}"/>'


@dataclass
class Look:
    """How a series is drawn: colour, line style (matplotlib's - -- -. :) and marker."""

    colour: str
    style: str = "-"
    marker: str = "o"
    marker_size: float = 6.0


def series(panel: Panel, xs: Sequence[float], ys: Sequence[float], look: Look, *,
           mark_every: int = 1, label: str = "") -> str:
    """A line through the finite points (a value that is not finite, or not positive on a log
    scale, breaks it), with a marker at every `mark_every`-th point. Long lines are thinned to
    the lowest and highest point of each drawn column, which is what the eye sees anyway."""
    dash = DASHES[look.style]
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    named = f' data-series="{escape(label)}"' if label else ""
    runs: list[list[tuple[float, float]]] = [[]]
    markers: list[str] = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if not math.isfinite(y) or (panel.log_y and y <= 0):
            runs.append([])
            continue
        point = (panel.sx(x), panel.sy(y))
        runs[-1].append(point)
        if i % mark_every == 0:
            markers.append(marker(look.marker, *point, look.marker_size, look.colour))
    lines = [f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in thin(run))}" '
             f'fill="none" stroke="{look.colour}" stroke-width="1.5"{dashed}/>'
             for run in runs if len(run) > 1]
    return f"<g{named}>" + "".join(lines) + "".join(markers) + "</g>"


def thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most four points per whole x unit (first, lowest, highest, last), in order: a line of
    100,000 steps stays a few kilobytes and looks the same."""
    if len(points) <= 1000:
        return points
    columns: dict[int, list[tuple[float, float]]] = {}
    for point in points:
        columns.setdefault(math.floor(point[0]), []).append(point)
    kept: list[tuple[float, float]] = []
    for column in columns.values():
        chosen = {0, len(column) - 1, min(range(len(column)), key=lambda i: column[i][1]),
                  max(range(len(column)), key=lambda i: column[i][1])}
        kept += [column[i] for i in sorted(chosen)]
    return kept


def legend(x: float, y: float, entries: Sequence[tuple[str, Look]], *, size: float = FONT,
           row: float | None = None) -> str:
    """One row per entry from (x, y) down: a short line in the series' style with its marker,
    then its name (escaped)."""
    row = row or size * 1.5
    parts = []
    for i, (name, look) in enumerate(entries):
        middle = y + i * row
        dash = DASHES[look.style]
        parts.append(f'<line x1="{x:.1f}" y1="{middle:.1f}" x2="{x + 20:.1f}" y2="{middle:.1f}" '
                     f'stroke="{look.colour}" stroke-width="1.5"'
                     + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        parts.append(marker(look.marker, x + 10, middle, look.marker_size, look.colour))
        parts.append(text(x + 26, middle + size * 0.35, name, size=size))
    return '<g class="legend">' + "".join(parts) + "</g>"


def diverging_rgb(value: float, top: float) -> tuple[int, int, int]:
    """White at 0 to matplotlib's RdBu_r ends at ±top (red positive, blue negative); grey for a
    value that is not finite."""
    if not math.isfinite(value):
        return (204, 204, 204)
    share = max(-1.0, min(1.0, value / top)) if top > 0 else 0.0
    end = GRID_RED if share >= 0 else GRID_BLUE
    r, g, b = (round(255 + (c - 255) * abs(share)) for c in end)
    return (r, g, b)


def grid(cells: Sequence[Sequence[float]], panel: Panel, top: float,
         tooltip: Callable[[int, int, float], str]) -> str:
    """Rows × columns of values as cells filling `panel` (row 0 on top), each coloured on the
    symmetric scale ±top with `tooltip(row, column, value)` as its title; past MAX_RECTS cells,
    one PNG image a pixel per cell (exact, and small for any length)."""
    rows, columns = len(cells), len(cells[0]) if cells else 0
    if not rows or not columns:
        return ""
    cw, ch = panel.width / columns, panel.height / rows
    if rows * columns > MAX_RECTS:
        pixels = [[diverging_rgb(v, top) for v in line] for line in cells]
        return (f'<image x="{panel.left:.1f}" y="{panel.top:.1f}" width="{panel.width:.1f}" '
                f'height="{panel.height:.1f}" preserveAspectRatio="none" '
                'style="image-rendering: pixelated" '
                f'href="data:image/png;base64,{png(pixels)}"><title>{rows} rows × {columns} '
                "columns, a pixel each</title></image>")
    parts = []
    for r, line in enumerate(cells):
        for c, value in enumerate(line):
            parts.append(f'<rect x="{panel.left + c * cw:.2f}" y="{panel.top + r * ch:.2f}" '
                         f'width="{cw:.2f}" height="{ch:.2f}" '
                         'fill="rgb({},{},{})"'.format(*diverging_rgb(value, top))
                         + f"><title>{escape(tooltip(r, c, value))}</title></rect>")
    return "".join(parts)


def colour_scale(key: str, left: float, top: float, height: float, limit: float,
                 label: str) -> str:
    """A vertical bar from −limit (blue, bottom) through white to +limit (red, top) with round
    ticks and its label; its gradient's id is prefixed by `key` (several figures per page)."""
    gradient = f"{key}-scale"
    red, blue = ("rgb({},{},{})".format(*c) for c in (GRID_RED, GRID_BLUE))
    width = 10.0
    parts = [f'<defs><linearGradient id="{gradient}" x1="0" y1="1" x2="0" y2="0">'
             f'<stop offset="0" stop-color="{blue}"/><stop offset="0.5" stop-color="#fff"/>'
             f'<stop offset="1" stop-color="{red}"/></linearGradient></defs>',
             f'<rect x="{left:.1f}" y="{top:.1f}" width="{width}" height="{height:.1f}" '
             f'fill="url(#{gradient})" stroke="#000" stroke-width="0.5"/>']
    ticks, labels = nice_ticks(-limit, limit, 4)
    for tick, words in zip(ticks, labels, strict=True):
        y = top + (1 - (tick + limit) / (2 * limit)) * height
        parts.append(f'<line x1="{left + width:.1f}" y1="{y:.1f}" x2="{left + width + 3:.1f}" '
                     f'y2="{y:.1f}" stroke="#000" stroke-width="0.8"/>')
        parts.append(text(left + width + 5, y + FONT * 0.35, words, size=FONT * 0.9))
    x, middle = left + width + 12 + max(text_width(w, FONT * 0.9) for w in labels), \
        top + height / 2
    parts.append(text(x, middle, label, anchor="middle",
                      extra=f' transform="rotate(-90 {x:.1f} {middle:.1f})"'))
    return "".join(parts)


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
