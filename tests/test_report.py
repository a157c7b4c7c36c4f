"""The HTML report without a browser: content, escaping, the data island, CLI, round trip."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

from _report_data import HOSTILE_CLASSES, HOSTILE_FEATURES, hostile_run, lesson_run
from rnntrace import records
from rnntrace.cli.main import main
from rnntrace.records import ClassScore, Trace
from rnntrace.render.formatting import short
from rnntrace.render.html import json_island, render_report
from rnntrace.run.directory import Run
from rnntrace.run.files import REPORT, read_trace
from rnntrace.run.report import write_report
from rnntrace.tracing.steps import explain_steps

SECTIONS = ["config", "flow", "training", "prediction", "steps", "quiz", "insight"]


class Page(HTMLParser):
    """Every tag with its attributes, each <script>'s text and all visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in_script: dict[str, str | None] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)

    def ids(self) -> set[str]:
        return {a["id"] or "" for _, a in self.tags if "id" in a}


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return lesson_run(tmp_path_factory.mktemp("report") / "lesson")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return hostile_run(tmp_path_factory.mktemp("report") / "hostile")


def test_the_steps_used_by_the_tests_match_pytorch(lesson: Run) -> None:
    p = lesson.trace.prediction
    assert p is not None
    for step, h in zip(lesson.trace.steps, p.hidden_states, strict=True):
        assert step.h == pytest.approx(h, abs=1e-5)


def test_the_recomputation_check_and_dynamics_are_shown(lesson: Run) -> None:
    page = Page((lesson.path / REPORT).read_text(encoding="utf-8"))
    text = " ".join(page.text)
    r, d = lesson.trace.recomputation, lesson.trace.dynamics
    assert r is not None and d is not None
    largest = max([r.max_abs_diff, *(s.max_abs_diff for s in lesson.trace.steps)])
    html = (lesson.path / REPORT).read_text(encoding="utf-8")
    assert f"returned: <strong>{largest:.1e}</strong>" in html and "✓ equal" in text
    assert "recomputed" in page.ids()
    for t in range(d.steps):  # every step's gradient norm is printed as computed
        assert f"{d.grad_norm[0][t]:.2e}" in text


def test_the_demo_writes_a_report_with_every_section(lesson: Run) -> None:
    html = (lesson.path / REPORT).read_text(encoding="utf-8")
    page = Page(html)
    assert set(SECTIONS) <= page.ids()
    assert len(html.encode()) < 5_000_000
    text = " ".join(page.text)
    for stage in lesson.trace.stages:
        assert stage.name in text
    assert lesson.trace.training[-1].observation in text
    assert lesson.trace.quiz[0].prompt in text
    # three inline figures for the prediction, two for training, one for the dynamics, one
    # attribution figure for the traced sequence and each hard case; each labelled for a reader
    assert lesson.explanation is not None
    explained = 1 + len(lesson.explanation.hard_cases)
    svgs = [a for tag, a in page.tags if tag == "svg"]
    assert len(svgs) == 6 + explained
    assert all(a.get("role") == "img" and a.get("aria-label") for a in svgs)


def test_nothing_is_loaded_from_anywhere(lesson: Run) -> None:
    page = Page(render_report(lesson.trace))
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        href = attrs.get("href") or attrs.get("xlink:href") or "#"
        # in-page links, and the colour bar's pixels inlined as data
        assert href.startswith(("#", "data:image/png;base64,")), (tag, href)
    assert [t for t, _ in page.tags if t in ("link", "iframe", "object", "embed", "img")] == []


def test_only_the_pages_own_script_may_run(lesson: Run) -> None:
    html = render_report(lesson.trace)
    page = Page(html)
    (island_attrs, _), (code_attrs, code) = page.scripts
    assert island_attrs == {"type": "application/json", "id": "trace-data"}
    assert code_attrs == {}
    policy = next(
        a["content"] for _, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert policy is not None and f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy


def test_the_data_island_carries_the_traced_numbers(lesson: Run) -> None:
    page = Page(render_report(lesson.trace))
    data = json.loads(page.scripts[0][1])
    p = lesson.trace.prediction
    assert p is not None
    assert data["hidden"] == p.hidden_states
    assert data["inputs"] == p.inputs
    assert [s["h"] for s in data["steps"]] == [s.h for s in lesson.trace.steps]


def test_json_island_cannot_close_its_script() -> None:
    payload = {"a": "</script><script>alert(1)</script>", "b": "<!--", "c": "&amp;", "n": math.nan}
    text = json_island(payload)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == payload | {"n": None}


def test_hostile_labels_are_text_never_markup(hostile: Run) -> None:
    html = (hostile.path / REPORT).read_text(encoding="utf-8")
    page = Page(html)
    assert len(page.scripts) == 2
    tags = [t for t, _ in page.tags]
    for bad in ("img", "iframe", "b", "u", "i"):
        assert bad not in tags, bad
    assert not [(t, k) for t, a in page.tags for k in a if k.startswith("on")]
    text = "".join(page.text)
    for label in HOSTILE_CLASSES + HOSTILE_FEATURES:
        assert label in text, label
    # the island decodes back to the labels exactly
    data = json.loads(page.scripts[0][1])
    assert data["feature_names"] == HOSTILE_FEATURES


def test_hostile_labels_keep_the_figures_well_formed(hostile: Run) -> None:
    import xml.etree.ElementTree as ET

    html = render_report(hostile.trace)
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 6  # loss, accuracy, inputs, heatmap, softmax, dynamics
    texts = []
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed: no label broke out of its <text>
        texts += ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert not [el for el in root.iter() if el.tag.endswith("script")]
    # mathtext is off: the label with $…$ is drawn as typed (cut to fit, in full in the tables)
    assert any(t.startswith(short(HOSTILE_CLASSES[2])) for t in texts)
    assert any(t == short(HOSTILE_FEATURES[0]) for t in texts)


def _with_test_block(trace: Trace) -> Trace:
    trace = copy.deepcopy(trace)
    trace.test = records.TestReport(
        accuracy=0.75,
        per_class=[
            ClassScore("rising", 1.0, 0.5, 2 / 3, 4),
            ClassScore("falling", 0.6, 0.75, 2 / 3, 4),
            ClassScore("peak", 0.8, 1.0, 8 / 9, 4),
        ],
        confusion_matrix=[[2, 2, 0], [0, 3, 1], [0, 0, 4]],
        labels=["rising", "falling", "peak"],
    )
    return trace


def test_the_test_set_is_shown_when_scored(lesson: Run) -> None:
    assert 'id="test"' not in render_report(lesson.trace)
    html = render_report(_with_test_block(lesson.trace))
    start = html.index('<section id="test"')
    section = html[start : html.index("</section>", start)]
    rows = re.findall(r"<tr><th scope=\"row\">(\w+)</th>(.*?)</tr>", section, flags=re.S)
    counts = [[int(n) for n in re.findall(r">(\d+)<", cells)] for _, cells in rows]
    assert [name for name, _ in rows] == ["rising", "falling", "peak"]
    assert counts == [[2, 2, 0], [0, 3, 1], [0, 0, 4]]
    assert "0.750" in section and "0.889" in section


def test_the_trace_round_trips_through_json_with_the_report_blocks(lesson: Run) -> None:
    trace = _with_test_block(lesson.trace)
    back = Trace.from_json(trace.to_json())
    assert back == trace
    assert isinstance(back.quiz[0], records.Question)
    assert isinstance(back.test, records.TestReport)
    assert isinstance(back.test.per_class[0], ClassScore)
    assert isinstance(back.steps[0], records.StepRecord) and len(back.steps) == 10


@torch.no_grad()
def test_lstm_gates_and_cell_state_are_listed(lesson: Run) -> None:
    lstm = torch.nn.LSTM(2, 3)
    x, h0, c0 = torch.randn(2), torch.zeros(3), torch.zeros(3)
    pre = lstm.weight_ih_l0 @ x + lstm.bias_ih_l0 + lstm.weight_hh_l0 @ h0 + lstm.bias_hh_l0
    i, f, g, o = pre.chunk(4)  # PyTorch's gate order
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c0 + i * g
    h = o * c.tanh()
    _, (h_torch, c_torch) = lstm(x.view(1, 1, 2))
    assert h.tolist() == pytest.approx(h_torch.view(3).tolist(), abs=1e-6)
    assert c.tolist() == pytest.approx(c_torch.view(3).tolist(), abs=1e-6)
    trace = copy.deepcopy(lesson.trace)
    trace.config.model.cell = "lstm"
    trace.steps = explain_steps(lstm, x.view(1, 2))
    data = json.loads(Page(render_report(trace)).scripts[0][1])
    assert list(data["steps"][0]["gates"]) == ["i", "f", "g", "o"]
    assert data["steps"][0]["gates"]["f"] == pytest.approx(f.tolist(), abs=1e-6)
    assert data["steps"][0]["c"] == pytest.approx(c.tolist(), abs=1e-6)
    assert "c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t" in render_report(trace)


def test_a_diverged_run_still_renders(lesson: Run) -> None:
    trace = copy.deepcopy(lesson.trace)
    trace.training[-1].loss = math.nan
    trace.training[-1].val_loss = math.inf
    page = Page(render_report(trace))
    assert "nan" in " ".join(page.text)
    json.loads(page.scripts[0][1])  # still valid JSON


def test_the_same_trace_gives_the_same_page(lesson: Run) -> None:
    assert render_report(lesson.trace) == render_report(copy.deepcopy(lesson.trace))


def test_a_classifiers_report_never_imports_matplotlib(lesson: Run) -> None:
    # Its figures are SVG written as text; matplotlib (0.5 s to import) is for the heads' plots.
    code = ("import sys; from pathlib import Path; from rnntrace.run.files import read_trace; "
            "from rnntrace.render.html import render_report; import rnntrace.render.head_html; "
            f"page = render_report(read_trace(Path({str(lesson.path)!r}))); "
            "assert page.count('class=\"plot plot-') == 6, page.count('class=\"plot plot-'); "
            "print(sorted(m for m in sys.modules if m.startswith('matplotlib')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_report_command_writes_the_page(lesson: Run, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    assert main(["report", str(lesson.path), "--out", str(out)]) == 0
    assert Page(out.read_text(encoding="utf-8")).ids() >= set(SECTIONS)
    from_json = tmp_path / "from_json.html"
    assert main(["report", str(lesson.path / "trace.json"), "--out", str(from_json)]) == 0
    assert from_json.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_report_open_hands_the_page_to_the_browser(lesson: Run, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"  # a browser command that notes what it was asked to open
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(0o755)
    out = tmp_path / "page.html"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {"BROWSER": f"{browser} %s"}
    done = subprocess.run([sys.executable, "-m", "rnntrace", "report", str(lesson.path), "--out",
                           str(out), "--open"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert opened.read_text() == out.resolve().as_uri()

    env["BROWSER"] = str(tmp_path / "no-such-browser")
    done = subprocess.run([sys.executable, "-m", "rnntrace", "report", str(lesson.path), "--out",
                           str(out), "--open"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and out.resolve().as_uri() in done.stdout, done.stderr


@pytest.mark.parametrize("content", [None, "{not json", '{"config": 1}', "[1, 2]"])
def test_report_command_refuses_what_is_not_a_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    path = tmp_path / "trace.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnntrace: error:") and "\n" not in err
    assert not (tmp_path / "r.html").exists()


def test_read_trace_and_write_report_are_the_library_path(lesson: Run, tmp_path: Path) -> None:
    trace = read_trace(lesson.path)
    assert trace == Trace.from_json((lesson.path / "trace.json").read_text())
    out = write_report(trace, tmp_path / "sub" / "r.html")
    assert out.read_text(encoding="utf-8") == render_report(trace)


def test_a_long_wide_sequence_keeps_the_page_small(tmp_path: Path) -> None:
    import warnings

    from rnntrace.config.settings import ModelConfig, TrainConfig
    from rnntrace.data.synthetic import lesson
    from rnntrace.experiment.pipeline import run_experiment

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning while drawing the long figures fails here
        run = run_experiment(
            lesson(n_sequences=30, steps=300, n_features=20, seed=3),
            ModelConfig(n_features=20, hidden_size=32),
            TrainConfig(epochs=1, seed=3),
            out=tmp_path / "long",
        )
        write_report(run.trace, run.path / REPORT)
    html = (run.path / REPORT).read_text(encoding="utf-8")
    assert len(html.encode()) < 5_000_000
    data = json.loads(Page(html).scripts[0][1])
    assert len(data["hidden"]) == 300 and len(data["hidden"][0]) == 32
    # 300 × 32 cells: drawn as pixels with a colour scale instead of 9,600 printed values
    assert "data:image/png;base64," in html and html.count('class="hm-col"') == 300


def test_the_quiz_opens_with_a_worked_step_then_a_faded_one(lesson: Run) -> None:
    import dataclasses

    page = render_report(lesson.trace)
    quiz = page[page.index('id="quiz"'):]
    assert quiz.index('id="worked"') < quiz.index('id="faded"') < quiz.index('id="q1"')
    # The faded blank's key is the step record's own h_t (itself checked against PyTorch).
    value, unit_step = re.search(r'class="blank" data-value="([^"]+)"', quiz), re.search(
        r"<code>h_(\d+)\[(\d+)\] = tanh\(a_\d+\[\d+\]\) =</code>", quiz)
    assert value and unit_step
    step = lesson.trace.steps[int(unit_step.group(1)) - 1]
    assert float(value.group(1)) == step.h[int(unit_step.group(2))]
    assert step.max_abs_diff < 1e-5
    # The faded step's own result is not given away in its table.
    faded = quiz[quiz.index('id="faded"'):quiz.index('id="q1"')]
    assert f">h_{step.step}</code>" not in faded
    no_steps = dataclasses.replace(lesson.trace, steps=[])
    assert 'id="worked"' not in render_report(no_steps)
