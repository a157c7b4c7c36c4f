"""The report's figures written as SVG text (render/report_figures.py), read back as a reader
would: each figure is parsed with ElementTree, its axes are read from the tick labels it prints,
and the lines, bars and cells it draws are mapped back through those axes to the trace's numbers.
Grids drawn as one PNG are decoded by Pillow."""

from __future__ import annotations

import base64
import io
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from rnntrace.records import Dynamics, EpochRecord, PredictionTrace
from rnntrace.render.formatting import short
from rnntrace.render.report_figures import (
    ANNOTATE_CELLS,
    MOST_LINES,
    dynamics_figure,
    heatmap_figure,
    inputs_figure,
    softmax_figure,
    training_figures,
)
from rnntrace.render.svg_plot import MAX_RECTS

SVG = "{http://www.w3.org/2000/svg}"
ORANGE, BLUE = "#D55E00", "#0072B2"  # Okabe–Ito: held-out / predicted, training / the rest
HOSTILE = ['<script>alert(1)</script>', 'a & "b" ]]>', "</text><svg onload=x>", "$x$"]


def _epochs(n: int, held: bool = True) -> list[EpochRecord]:
    rng = np.random.default_rng(n)
    return [EpochRecord(e, float(2 / e + rng.uniform(0, .1)), float(rng.uniform(.3, 1)),
                        float(2.2 / e) if held else None, float(rng.uniform(.3, 1)) if held
                        else None, 1.0, 0.01) for e in range(1, n + 1)]


def _prediction(length: int = 10, features: int = 3, units: int = 4, classes: int = 3,
                names: list[str] | None = None, seed: int = 0) -> PredictionTrace:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=classes)
    probabilities = np.exp(logits) / np.exp(logits).sum()
    hidden = np.tanh(rng.normal(size=(length, units)))
    return PredictionTrace(
        sequence_id="seq<1>", length=length,
        feature_names=names or [f"x{i}" for i in range(features)],
        inputs=rng.normal(size=(length, features)).tolist(), hidden_states=hidden.tolist(),
        last_hidden=hidden[-1].tolist(), logits=logits.tolist(),
        probabilities=probabilities.tolist(), class_names=[f"class {i}" for i in range(classes)],
        predicted=int(probabilities.argmax()), true_class=0)


def _floats(label: str) -> float:
    return float(label.replace("\u2212", "-"))


def _y_axis(root: ET.Element, panel: int = 0, log: bool = False):
    """value(py) from the `panel`-th axes' printed y ticks: the tick marks (short horizontal
    lines) and the labels right-aligned beside them, in order."""
    marks = [ln for ln in root.iter(f"{SVG}line") if ln.get("y1") == ln.get("y2")
             and math.isclose(float(ln.get("x2", 0)) - float(ln.get("x1", 0)), 3.5)]
    labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"
              and re.fullmatch(r"[−\d.e+-]+", t.text or "")]
    groups: dict[float, list[tuple[float, float]]] = {}  # axes by their left edge
    for mark, label in zip(marks, labels, strict=True):
        value = _floats(label.text or "")
        groups.setdefault(float(mark.get("x2", 0)), []).append((float(mark.get("y1", 0)), value))
    ticks = [(y, math.log10(v) if log else v) for y, v in groups[sorted(groups)[panel]]]
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    scale = (v1 - v0) / (y1 - y0)
    for y, v in ticks:  # every printed tick sits where the first and last put it
        assert v0 + (y - y0) * scale == pytest.approx(v, abs=1e-6 + 1e-3 * abs(v1 - v0))
    return (lambda py: 10 ** (v0 + (py - y0) * scale)) if log else (lambda py: v0 + (py - y0)
                                                                      * scale)


def _points(group: ET.Element) -> list[tuple[float, float]]:
    return [tuple(float(c) for c in pair.split(",")) for line in group.iter(f"{SVG}polyline")
            for pair in (line.get("points") or "").split()]  # type: ignore[misc]


def _series(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-series", ""): g for g in root.iter(f"{SVG}g") if g.get("data-series")}


def _accessible(svg: str, key: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed
    assert root.get("role") == "img" and root.get("aria-label")
    assert root[0].tag == f"{SVG}title" and root[0].text == root.get("aria-label")
    assert f"plot-{key}" in (root.get("class") or "").split()
    assert "width" not in root.attrib and root.get("viewBox")  # scales with the page
    for el in root.iter():  # ids are the figure's own: several figures share one page
        assert el.get("id") is None or el.get("id", "").startswith(f"{key}-")
    return root


def test_the_loss_line_passes_through_each_epochs_loss() -> None:
    records = _epochs(7)
    loss, accuracy = training_figures(records)
    for svg, key, train, held in ((loss, "loss", [r.loss for r in records],
                                   [r.val_loss for r in records]),
                                  (accuracy, "accuracy", [r.accuracy for r in records],
                                   [r.val_accuracy for r in records])):
        root = _accessible(svg, key)
        value = _y_axis(root)
        lines = _series(root)
        for name, expected in (("training", train), ("held-out", held)):
            shown = [value(y) for _, y in _points(lines[name])]
            assert shown == pytest.approx(expected, abs=0.01)
        # training solid with circles, held-out dashed with squares: told apart without colour
        assert lines["training"].find(f"{SVG}polyline").get("stroke-dasharray") is None
        assert lines["held-out"].find(f"{SVG}polyline").get("stroke-dasharray")
        assert len(lines["training"].findall(f"{SVG}circle")) == len(records)
        assert len(lines["held-out"].findall(f"{SVG}rect")) == len(records)
        legend = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "legend"
                  for t in g.iter(f"{SVG}text")]
        assert legend == ["training", "held-out"]
    assert "Loss per epoch" in [t.text for t in ET.fromstring(loss).iter(f"{SVG}text")]
    labels = [t.text for t in ET.fromstring(accuracy).iter(f"{SVG}text")]
    assert "Accuracy per epoch" in labels and "accuracy" in labels and "1.00" in labels


def test_epochs_axis_and_gaps() -> None:
    records = _epochs(100, held=False)
    records[40].loss = math.nan  # a diverged epoch breaks the line, it is not drawn at 0
    loss, _ = training_figures(records, "R²")
    root = ET.fromstring(loss)
    assert len(root.findall(f".//{SVG}polyline")) == 2
    assert "held-out" not in _series(root)
    ticks = [int(t.text or "") for t in root.iter(f"{SVG}text") if t.get("text-anchor") ==
             "middle" and (t.text or "").isdigit()]
    assert ticks[0] == 1 and ticks[-1] == 100 and len(ticks) <= 8
    _, r2 = training_figures(records, "R²")
    labels = [t.text for t in ET.fromstring(r2).iter(f"{SVG}text")]
    assert "R² per epoch" in labels and "R²" in labels


def test_the_gradient_is_drawn_on_a_log_scale_per_direction() -> None:
    rng = np.random.default_rng(1)
    norms = [np.exp(rng.uniform(-9, 0, 40)).tolist(), np.exp(rng.uniform(-9, 0, 40)).tolist()]
    norms[0][5] = 0.0  # no gradient: nothing to draw on a log scale
    d = Dynamics("gru", "|h| > 0.95", 40, rng.uniform(0, 1, 40).tolist(), norms, 1.0, 0.0)
    root = _accessible(dynamics_figure(d), "dynamics")
    value = _y_axis(root, 0, log=True)
    lines = _series(root)
    for name, expected in (("forward", norms[0]), ("backward", norms[1])):
        shown = [value(y) for _, y in _points(lines[name])]
        kept = [v for v in expected if v > 0]
        assert len(shown) == len(kept)
        assert np.log10(shown) == pytest.approx(np.log10(kept), abs=0.01)
    assert lines["backward"].find(f"{SVG}polyline").get("stroke-dasharray")
    share = _y_axis(root, 1)
    assert [share(y) for _, y in _points(lines["saturated"])] == pytest.approx(
        [100 * v for v in d.saturated], abs=0.2)


def test_input_lines_map_back_to_the_inputs_and_differ_in_more_than_colour() -> None:
    p = _prediction(length=25, features=MOST_LINES)
    root = _accessible(inputs_figure(p), "inputs")
    value = _y_axis(root)
    lines = _series(root)
    looks, shapes = set(), set()
    for f, name in enumerate(p.feature_names):
        shown = [value(y) for _, y in _points(lines[name])]
        assert shown == pytest.approx([row[f] for row in p.inputs], abs=0.02)
        line = lines[name].find(f"{SVG}polyline")
        assert line is not None
        looks.add((line.get("stroke"), line.get("stroke-dasharray"), _shape(lines[name])))
        shapes.add((line.get("stroke-dasharray"), _shape(lines[name])))
    # each feature its own look, and told apart without colour too (dash and marker)
    assert len(looks) == len(shapes) == MOST_LINES


def _shape(series: ET.Element) -> tuple[object, ...]:
    """A marker's shape, wherever it is drawn: its tag and its corners about its centre."""
    mark = next(el for el in series if el.tag != f"{SVG}polyline")
    if mark.tag != f"{SVG}polygon":
        return (mark.tag,)
    corners = np.array([[float(c) for c in pair.split(",")]
                        for pair in (mark.get("points") or "").split()])
    return tuple(np.round(corners - corners.mean(0)).astype(int).ravel().tolist())


def test_many_features_are_a_grid_coloured_by_sign_and_escaped() -> None:
    p = _prediction(length=12, features=MOST_LINES + 2,
                    names=[*HOSTILE, *[f"f{i}" for i in range(MOST_LINES - 2)]])
    text = inputs_figure(p)
    assert "<script>" not in text and "<svg onload" not in text
    root = _accessible(text, "inputs")
    cells = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(cells) == p.length * len(p.feature_names)
    for rect in cells:
        name, step, shown = re.fullmatch(r"(.*), step (\d+): (\S+)", rect.findtext(
            f"{SVG}title") or "", flags=re.S).groups()  # type: ignore[union-attr]
        v = p.inputs[int(step) - 1][p.feature_names.index(name)]
        assert float(shown) == pytest.approx(v, rel=1e-3)
        r, _, b = (int(c) for c in re.findall(r"\d+", rect.get("fill", "")))
        assert (r > b) if v > 0.05 else (b > r) if v < -0.05 else True
    assert {t.text for t in root.iter(f"{SVG}text")} >= {short(n) for n in HOSTILE}
    assert root.find(f".//{SVG}linearGradient").get("id") == "inputs-scale"


def _png(root: ET.Element) -> np.ndarray:
    from PIL import Image

    (image,) = root.iter(f"{SVG}image")
    data = base64.b64decode(image.get("href", "").removeprefix("data:image/png;base64,"))
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_a_long_wide_input_is_one_image_read_back_by_pillow() -> None:
    p = _prediction(length=MAX_RECTS // 20 + 100, features=20)
    text = inputs_figure(p)
    root = ET.fromstring(text)
    pixels = _png(root).astype(int)
    values = np.array(p.inputs).T  # (F, T)
    assert pixels.shape == (*values.shape, 3)
    assert (pixels[..., 0][values > 0] >= pixels[..., 2][values > 0]).all()
    assert (pixels[..., 2][values < 0] >= pixels[..., 0][values < 0]).all()
    f, t = np.unravel_index(np.abs(values).argmax(), values.shape)
    assert tuple(pixels[f, t]) in ((178, 24, 43), (33, 102, 172))  # the scale's ends
    assert len(text) < 60_000


def test_the_heatmap_prints_each_value_and_outlines_each_step() -> None:
    p = _prediction(length=10, units=6)
    units = [f"h{u + 1}" for u in range(6)]
    root = _accessible(heatmap_figure(p, units), "heatmap")
    cells = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [c.findtext(f"{SVG}title") for c in cells] == [
        f"h{u + 1} after step {t + 1}: {p.hidden_states[t][u]:.3f}"
        for u in range(6) for t in range(10)]
    printed = [t.text for t in root.iter(f"{SVG}text") if re.fullmatch(r"-?\d\.\d\d", t.text
                                                                         or "")]
    assert printed == [f"{p.hidden_states[t][u]:.2f}" for u in range(6) for t in range(10)]
    # the page's script finds one outline per step by class and data-t (report.js)
    columns = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "hm-col"]
    assert [c.get("data-t") for c in columns] == [str(t) for t in range(1, 11)]
    xs = [float(c.get("x", 0)) for c in columns]
    for column, cell in zip(columns, cells[:10], strict=True):  # each outlines its own step
        assert float(column.get("x", 0)) == pytest.approx(float(cell.get("x", 0)), abs=0.01)
    assert xs == sorted(xs)


def test_a_long_heatmap_is_one_image_with_a_scale() -> None:
    length, width = 300, 32
    p = _prediction(length=length, units=width)
    assert length * width > MAX_RECTS and length * width > ANNOTATE_CELLS
    root = _accessible(heatmap_figure(p, [f"h{u + 1}" for u in range(width)]), "heatmap")
    pixels = _png(root).astype(int)
    values = np.array(p.hidden_states).T
    assert pixels.shape == (width, length, 3)
    assert (pixels[..., 0][values > 0] >= pixels[..., 2][values > 0]).all()
    assert (pixels[..., 2][values < 0] >= pixels[..., 0][values < 0]).all()
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "hm-col"]) == length
    assert root.find(f".//{SVG}linearGradient").get("id") == "heatmap-scale"
    assert "colour scale" in root.get("aria-label", "")


def test_softmax_bars_are_as_long_as_the_probabilities() -> None:
    p = _prediction(classes=5)
    p.class_names[1] = HOSTILE[0]
    root = _accessible(softmax_figure(p), "softmax")
    bars = sorted((r for r in root.iter(f"{SVG}rect") if r.get("data-class")),
                  key=lambda r: int(r.get("data-class", 0)))
    widths = np.array([float(b.get("width", 0)) for b in bars])
    ratio = widths / np.array(p.probabilities)
    assert ratio == pytest.approx(np.full(5, ratio[0]), rel=0.02)  # one scale for all bars
    for i, bar in enumerate(bars):
        predicted = i == p.predicted
        assert bar.get("fill") == (ORANGE if predicted else BLUE)
        assert (bar.get("stroke") is not None) == predicted  # outlined: not colour alone
        assert bar.findtext(f"{SVG}title") == f"{p.class_names[i]}: {p.probabilities[i]:.3f}"
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert f"{short(p.class_names[p.predicted])} (predicted" in " ".join(map(str, labels))
    assert [f"{v:.3f}" for v in p.probabilities] == [t for t in labels if re.fullmatch(
        r"\d\.\d{3}", t or "")]


def test_the_same_trace_gives_the_same_figures() -> None:
    def all_figures() -> list[str]:
        p = _prediction(length=40, features=10)
        d = Dynamics("rnn", "|h| > 0.95", 40, [0.1] * 40, [[1e-3 * (t + 1) for t in range(40)]],
                     1.0, 0.0)
        return [*training_figures(_epochs(5)), dynamics_figure(d), inputs_figure(p),
                heatmap_figure(p, ["h1", "h2", "h3", "h4"]), softmax_figure(p)]

    assert all_figures() == all_figures()


def test_a_very_long_line_stays_small_and_keeps_its_extremes() -> None:
    length = 100_000
    rng = np.random.default_rng(2)
    saturated = rng.uniform(0, 1, length)
    saturated[77_777] = 1.0
    d = Dynamics("rnn", "|h| > 0.95", length, saturated.tolist(),
                 [np.exp(rng.uniform(-5, 0, length)).tolist()], 1.0, 0.0)
    text = dynamics_figure(d)
    assert len(text) < 120_000
    root = ET.fromstring(text)
    share = _y_axis(root, 1)
    shown = [share(y) for _, y in _points(_series(root)["saturated"])]
    assert max(shown) == pytest.approx(100, abs=0.2) and min(shown) == pytest.approx(
        100 * saturated.min(), abs=0.2)
