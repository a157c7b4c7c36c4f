"""rt.compare / `rnntrace compare`: three runs of the long lesson (RNN, GRU, LSTM), every view
checked against a direct computation from the saved models; CKA against a hand computation."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from rnntrace.cli.main import main
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import stratified_split
from rnntrace.data.synthetic import lesson, long_lesson
from rnntrace.experiment.comparison import compare, write_compare_page
from rnntrace.experiment.pipeline import run_experiment
from rnntrace.records.comparison import Comparison
from rnntrace.run.directory import load_run
from rnntrace.tracing.cka import cka_matrix, linear_cka

CELLS = ("rnn", "gru", "lstm")
N_SEQUENCES = 300


def test_linear_cka_by_hand_and_its_invariances() -> None:
    # centred x = (-1, 0, 1), y = (0, -1, 1): ‖yᵀx‖² = 1, ‖xᵀx‖ = ‖yᵀy‖ = 2, so 1 / (2 · 2).
    assert linear_cka([[1.0], [2.0], [3.0]], [[1.0], [0.0], [2.0]]) == pytest.approx(0.25)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6))
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert linear_cka(x, 3.0 * x @ rotation + 5.0) == pytest.approx(1.0)
    y = rng.normal(size=(50, 4))
    # The HSIC form with kernels K = XXᵀ, L = YYᵀ and the centring matrix H: another route.
    h = np.eye(50) - 1 / 50

    def hsic(k: np.ndarray, m: np.ndarray) -> float:
        return float(np.trace(k @ h @ m @ h))

    k, m = x @ x.T, y @ y.T
    assert linear_cka(x, y) == pytest.approx(hsic(k, m) / np.sqrt(hsic(k, k) * hsic(m, m)))
    matrix = cka_matrix([x, y, x])
    assert matrix[0][2] == pytest.approx(1.0) and matrix[0][1] == matrix[1][0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("compare")
    data = long_lesson(n_sequences=N_SEQUENCES, seed=0)
    return [run_experiment(data, ModelConfig(cell=cell), TrainConfig(epochs=2, seed=0),
                           out=root / cell, command="demo").path for cell in CELLS]


@pytest.fixture(scope="module")
def comparison(runs: list[Path]) -> Comparison:
    return compare(runs)


def _held_out() -> tuple[torch.Tensor, torch.Tensor]:
    """The long lesson's held-out part, split here as fit splits it (seeded, stratified)."""
    data = long_lesson(n_sequences=N_SEQUENCES, seed=0)
    _, held = stratified_split(data.labels, 0.2, 0)
    return torch.tensor(data.values[held]), torch.tensor(data.labels[held]).long()


def _cell_states(model: Any, x: torch.Tensor) -> list[torch.Tensor]:
    """h_t at every step from PyTorch's own one-step cell carrying the layer's weights."""
    rnn = model.rnn
    kind = {"RNN": nn.RNNCell, "GRU": nn.GRUCell, "LSTM": nn.LSTMCell}[type(rnn).__name__]
    cell = kind(rnn.input_size, rnn.hidden_size)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(rnn, f"{name}_l0"))
    z = model.standardize(x)
    h = torch.zeros(len(x), rnn.hidden_size)
    c = torch.zeros_like(h)
    states = []
    for t in range(x.shape[1]):
        if type(rnn).__name__ == "LSTM":
            h, c = cell(z[:, t], (h, c))
        else:
            h = cell(z[:, t], h)
        states.append(h)
    return states


def test_every_number_equals_a_direct_computation(
    runs: list[Path], comparison: Comparison
) -> None:
    x, y = _held_out()
    assert comparison.sequences == len(y) and comparison.steps == list(range(1, 31))
    summaries = []
    for path, result in zip(runs, comparison.models, strict=True):
        model = load_run(path).model
        states = _cell_states(model, x)  # T × (N, H)
        with torch.no_grad():
            logits = model.head(states[-1])
            assert result.accuracy == pytest.approx(float((logits.argmax(1) == y).float().mean()))
            assert result.loss == pytest.approx(float(nn.functional.cross_entropy(logits, y)),
                                                abs=1e-5)
            # The prediction had the sequence ended after step t: the model run on the prefix.
            for t in (1, 10, 30):
                prefix = torch.softmax(model(x[:, :t]), dim=-1)[torch.arange(len(y)), y]
                assert result.true_class_probability[t - 1] == pytest.approx(
                    float(prefix.mean()), abs=1e-5)
            summaries.append(states[-1].numpy())
        # ∂loss/∂h_t through PyTorch's own cells: the memory view.
        loss = nn.functional.cross_entropy(model.head(states[-1]), y)
        grads = torch.autograd.grad(loss, states)
        assert np.allclose(result.gradient, [float(g.norm()) for g in grads], rtol=1e-3,
                           atol=1e-8)
        # Attribution: each sequence's shares sum to 1, so their means do too.
        assert sum(result.attribution) == pytest.approx(1.0, abs=1e-4)
        assert result.attribution_error < 0.05
        assert result.parameters == sum(p.numel() for p in model.parameters())
        assert result.epochs == 2 and result.best_epoch in (1, 2)
    h = np.eye(len(y)) - 1 / len(y)
    for i in range(3):
        for j in range(3):
            k, m = summaries[i] @ summaries[i].T, summaries[j] @ summaries[j].T
            expected = np.trace(k @ h @ m @ h) / np.sqrt(
                np.trace(k @ h @ k @ h) * np.trace(m @ h @ m @ h))
            assert comparison.similarity_summary[i][j] == pytest.approx(expected, abs=1e-5)
    predictions = np.array([r.predictions for r in comparison.models])
    assert comparison.disagreeing == int((predictions != predictions[0]).any(axis=0).sum()) > 0
    first = comparison.disagreements[0]
    assert len({view.predicted for view in first.models}) > 1
    assert [len(view.hidden) for view in first.models] == [first.length] * 3


def test_the_page_holds_every_view_and_its_numbers(
    comparison: Comparison, tmp_path: Path
) -> None:
    page = write_compare_page(comparison, tmp_path / "compare.html").read_text(encoding="utf-8")
    for section in ("scores", "decide", "attribution", "memory", "similarity", "disagreements"):
        assert f'id="{section}"' in page
    island = page.split('id="comparison-data">')[1].split("</script>")[0]
    assert json.loads(island) == json.loads(comparison.to_json())
    for m in comparison.models:
        assert f"{m.accuracy:.3f}" in page and m.description in page
    assert page.count('class="step-through"') == 3 * len(comparison.disagreements)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_the_disagreements_open_the_step_throughs_in_a_browser(
    comparison: Comparison, tmp_path: Path
) -> None:
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{chromium} is missing: CI must install Debian's chromium")
        pytest.skip(f"{chromium} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    path = write_compare_page(comparison, tmp_path / "compare.html")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        console: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri(), wait_until="load")
        first = page.locator("details.disagreement").first
        views = first.locator(".step-through")
        assert not views.first.is_visible()
        first.locator("summary").click()
        assert views.count() == 3 and all(views.nth(i).is_visible() for i in range(3))
        names = [views.nth(i).get_attribute("data-model") for i in range(3)]
        assert names == [m.name for m in comparison.models]
        # side by side: one row, left to right
        boxes = [views.nth(i).bounding_box() for i in range(3)]
        assert boxes[0] is not None and boxes[1] is not None and boxes[2] is not None
        assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
        assert abs(boxes[0]["y"] - boxes[2]["y"]) < 2
        assert views.first.locator("svg.heatmap rect").count() == comparison.disagreements[
            0].length * 8
        assert [c for c in console if c.startswith("error")] == []
        assert requests == [path.as_uri()]
        browser.close()


def test_runs_on_other_data_or_classes_are_refused(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = run_experiment(lesson(n_sequences=60, seed=0), ModelConfig(),
                           TrainConfig(epochs=1, seed=0), out=tmp_path / "lesson").path
    assert main(["compare", str(runs[0]), str(other), "--out", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnntrace: error: cannot compare:") and "different data" in err
    assert "\n" not in err and not (tmp_path / "c.html").exists()
    from rnntrace.attribution.planted import planted_signal

    planted = planted_signal(n_sequences=40, steps=30, n_features=5)  # low, mid, high
    two = run_experiment(planted, ModelConfig(n_classes=planted.n_classes),
                         TrainConfig(epochs=1, seed=0), out=tmp_path / "planted").path
    assert main(["compare", str(runs[0]), str(two)]) == 2
    assert "has classes" in capsys.readouterr().err
    assert main(["compare", str(runs[0]), str(tmp_path / "missing")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_runs_that_differ_only_by_seed_give_mean_and_spread(tmp_path: Path) -> None:
    data = lesson(n_sequences=120, seed=0)
    paths = [run_experiment(data, ModelConfig(), TrainConfig(epochs=1, seed=seed),
                            out=tmp_path / f"seed{seed}").path for seed in (0, 1, 2)]
    result = compare(paths, data=data.subset(list(range(40))))
    (group,) = result.groups
    accuracies = [m.accuracy for m in result.models]
    assert group.runs == ["seed0", "seed1", "seed2"]
    assert group.accuracy_mean == pytest.approx(np.mean(accuracies))
    assert group.accuracy_std == pytest.approx(np.std(accuracies, ddof=1))
    assert "seeds 0, 1, 2" in group.name


def test_demo_compare_trains_both_lessons_and_writes_their_pages(tmp_path: Path) -> None:
    from rnntrace.experiment.compare_lessons import compare_lessons

    names: list[str] = []
    results = compare_lessons(tmp_path / "demo", epochs=1, long_epochs=1, on_run=names.append)
    assert names == [f"{lesson}-{cell}" for lesson in ("lesson", "long") for cell in CELLS]
    assert [r.name for r in results] == ["lesson", "long"]
    for result in results:
        assert result.page.is_file() and result.page.parent == tmp_path / "demo"
        assert [m.cell for m in result.comparison.models] == ["RNN", "GRU", "LSTM"]
    assert results[0].comparison.steps[-1] == 10 and results[1].comparison.steps[-1] == 30


def test_the_terminal_view_says_what_the_numbers_say(comparison: Comparison) -> None:
    from rnntrace.render.compare_text import settled

    assert settled([0.2, 0.95, 0.5, 0.91, 0.93, 1.0], [1, 2, 3, 4, 5, 6]) == 4
    assert settled([0.2, 0.95, 0.5, 0.1, 0.3, 1.0], [1, 2, 3, 4, 5, 6]) is None
    text = str(comparison)  # the record shows itself through its view
    assert f"disagree on {comparison.disagreeing} of {comparison.sequences}" in text
    for m in comparison.models:
        assert m.name in text and f"{m.accuracy:.3f}" in text
