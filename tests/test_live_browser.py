"""The live page in a real browser, from disk, while a real `rnntrace demo --live` trains."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rnntrace.experiment.live import LIVE_INDEX, LIVE_PAGE

CHROMIUM = "/usr/bin/chromium"
SRC = Path(__file__).parent.parent / "src"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def _index(run: Path) -> dict[str, Any] | None:
    try:
        text = (run / LIVE_INDEX).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return json.loads(text[len("rnntraceLive.index("):-len(");\n")])  # type: ignore[no-any-return]


def _wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = condition()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _train(run: Path, epochs: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p))
    return subprocess.Popen(
        [sys.executable, "-m", "rnntrace", "demo", "--live", "--epochs", str(epochs),
         "--threads", "1", "--out", str(run), "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


class Visit:
    """One page load with everything the page said and asked for recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1100, "height": 900})
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri(), wait_until="load")

    def epoch(self) -> int:
        return int(self.page.locator("#status").get_attribute("data-epoch") or 0)

    def heatmap(self) -> tuple[str | None, list[str]]:
        svg = self.page.locator("#heatmap")
        return svg.get_attribute("data-epoch"), svg.locator("rect").evaluate_all(
            "rs => rs.map(r => r.getAttribute('data-v'))")

    def errors(self) -> list[str]:
        return [c for c in self.console if c.startswith(("error", "pageerror"))]


def _within(requests: list[str], run: Path) -> list[str]:
    """Requests that leave the run directory (none should)."""
    base = run.as_uri() + "/"
    return [url for url in requests if not url.startswith(base)]


def test_the_page_follows_training_without_a_reload(browser: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = _train(run, epochs=3000)
    try:
        _wait(lambda: (_index(run) or {}).get("epochs"), 120, "the first epoch")
        visit = Visit(browser, run / LIVE_PAGE)
        visit.page.wait_for_function(
            "() => +document.querySelector('#status').dataset.epoch > 0", timeout=20_000)
        first_epoch = visit.epoch()
        visit.page.wait_for_function(
            "() => document.querySelector('#heatmap rect') !== null", timeout=20_000)
        first_map = visit.heatmap()
        # Epochs end while the page stays open: its count and heatmap move on by themselves.
        visit.page.wait_for_function(
            f"() => +document.querySelector('#status').dataset.epoch >= {first_epoch + 3}",
            timeout=60_000)
        visit.page.wait_for_function(
            f"() => +document.querySelector('#heatmap').dataset.epoch > {first_map[0]}",
            timeout=20_000)
        later_map = visit.heatmap()
        assert later_map[1] != first_map[1] and len(later_map[1]) == len(first_map[1]) == 80
        assert process.poll() is None  # still training: the page was live, not finished
        rows = visit.page.locator("#epochs-table tbody tr").count()
        assert rows >= first_epoch + 3
        assert visit.errors() == []
        assert _within(visit.requests, run) == []
        assert any("live.js?v=" in url for url in visit.requests)
    finally:
        process.kill()
        process.wait()


def test_killed_mid_epoch_the_page_shows_every_finished_epoch(
    browser: Any, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    process = _train(run, epochs=3000)
    try:
        _wait(lambda: len((_index(run) or {}).get("epochs", [])) >= 4, 120, "four epochs")
        # Just after an epoch's page is written the next epoch is training: kill it there.
        done = len((_index(run) or {})["epochs"])
        _wait(lambda: len((_index(run) or {})["epochs"]) > done, 30, "one more epoch")
        time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    index = _index(run)
    assert index is not None and index["status"] == "training"
    finished = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().split(
        "\n") if line]
    assert [r["epoch"] for r in index["epochs"]] == finished
    # Snapshots: the first two epochs' always, the others while watching stays within budget.
    assert index["snapshots"][:2] == [1, 2] and set(index["snapshots"]) <= set(finished)
    visit = Visit(browser, run / LIVE_PAGE)
    last = finished[-1]
    visit.page.wait_for_function(
        f"() => +document.querySelector('#status').dataset.epoch === {last}", timeout=20_000)
    shown = index["snapshots"][-1]
    visit.page.wait_for_function(
        f"() => document.querySelector('#heatmap').dataset.epoch === '{shown}'", timeout=20_000)
    assert visit.page.locator("#epochs-table tbody tr").count() == len(finished)
    # Back through the epochs with the slider: the first epoch's snapshot is there too.
    visit.page.locator("#epoch-slider").fill("0")
    visit.page.wait_for_function(
        "() => document.querySelector('#heatmap').dataset.epoch === '1'", timeout=20_000)
    assert visit.page.locator("#epoch-shown").inner_text() == "1"
    assert visit.errors() == []
    assert _within(visit.requests, run) == []
