"""The explain section's attribution figure, written as SVG text: well-formed and escaped, one
cell per (step, feature) coloured by the sign and size of its attribution, and for long
sequences one PNG image read back by Pillow with the same colours."""

from __future__ import annotations

import base64
import dataclasses
import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.pipeline import run_experiment
from rnntrace.records import PredictionTrace
from rnntrace.records.explanation import Attribution
from rnntrace.render.attribution_svg import MAX_RECTS, attribution_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[PredictionTrace, Attribution]:
    run = run_experiment(lesson(n_sequences=60, seed=3), ModelConfig(cell="gru", hidden_size=4),
                         TrainConfig(epochs=1, seed=3), out=tmp_path_factory.mktemp("svg") / "r")
    assert run.explanation is not None and run.explanation.attribution is not None
    assert run.trace.prediction is not None
    return run.trace.prediction, run.explanation.attribution


def _cells(root: ET.Element) -> list[tuple[str, str]]:
    """(tooltip, fill) of every grid cell: the rectangles that carry a title."""
    return [(r.findtext(f"{SVG}title") or "", r.get("fill", "")) for r in root.iter(f"{SVG}rect")
            if r.find(f"{SVG}title") is not None]


def _rgb(fill: str) -> tuple[int, ...]:
    return tuple(int(c) for c in fill.removeprefix("rgb(").removesuffix(")").split(","))


def test_one_cell_per_step_and_feature_coloured_by_sign(traced) -> None:
    p, a = traced
    root = ET.fromstring(attribution_svg(p, a, "attr-0"))  # well-formed XML
    cells = _cells(root)
    grids = 1 + (a.data_baselines is not None)
    assert len(cells) == grids * a.length * len(a.feature_names)
    values = np.array(a.values)  # (T, F)
    top = np.abs(values).max()
    for (tip, fill), (f, t) in zip(cells, [(f, t) for f in range(len(a.feature_names))
                                           for t in range(a.length)], strict=False):
        assert tip == f"{a.feature_names[f]}, step {t + 1}: {values[t, f]:+.4f}"
        r, _, b = _rgb(fill)
        v = values[t, f]
        if abs(v) > 0.01 * top:  # smaller ones round to white
            assert (r > b) if v > 0 else (b > r)
        elif v == 0:
            assert r == b == 255
        if abs(v) == top:  # the largest takes the scale's end colour
            assert _rgb(fill) in ((178, 24, 43), (33, 102, 172))
    assert root.get("aria-label", "").startswith(f"Attribution of sequence {a.sequence_id}")


def test_the_band_follows_each_steps_total(traced) -> None:
    p, a = traced
    root = ET.fromstring(attribution_svg(p, a, "attr-0"))
    band = [r for r in root.iter(f"{SVG}rect") if r.get("fill-opacity") is not None]
    shaded = [v for v in a.per_step if v != 0]
    assert len(band) == len(shaded)
    top = max(abs(v) for v in shaded)
    for rect, v in zip(band, shaded, strict=True):
        assert float(rect.get("fill-opacity", "")) == pytest.approx(0.55 * abs(v) / top,
                                                                      abs=1e-3)
        assert rect.get("fill") == ("rgb(214, 39, 40)" if v > 0 else "rgb(31, 119, 180)")


def test_names_from_data_are_escaped(traced) -> None:
    p, a = traced
    hostile = ['<script>alert(1)</script>', 'a & "b"', *a.feature_names[2:]]
    p = dataclasses.replace(p, feature_names=hostile, sequence_id="</svg><b>")
    a = dataclasses.replace(a, feature_names=hostile, sequence_id="</svg><b>")
    text = attribution_svg(p, a, "attr-1")
    assert "<script>" not in text and "</svg><b>" not in text
    root = ET.fromstring(text)
    assert any(tip.startswith("<script>alert(1)</script>, step 1:") for tip, _ in _cells(root))


def test_a_long_sequence_is_one_image_with_the_same_colours(traced) -> None:
    from PIL import Image

    p, a = traced
    length, width = MAX_RECTS // len(a.feature_names) + 50, len(a.feature_names)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(length, width))
    values[7, 2] = 0.0
    p = dataclasses.replace(p, length=length, inputs=rng.normal(size=(length, width)).tolist())
    a = dataclasses.replace(a, length=length, values=values.tolist(),
                            per_step=values.sum(1).tolist(), data_baselines=None)
    root = ET.fromstring(attribution_svg(p, a, "attr-2"))
    assert not _cells(root)
    (image,) = root.iter(f"{SVG}image")
    png = base64.b64decode(image.get("href", "").removeprefix("data:image/png;base64,"))
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert pixels.shape == (width, length, 3)  # a row per feature, a column per step
    top = np.abs(values).max()
    assert tuple(pixels[2, 7]) == (255, 255, 255)
    red = values.T > 0
    assert (pixels[..., 0][red] >= pixels[..., 2][red]).all()
    assert (pixels[..., 2][~red] >= pixels[..., 0][~red]).all()
    f, t = np.unravel_index(np.abs(values.T).argmax(), values.T.shape)
    assert tuple(pixels[f, t]) == ((178, 24, 43) if values[t, f] > 0 else (33, 102, 172))
    assert top > 0
