"""examples/own_model.ipynb runs in a real kernel, and its inline page works in a real browser."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "own_model.ipynb"
CHROMIUM = "/usr/bin/chromium"
# what applies to a user's model: no quiz (it is made for rnntrace's own configurations)
SECTIONS = ["config", "flow", "training", "prediction", "steps", "insight"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    src = str(Path(__file__).parent.parent / "src")
    env_path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this checkout's rnntrace
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}},
    )
    client.execute()
    return nb


def _html_outputs(nb: Any) -> list[str]:
    return [
        out["data"]["text/html"]
        for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "data" in out and "text/html" in out["data"]
    ]


def test_notebook_runs_and_holds_the_trace_page(executed: Any) -> None:
    errors = [out for cell in executed.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert errors == []
    html = _html_outputs(executed)
    pages = [h for h in html if 'class="rnntrace-report"' in h]
    assert len(pages) == 1
    page = pages[0]
    assert "srcdoc=" in page and "http://" not in page.replace("http://www.w3.org", "")
    # the module calls, the history and the recomputation render as HTML too
    assert any("Recurrent" in h or "recomputed by hand" in h for h in html)
    assert any("Training Trace" in h for h in html)


def test_inline_page_in_chromium(executed: Any, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    page_html = next(h for h in _html_outputs(executed) if 'class="rnntrace-report"' in h)
    # as a notebook shows an output: inside a page of its own, beside other content
    host = tmp_path / "notebook.html"
    host.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>notebook</title></head>"
        f"<body><div class='output'>{page_html}</div></body></html>",
        encoding="utf-8",
    )
    console: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(host.as_uri(), wait_until="load")
        frame = page.frame_locator("iframe.rnntrace-report")
        for section in SECTIONS:
            assert frame.locator(f"section#{section}").count() == 1, section
        # the step-through ran: its script filled the equation for step 1, then moves on
        equation = frame.locator("#step-eq")
        assert equation.inner_text().strip() != ""
        first = equation.inner_text()
        frame.locator("#step-next").click()
        assert frame.locator("#step-t").inner_text().startswith("t = 2")
        assert equation.inner_text() != first
        browser.close()
    assert [c for c in console if c.startswith(("error", "pageerror"))] == []
    assert requests == [host.as_uri()]  # the host page itself, and nothing else
