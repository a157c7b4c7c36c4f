"""Small SVG charts written as text: lines over steps, and a heatmap. No plotting library, so a
page of many small figures stays quick to make; every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Okabe–Ito: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


@dataclass
class Series:
    """One line: its name (for the legend), the x and y values, and how it is drawn."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    color: str = PALETTE[0]
    dashed: bool = False


def tick_text(value: float) -> str:
    """A number short enough for an axis: 3 significant digits, or powers of ten."""
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.1e}"
    return f"{value:.3g}"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_range: tuple[float, float] | None = None,
    log: bool = False,
    width: int = 460,
    height: int = 220,
) -> str:
    """A line chart with a legend; `log` draws y on a log scale (positive values only)."""
    left, right, top, bottom = 52, 10, 22, 34
    legend = 14 * len(series)
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys, strict=True)
              if y is not None and math.isfinite(y) and (not log or y > 0)]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} '
            f'{height + legend}" width="{width}" height="{height + legend}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<text x="{left}" y="14" class="chart-title">{escape(title)}</text>')
    if not points:
        return head + f'<text x="{width / 2}" y="{height / 2}">no data</text></svg>'
    ty = (lambda v: math.log10(v)) if log else (lambda v: v)
    ys = [ty(y) for _, y in points]
    low, high = (min(ys), max(ys)) if y_range is None or log else y_range
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    x_low = min(x for x, _ in points)
    x_high = max(max(x for x, _ in points), x_low + 1)

    def sx(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * (width - left - right)

    def sy(y: float) -> float:
        return top + (1 - (y - low) / (high - low)) * (height - top - bottom)

    parts = [head,
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
             f'y2="{height - bottom}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>']
    for value in (low, (low + high) / 2, high):
        shown = 10 ** value if log else value
        parts.append(f'<text x="{left - 4}" y="{sy(value) + 3:.1f}" text-anchor="end">'
                     f'{tick_text(shown)}</text>')
    parts.append(f'<text x="{left}" y="{height - bottom + 14}">{tick_text(x_low)}</text>')
    parts.append(f'<text x="{width - right}" y="{height - bottom + 14}" text-anchor="end">'
                 f'{tick_text(x_high)}</text>')
    parts.append(f'<text x="{(left + width) / 2}" y="{height - 6}" text-anchor="middle">'
                 f'{escape(x_label)}{" (log scale)" if log else ""}</text>')
    for index, s in enumerate(series):
        coords = [f"{sx(x):.1f},{sy(ty(y)):.1f}" for x, y in zip(s.xs, s.ys, strict=True)
                  if y is not None and math.isfinite(y) and (not log or y > 0)]
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        if len(coords) == 1:
            cx, cy = coords[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{s.color}"/>')
        elif coords:
            parts.append(f'<polyline points="{" ".join(coords)}" fill="none" '
                         f'stroke="{s.color}" stroke-width="2"{dash}/>')
        row = height + 10 + 14 * index  # the legend, one line per series
        parts.append(f'<line x1="{left}" y1="{row - 4}" x2="{left + 22}" y2="{row - 4}" '
                     f'stroke="{s.color}" stroke-width="2"{dash}/>'
                     f'<text x="{left + 28}" y="{row}">{escape(s.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell_color(value: float, top: float) -> str:
    """Blue (negative) through white to red (positive), as the report's heatmap."""
    share = max(-1.0, min(1.0, value / top)) if top > 0 else 0.0
    mix = [round(255 + (c - 255) * abs(share)) for c in ((178, 24, 43) if share >= 0
                                                          else (33, 102, 172))]
    return f"rgb({mix[0]},{mix[1]},{mix[2]})"


def heatmap(rows: Sequence[Sequence[float]], *, title: str, cell: int = 14) -> str:
    """Values (T, H) as H rows × T columns of coloured cells, each with its value as a tooltip."""
    steps = len(rows)
    units = len(rows[0]) if rows else 0
    finite = [abs(v) for row in rows for v in row if math.isfinite(v)]
    top = max([1.0, *finite])
    width, height = 40 + cell * steps, 8 + cell * units + 16
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for t, row in enumerate(rows):
        for u, value in enumerate(row):
            fill = _cell_color(value, top) if math.isfinite(value) else "#ccc"
            parts.append(f'<rect x="{40 + t * cell}" y="{4 + u * cell}" width="{cell}" '
                         f'height="{cell}" fill="{fill}"><title>h{u + 1} after step {t + 1}: '
                         f'{value:.3f}</title></rect>')
    for u in range(units):
        parts.append(f'<text x="36" y="{4 + u * cell + cell - 3}" text-anchor="end">'
                     f'h{u + 1}</text>')
    every = max(1, math.ceil(steps / 12))
    for t in range(0, steps, every):
        parts.append(f'<text x="{40 + t * cell + cell / 2}" y="{height - 3}" '
                     f'text-anchor="middle">{t + 1}</text>')
    parts.append("</svg>")
    return "".join(parts)
