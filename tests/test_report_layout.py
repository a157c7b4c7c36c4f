"""The lesson's page in a browser, laid out: short, a contents list in view, folded runs of
epochs and questions that open, figures whose axes start where the data does."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from rnntrace.render.html import render_report
from rnntrace.run.directory import Run
from rnntrace.run.files import REPORT
from test_condense import converging
from test_report_browser import CHROMIUM, Visit, browser, lesson  # noqa: F401 (fixtures)

assert CHROMIUM
# The demo's page was 11,962 px tall at 1280 px before this layout (3,917 after, measured
# with the same Chromium); a third of the old height, with room for small changes.
HEIGHT_LIMIT = 11_962 // 3 + 300


def _long_run(lesson: Run, tmp_path: Path) -> Path:  # noqa: F811
    trace = copy.deepcopy(lesson.trace)
    trace.training = converging(100)
    page = tmp_path / "long.html"
    page.write_text(render_report(trace, lesson.explanation), encoding="utf-8")
    return page


def test_the_lesson_fits_in_a_third_of_its_old_height(browser: Any, lesson: Run) -> None:  # noqa: F811
    visit = Visit(browser, lesson.path / REPORT, width=1280)
    height = visit.page.evaluate("document.documentElement.scrollHeight")
    # The whole page counts, the learner's worked and faded steps too (folded until opened).
    assert height < HEIGHT_LIMIT
    # Nothing is wider than the page, apart from what scrolls inside its own box.
    wide = visit.page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 1281 && !e.closest('.scroll'))
        .map(e => e.tagName)""")
    assert wide == []
    assert visit.errors() == []
    visit.close()


def test_the_contents_stay_in_view_and_follow_the_sections(browser: Any, lesson: Run) -> None:  # noqa: F811
    visit = Visit(browser, lesson.path / REPORT, width=1280)
    page = visit.page
    links = [h.removeprefix("#") for h in
             page.locator("nav.toc a").evaluate_all("as => as.map(a => a.getAttribute('href'))")]
    sections = page.locator("main > section").evaluate_all("ss => ss.map(s => s.id)")
    assert links == sections  # the same order, so the numbers agree
    # The headings carry no number of their own: the page numbers them in order.
    headings = page.locator("main > section > h2").all_inner_texts()
    assert not any(re.match(r"\d", h) for h in headings)
    page.locator("#insight").scroll_into_view_if_needed()
    box = page.locator("nav.toc").bounding_box()
    assert box is not None and 0 <= box["y"] < 50  # still at the top of the window
    page.locator('nav.toc a[href="#quiz"]').click()
    assert page.evaluate("window.scrollY") > 0
    visit.close()


def test_long_runs_of_epochs_fold_and_open(browser: Any, lesson: Run, tmp_path: Path) -> None:  # noqa: F811
    visit = Visit(browser, _long_run(lesson, tmp_path), width=1280)
    page = visit.page
    rows = page.locator("#training tbody tr:not(.fold-line)")
    assert rows.count() == 100  # every epoch is on the page
    hidden = page.locator("#training tr.folded:not([hidden])")
    assert hidden.count() == 0  # ... the folded ones closed
    toggle = page.locator("#training .fold-toggle").last
    fold = toggle.get_attribute("data-fold")
    inner = page.locator(f'#training tr.folded[data-fold="{fold}"]')
    assert inner.count() > 10 and inner.first.is_hidden()
    toggle.click()
    assert inner.first.is_visible() and inner.last.is_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.click()
    assert inner.first.is_hidden()
    # The epoch axis runs from the first epoch to the last, not −20 to 120.
    texts = page.locator("svg.plot-loss text").evaluate_all("ts => ts.map(t => t.textContent)")
    ticks = [int(t.replace("−", "-")) for t in texts if re.fullmatch(r"[−-]?\d+", t.strip())]
    assert ticks and min(ticks) >= 1 and max(ticks) <= 100
    visit.close()


def test_one_question_at_a_time_and_all_on_request(browser: Any, lesson: Run) -> None:  # noqa: F811
    visit = Visit(browser, lesson.path / REPORT, width=1280)
    page = visit.page
    questions = page.locator(".question")
    n = questions.count()
    assert n > 1 and questions.nth(0).is_visible() and questions.nth(1).is_hidden()
    page.locator("#quiz-next").click()
    assert questions.nth(1).is_visible() and questions.nth(0).is_hidden()
    assert page.locator("#quiz-at").inner_text() == f"Question 2 of {n}"
    page.locator("#quiz-all").click()
    assert all(questions.nth(i).is_visible() for i in range(n))
    visit.close()


def test_the_gradient_per_step_is_a_chart_with_its_numbers_folded(
    browser: Any, lesson: Run  # noqa: F811
) -> None:
    d = lesson.trace.dynamics
    assert d is not None
    visit = Visit(browser, lesson.path / REPORT, width=1280)
    page = visit.page
    assert page.locator("svg.plot-dynamics").is_visible()
    table = page.locator('#steps details.more table[aria-labelledby="dynamics-h"]')
    assert table.is_hidden()
    page.locator("#steps details.more > summary").last.click()
    cells = table.locator("tbody tr").first.locator("td").all_inner_texts()
    assert cells[1] == f"{d.grad_norm[0][0]:.2e}"
    visit.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_equations_wrap_instead_of_running_off(
    browser: Any, lesson: Run, width: int  # noqa: F811
) -> None:
    visit = Visit(browser, lesson.path / REPORT, width=width)
    over = visit.page.locator("pre.equation").evaluate_all(
        "ps => ps.filter(p => p.scrollWidth > p.clientWidth + 1).length")
    assert over == 0
    visit.close()


def test_the_logits_card_shows_every_column_without_scrolling(
    browser: Any, lesson: Run  # noqa: F811
) -> None:
    """The class, logit and probability of each class side by side in the prediction's card:
    a wide class column once pushed the numbers out of the card, behind a sideways scroll."""
    visit = Visit(browser, lesson.path / REPORT, width=1280)
    card = visit.page.locator("section#prediction .row3 .card").first
    assert card.evaluate("c => c.scrollWidth <= c.clientWidth + 1")
    headers = card.locator("thead th").all_text_contents()
    assert headers == ["Class", "Logit", "Probability"]
    right = card.evaluate("c => c.getBoundingClientRect().right")
    for cell in card.locator("tbody td").all():
        assert cell.evaluate("e => e.getBoundingClientRect().right") <= right
    visit.close()
