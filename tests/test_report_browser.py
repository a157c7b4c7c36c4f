"""The report in a real browser: Debian's headless Chromium driven by Playwright, from file://."""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _report_data import HOSTILE_CLASSES, HOSTILE_FEATURES, hostile_run, lesson_run
from rnntrace.render.html import step_view
from rnntrace.run.directory import Run
from rnntrace.run.files import REPORT
from rnntrace.run.report import write_report

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/report-shots")  # a copy for people to look at; the tests use tmp_path
SECTIONS = ["config", "flow", "training", "prediction", "explain", "steps", "quiz", "insight"]

if not Path(CHROMIUM).exists():
    # CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return lesson_run(tmp_path_factory.mktemp("browser") / "lesson")


class Visit:
    """One page load with everything the page said and asked for recorded."""

    def __init__(self, browser: Any, path: Path, width: int = 1100) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        started = time.perf_counter()
        self.page.goto(path.as_uri(), wait_until="load")
        self.load_seconds = time.perf_counter() - started

    def errors(self) -> list[str]:
        return [c for c in self.console if c.startswith(("error", "pageerror"))]

    def close(self) -> None:
        self.page.close()


def _shot(visit: Visit, path: Path, name: str) -> None:
    visit.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    try:
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / name)
    except OSError:
        pass  # the copy is a convenience for a human reviewer only


def test_every_section_shows_and_nothing_leaves_the_file(
    browser: Any, lesson: Run, tmp_path: Path
) -> None:
    report = lesson.path / REPORT
    assert report.stat().st_size < 5_000_000
    visit = Visit(browser, report)
    for section in SECTIONS:
        assert visit.page.locator(f"#{section}").is_visible(), section
    # every figure shown is drawn at a readable size (hard cases' figures wait, hidden, for
    # their button)
    for svg in visit.page.locator("svg.plot >> visible=true").all():
        box = svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
    assert visit.errors() == []
    assert visit.requests == [report.as_uri()]
    # A benchmark figure, not a timing test: a generous bound only catches a broken page.
    size = report.stat().st_size / 1e3
    print(f"\nreport {size:.0f} kB, load event after {visit.load_seconds:.3f} s")
    assert visit.load_seconds < 10
    _shot(visit, tmp_path / "report.png", "report-1100.png")
    visit.close()


def test_clicking_a_quiz_answer_gives_feedback(browser: Any, lesson: Run) -> None:
    visit = Visit(browser, lesson.path / REPORT)
    question = visit.page.locator(".question").first
    item = lesson.trace.quiz[0]
    wrong = next(i for i in range(len(item.options)) if i != item.answer)
    question.locator(".option").nth(wrong).click()
    assert "Not quite" in question.locator(".feedback").inner_text()
    assert "your answer" in question.locator(".option").nth(wrong).inner_text()
    # the right answer is named in words, not only coloured
    assert "correct answer" in question.locator(".option").nth(item.answer).inner_text()
    assert question.locator(".solution").evaluate("d => d.open")
    question.locator(".option").nth(item.answer).click()
    assert question.locator(".feedback").inner_text().startswith("✓ Correct")
    assert visit.errors() == []
    visit.close()


def test_the_faded_step_checks_the_learners_arithmetic(browser: Any, lesson: Run) -> None:
    visit = Visit(browser, lesson.path / REPORT)
    worked, faded = visit.page.locator("#worked"), visit.page.locator("#faded")
    # Folded like the settings, so the page stays short: one click opens both steps.
    assert not worked.is_visible() and not faded.is_visible()
    visit.page.locator("#lesson > summary").click()
    assert worked.is_visible() and faded.is_visible()
    # Before the questions: worked, then faded, then question 1.
    order = visit.page.evaluate(
        "['worked', 'faded', 'q1'].map(id => document.getElementById(id).offsetTop)")
    assert order == sorted(order)
    # The lesson's RNN: h_t[j] = tanh(a_t[j]); the learner reads a_t[j] from the table.
    blank = faded.locator(".blank").first
    formula = blank.locator("code").inner_text()
    match = re.match(r"h_(\d+)\[(\d+)\] = tanh\(a_\d+\[\d+\]\) =", formula)
    assert match, formula
    row = faded.locator("tr", has=visit.page.locator(f"th >> text=a_{match.group(1)}"))
    pre = float(row.locator("td").nth(1).inner_text())
    blank.locator("input").fill(f"{math.tanh(pre):.2f}")
    blank.locator("input").press("Enter")
    assert blank.locator(".feedback").inner_text().startswith("✓ Right")
    blank.locator("input").fill(f"{math.tanh(pre) + 0.1:.2f}")
    blank.locator(".check-blank").click()
    assert blank.locator(".feedback").inner_text().startswith("✗ Not quite")
    step = lesson.trace.steps[int(match.group(1)) - 1]
    assert f"{step.h[int(match.group(2))]:.4f}" in blank.locator(".feedback").inner_text()
    assert visit.errors() == []
    visit.close()


def _shown(visit: Visit, selector: str) -> list[float]:
    return [float(v) for v in visit.page.locator(f"{selector} .cell .val").all_inner_texts()]


def test_arrow_keys_step_through_the_traced_hidden_states(browser: Any, lesson: Run) -> None:
    p = lesson.trace.prediction
    assert p is not None
    visit = Visit(browser, lesson.path / REPORT)
    page = visit.page
    assert page.locator("#step-t").inner_text() == f"t = 1 of {p.length}"
    assert _shown(visit, "#step-hprev") == [0.0] * len(p.last_hidden)  # h_0
    assert _shown(visit, "#step-h") == pytest.approx(p.hidden_states[0], abs=5e-4)
    for t in range(2, p.length + 1):
        page.keyboard.press("ArrowRight")
        assert page.locator("#step-t").inner_text() == f"t = {t} of {p.length}"
        assert page.locator("#step-slider").input_value() == str(t)
        assert _shown(visit, "#step-h") == pytest.approx(p.hidden_states[t - 1], abs=5e-4)
        assert _shown(visit, "#step-hprev") == pytest.approx(p.hidden_states[t - 2], abs=5e-4)
        # the heatmap outlines this step's column and no other
        on = page.locator(".plot-heatmap .hm-col.on")
        assert on.count() == 1 and on.get_attribute("data-t") == str(t)
        # the equation with this step's numbers, from the trace's step record
        equation = page.locator("#step-eq pre").inner_text()
        assert equation == "\n".join(step_view(lesson.trace.steps[t - 1])["equation"])
        raw = page.locator("#step-x tbody tr").first.locator("td").first.inner_text()
        assert float(raw) == pytest.approx(p.inputs[t - 1][0], abs=5e-4)
    page.keyboard.press("ArrowRight")  # past the end stays at the end
    assert page.locator("#step-slider").input_value() == str(p.length)
    page.keyboard.press("ArrowLeft")
    assert _shown(visit, "#step-h") == pytest.approx(p.hidden_states[p.length - 2], abs=5e-4)
    assert visit.errors() == []
    visit.close()


def test_hostile_labels_render_as_text_and_run_nothing(browser: Any, tmp_path: Path) -> None:
    run = hostile_run(tmp_path / "hostile")
    visit = Visit(browser, run.path / REPORT)
    page = visit.page
    page.locator(".question .option").first.click()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img, iframe").count() == 0
    assert page.locator("script").count() == 2
    body = page.locator("body").inner_text()
    for label in HOSTILE_CLASSES + HOSTILE_FEATURES:
        assert label in body, label
    # the step-through builds its feature table from the data island, as text
    assert page.locator("#step-x tbody th").all_inner_texts() == HOSTILE_FEATURES
    assert visit.requests == [(run.path / REPORT).as_uri()]
    assert visit.errors() == []
    _shot(visit, tmp_path / "hostile.png", "report-hostile.png")
    visit.close()


def test_phone_width_has_no_horizontal_scroll(browser: Any, lesson: Run, tmp_path: Path) -> None:
    visit = Visit(browser, lesson.path / REPORT, width=390)
    widths = visit.page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == 390
    _shot(visit, tmp_path / "phone.png", "report-390.png")
    visit.close()


def test_a_bidirectional_layer_shows_each_directions_previous_state(
    browser: Any, tmp_path: Path
) -> None:
    from rnntrace.config.settings import ModelConfig, TrainConfig
    from rnntrace.data.synthetic import lesson
    from rnntrace.experiment.pipeline import run_experiment

    run = run_experiment(
        lesson(n_sequences=60, seed=2),
        ModelConfig(cell="gru", hidden_size=4, bidirectional=True),
        TrainConfig(epochs=1, seed=2),
        out=tmp_path / "bigru",
    )
    write_report(run.trace, run.path / REPORT)
    p = run.trace.prediction
    assert p is not None
    visit = Visit(browser, run.path / REPORT)
    names = visit.page.locator("#step-h .cell .unit").all_inner_texts()
    assert names == [f"fwd h{i}" for i in range(1, 5)] + [f"bwd h{i}" for i in range(1, 5)]
    visit.page.keyboard.press("ArrowRight")  # t = 2: forward reads h_1, backward reads h_3
    expected = p.hidden_states[0][:4] + p.hidden_states[2][4:]
    assert _shown(visit, "#step-hprev") == pytest.approx(expected, abs=5e-4)
    visit.page.keyboard.press("End")
    for _ in range(p.length):
        visit.page.keyboard.press("ArrowRight")
    # at the last step the backward direction starts from zeros
    assert _shown(visit, "#step-hprev")[4:] == [0.0] * 4
    assert visit.errors() == []
    visit.close()


def _terms_row(visit: Visit, gate: str) -> list[float]:
    cells = visit.page.locator(f'#unit-terms tr[data-gate="{gate}"] td').all_inner_texts()
    return [float(v) for v in cells]


def test_a_heatmap_cell_moves_the_step_through_and_shows_that_units_terms(
    browser: Any, lesson: Run
) -> None:
    explanation, trace = lesson.explanation, lesson.trace
    assert explanation is not None and trace.dynamics is not None
    visit = Visit(browser, lesson.path / REPORT)
    page = visit.page
    for unit, t in ((2, 7), (5, 1), (0, 10)):
        page.locator(f'#unit-grid td[data-unit="{unit}"][data-t="{t}"]').click()
        assert page.locator("#step-slider").input_value() == str(t)
        assert page.locator("#step-t").inner_text().startswith(f"t = {t} of")
        from_x, from_h, bias, pre, value = _terms_row(visit, "a")
        step = trace.steps[t - 1]
        assert step.step == t
        # the trace's own numbers: the pre-activation and h_t PyTorch computed
        assert pre == pytest.approx(step.pre_activation["a"][unit], abs=6e-5)
        assert value == pytest.approx(step.h_torch[unit], abs=6e-5)
        # the split into terms, from explain.json, adds up to it
        gate = explanation.terms[0].steps[t - 1].gates["a"]
        assert [from_x, from_h, bias] == pytest.approx(
            [gate.from_x[unit], gate.from_h[unit], gate.bias[unit]], abs=6e-5)
        assert from_x + from_h + bias == pytest.approx(pre, abs=2e-4)
        grad = page.locator("#unit-terms .unit-grad").inner_text()
        shown = float(grad.split("= ")[1].split(" ")[0])
        assert shown == pytest.approx(trace.dynamics.grad_norm[0][t - 1], rel=6e-3)
    # keyboard: a cell takes focus, Enter chooses it
    cell = page.locator('#unit-grid td[data-unit="1"][data-t="4"]')
    cell.focus()
    page.keyboard.press("Enter")
    assert page.locator("#step-slider").input_value() == "4"
    assert cell.get_attribute("aria-pressed") == "true"
    assert visit.errors() == []
    assert visit.requests == [(lesson.path / REPORT).as_uri()]
    visit.close()


def test_the_top_loss_list_opens_each_hard_case(browser: Any, lesson: Run, tmp_path: Path) -> None:
    explanation = lesson.explanation
    assert explanation is not None and explanation.hard_cases
    visit = Visit(browser, lesson.path / REPORT)
    page = visit.page
    for i, case in enumerate(explanation.hard_cases, start=1):
        button = page.locator(f'.explain-pick[data-case="{i}"]')
        assert case.prediction.sequence_id in button.inner_text()
        button.press("Enter")  # a button: reachable and activated from the keyboard
        assert button.get_attribute("aria-pressed") == "true"
        assert page.locator(f"#explain-case-{i}").is_visible()
        assert page.locator("#explain-case-0").is_hidden()
        assert case.prediction.sequence_id in page.locator(f"#explain-case-{i}").inner_text()
        grid = page.locator("#unit-grid tbody tr").first.locator("td").all_inner_texts()
        assert [float(v) for v in grid] == pytest.approx(
            [row[0] for row in case.prediction.hidden_states], abs=6e-3)
        page.locator('#unit-grid td[data-unit="0"][data-t="2"]').click()
        assert _terms_row(visit, "a")[3] == pytest.approx(
            case.terms[0].steps[1].gates["a"].pre[0], abs=6e-5)
    # a hard case is not the traced sequence: the step-through stays where it was
    assert page.locator("#step-slider").input_value() == "1"
    _shot(visit, tmp_path / "explain.png", "report-explain.png")
    assert visit.errors() == []
    assert visit.requests == [(lesson.path / REPORT).as_uri()]
    visit.close()
