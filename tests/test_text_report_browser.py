"""A text run's report in Chromium: letters coloured, no console errors, hostile text inert."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.text import read_text
from rnntrace.experiment.pipeline import run_experiment
from rnntrace.run.files import REPORT
from rnntrace.run.report import write_report

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

SCRIPT_LABEL = "<script>alert('label')</script>"
IMG_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[str], list[str]]]:
    root = tmp_path_factory.mktemp("text-report")
    rows = ["name,country"]
    for i in range(40):
        rows += [f"Dubois{i % 7},FR", f"Kim{i % 5},\"{SCRIPT_LABEL}\""]
    rows += [f"\"{IMG_NAME}\",FR", "<b>Park</b>,\"" + SCRIPT_LABEL + "\""]
    (root / "names.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = read_text(root / "names.csv", text="name", label="country")
    model = ModelConfig(n_features=1, n_classes=2, hidden_size=8, cell="gru",
                        vocab_size=len(data.vocabulary), embedding_dim=4)
    # The hostile rows first in the held-out split: a validation set of the two of them
    # and a few others, so the token section shows them.
    val = data.data.subset([80, 81, 0, 1])
    run = run_experiment(data.data, model, TrainConfig(epochs=2, checkpoint=False), val=val,
                         out=root / "run", vocabulary=data.vocabulary)
    write_report(run.trace, run.path / REPORT)  # as the CLI does after training
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        tab = browser.new_page()
        console: list[str] = []
        dialogs: list[str] = []
        tab.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        tab.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        tab.goto((run.path / REPORT).as_uri(), wait_until="load")
        yield tab, console, dialogs
        browser.close()


def test_letters_are_coloured(page: tuple[Any, list[str], list[str]]) -> None:
    tab, console, _ = page
    letters = tab.locator("#tokens span.tok")
    assert letters.count() > 10
    colours = {letters.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
               for i in range(min(letters.count(), 40))}
    assert len(colours) > 3  # shades that vary with the activation
    assert all(c.startswith("rgba(") for c in colours)
    # Each text's letters appear twice: by the unit's activation, then by attribution.
    first = tab.locator("#tokens tbody tr").first
    assert "attribution:" in first.inner_text()
    assert not [c for c in console if c.startswith(("error", "pageerror"))]


def test_hostile_text_is_shown_as_text(page: tuple[Any, list[str], list[str]]) -> None:
    tab, _, dialogs = page
    assert dialogs == []
    section = tab.locator("#tokens")
    assert section.locator("img, b, script").count() == 0
    shown = section.inner_text()
    assert SCRIPT_LABEL in shown
    # The hostile name arrives letter by letter; joined back it reads as typed.
    first_row = section.locator("tbody tr").first.locator("td.letters span.tok")
    assert "".join(first_row.all_inner_texts()).replace("<unk>", "?").startswith("<")
    assert tab.locator("body img").count() == 0


def test_step_through_names_the_token(page: tuple[Any, list[str], list[str]]) -> None:
    tab, console, _ = page
    island = tab.evaluate("JSON.parse(document.getElementById('trace-data').textContent)")
    tokens, ids = island["tokens"], [int(x[0]) for x in island["inputs"]]
    assert len(tokens) == len(ids) > 2
    tab.click("#step-next")
    assert tab.inner_text("#step-t").endswith(f"reading “{tokens[1]}”")
    assert tab.inner_text("#step-x") == f"token read at step 2\t{tokens[1]}\tid {ids[1]}"
    assert not [c for c in console if c.startswith(("error", "pageerror"))]
