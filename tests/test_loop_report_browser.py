"""A cell loop's page in a real browser (Debian's Chromium via Playwright): its step-through.

Two of the loop models of tests/_public_models.py: PyTorch's time-series example (two
LSTMCells, a regression: no prediction, the step-through reads the step records alone) and a
GRUCell classifier (with a prediction).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import rnntrace as rt
from _public_models import GRUCellClassifier, Sequence
from rnntrace.records import Trace
from rnntrace.render.html import step_view
from rnntrace.run.report import write_report

CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        yield browser
        browser.close()


def _open(browser: Any, trace: Trace, path: Path) -> tuple[Any, list[str], list[str]]:
    write_report(trace, path)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, console, requests


def _shown(page: Any, selector: str) -> list[float]:
    return [float(v) for v in page.locator(f"{selector} .cell .val").all_inner_texts()]


def _steps_through(page: Any, trace: Trace) -> None:
    """Every step's h_(t-1), h_t and equation, moved through with the arrow keys."""
    steps = trace.steps
    count = len(steps)
    assert page.locator("#steps").is_visible()
    assert page.locator("#step-t").inner_text() == f"t = 1 of {count}"
    page.locator("#step-slider").focus()
    for t in range(1, count + 1):
        if t > 1:
            page.keyboard.press("ArrowRight")
        assert page.locator("#step-t").inner_text() == f"t = {t} of {count}"
        assert _shown(page, "#step-h") == pytest.approx(steps[t - 1].h, abs=5e-4)
        assert _shown(page, "#step-hprev") == pytest.approx(steps[t - 1].h_prev, abs=5e-4)
        equation = page.locator("#step-eq pre").inner_text()
        assert equation == "\n".join(step_view(steps[t - 1])["equation"])


def _no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == 1280


def test_two_lstm_cells_regression_page_steps_through_the_loop(
    browser: Any, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    trace = rt.trace(Sequence().double(), torch.randn(2, 6, dtype=torch.double))
    page, console, requests = _open(browser, trace, tmp_path / "sequence.html")
    assert trace.prediction is None and not page.locator("#prediction").count()
    _steps_through(page, trace)
    body = " ".join(page.locator("body").inner_text().split())
    assert "lstm1 (called 6 times)" in body and "lstm2 (called 6 times)" in body
    # named once each in the title, the model card and the layer list, not once per call
    assert body.count("nn.LSTMCell(51, 51)") == 3
    _no_horizontal_scroll(page)
    assert [c for c in console if c.startswith(("error", "pageerror"))] == []
    assert requests == [(tmp_path / "sequence.html").as_uri()]
    page.close()


def test_grucell_classifier_page_has_prediction_and_step_through(
    browser: Any, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    trace = rt.trace(GRUCellClassifier(), torch.randn(3, 5, 3))
    page, console, _ = _open(browser, trace, tmp_path / "cells.html")
    assert page.locator("#prediction").is_visible()
    _steps_through(page, trace)
    _no_horizontal_scroll(page)
    assert [c for c in console if c.startswith(("error", "pageerror"))] == []
    page.close()
