"""The live page's data: each epoch's snapshot against PyTorch's own cells, and the files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.assemble import model_inputs
from rnntrace.experiment.live import LIVE_INDEX, LIVE_PAGE, epoch_file, link_report
from rnntrace.experiment.pipeline import run_lesson
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.tracing.prediction import trace_prediction
from rnntrace.tracing.snapshot import GATE_PINNED, _thin, epoch_snapshot, snapshot_batch
from rnntrace.train.fit import fit
from rnntrace.train.split import split


def _read_script(path: Path, call: str) -> dict:
    text = path.read_text(encoding="utf-8")
    prefix, suffix = f"rnntraceLive.{call}(", ");\n"
    assert text.startswith(prefix) and text.endswith(suffix)
    return json.loads(text[len(prefix):-len(suffix)])


def _trained(cell: str, epochs: int = 2) -> tuple[SequenceClassifier, SequenceSet]:
    data = lesson(n_sequences=200, seed=1)
    config = TrainConfig(epochs=epochs, seed=0)
    parts = split(data, None, config)
    torch.manual_seed(0)
    model = SequenceClassifier.from_config(ModelConfig(cell=cell))
    fit(model, parts, config=config)
    assert isinstance(parts.held_out, SequenceSet)
    return model, parts.held_out


def _torch_cell(model: SequenceClassifier) -> nn.Module:
    """PyTorch's own one-step cell carrying the layer's weights: the independent truth."""
    rnn = model.rnn
    kind = {"RNN": nn.RNNCell, "GRU": nn.GRUCell, "LSTM": nn.LSTMCell}[type(rnn).__name__]
    cell = kind(rnn.input_size, rnn.hidden_size)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(rnn, f"{name}_l0"))
    return cell


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_snapshot_matches_pytorch_states_and_gradients(cell: str) -> None:
    model, held_out = _trained(cell)
    batch = snapshot_batch(held_out, 16)
    snap = epoch_snapshot(model, batch, 2, model_inputs(model, batch))
    # The heatmap is the traced sequence's h_t as PyTorch's own layer gives them.
    traced = trace_prediction(model, batch, 0)
    assert np.allclose(snap.hidden, traced.hidden_states, atol=1e-4)
    assert np.allclose(snap.probabilities, traced.probabilities, atol=1e-4)
    # ∂loss/∂h_t by stepping PyTorch's cell by hand and asking autograd for each state.
    torch_cell = _torch_cell(model)
    model.eval()
    x = model.standardize(torch.tensor(batch.values))  # (B, T, F): the lesson's equal lengths
    y = torch.from_numpy(batch.labels).long()
    h = torch.zeros(len(batch), model.rnn.hidden_size)
    c = torch.zeros_like(h)
    states = []
    for t in range(x.shape[1]):
        if cell == "lstm":
            h, c = torch_cell(x[:, t], (h, c))
        else:
            h = torch_cell(x[:, t], h)
        states.append(h)
    loss = nn.functional.cross_entropy(model.head(h), y)
    grads = torch.autograd.grad(loss, states)
    expected = [float(g.norm()) for g in grads]
    assert np.allclose(snap.grad_norm[0], expected, rtol=1e-3, atol=1e-7)
    assert snap.loss == pytest.approx(float(loss.detach()), abs=1e-5)
    # Saturation per step counted from the same states.
    stacked = torch.stack(states).detach()  # (T, B, H)
    assert np.allclose(snap.saturated, (stacked.abs() > 0.95).float().mean(dim=(1, 2)), atol=1e-4)
    if cell == "gru":  # the update gate z, by hand from the weights, pinned share per step
        w_iz, w_hz = (w.detach()[8:16] for w in (torch_cell.weight_ih, torch_cell.weight_hh))
        b_z = (torch_cell.bias_ih + torch_cell.bias_hh).detach()[8:16]
        prev = torch.cat([torch.zeros(1, len(batch), 8), stacked[:-1]])
        z = torch.sigmoid(x.transpose(0, 1) @ w_iz.T + prev @ w_hz.T + b_z)  # (T, B, H)
        pinned = ((z < GATE_PINNED) | (z > 1 - GATE_PINNED)).float().mean(dim=(1, 2))
        assert np.allclose(snap.gates["z"], pinned, atol=1e-4)
        assert set(snap.gates) == {"r", "z", "n"}
    if cell == "rnn":
        assert snap.gates == {}


def test_long_sequences_and_wide_layers_are_thinned() -> None:
    assert _thin(10, 400) == list(range(10))
    kept = _thin(1000, 400)
    assert len(kept) <= 400 and kept[0] == 0 and kept[-1] == 999
    rng = np.random.default_rng(0)
    data = SequenceSet(values=rng.normal(size=(6, 900, 2)).astype(np.float32),
                       lengths=np.full(6, 900), labels=np.array([0, 1] * 3),
                       class_names=["a", "b"])
    torch.manual_seed(0)
    model = SequenceClassifier.from_config(
        ModelConfig(n_features=2, n_classes=2, hidden_size=80, cell="gru"))
    snap = epoch_snapshot(model, data, 1, model_inputs(model, data))
    assert len(snap.steps) <= 400 and snap.steps[-1] == 900
    assert len(snap.units) == 64 and len(snap.hidden[0]) == 64
    assert len(snap.series_steps) == len(snap.saturated) == len(snap.gates["z"]) <= 400


def test_a_live_run_writes_every_epoch_and_ends_finished(tmp_path: Path) -> None:
    seen: list[int] = []

    def check(end: object) -> None:
        # When the caller hears of an epoch, the page already shows it.
        index = _read_script(tmp_path / "run" / LIVE_INDEX, "index")
        seen.append(len(index["epochs"]))

    run = run_lesson(epochs=3, seed=0, out=tmp_path / "run", live=True, on_epoch_end=check)
    assert all(r.exists() for r in map(run.path.joinpath, map(epoch_file, [1, 3])))
    assert seen == [1, 2, 3]
    page = (run.path / LIVE_PAGE).read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    index = _read_script(run.path / LIVE_INDEX, "index")
    assert index["status"] == "finished" and index["report"] is None
    assert [r["epoch"] for r in index["epochs"]] == [1, 2, 3]
    assert index["snapshots"][0] == 1 and index["snapshots"][-1] == 3  # the last planned
    assert [r["loss"] for r in index["epochs"]] == [r.loss for r in run.history.records]
    last = _read_script(run.path / epoch_file(3), "epoch")
    # The last epoch's heatmap is the trace's (the same weights: no averaging in the lesson).
    assert np.allclose(last["hidden"], run.trace.prediction.hidden_states, atol=1e-4)
    assert not list(run.path.rglob("*.tmp"))  # every write renamed into place
    assert link_report(run.path)
    assert _read_script(run.path / LIVE_INDEX, "index")["report"] == "report.html"
    assert not link_report(tmp_path)  # no live page there


def test_hostile_names_cannot_close_the_data_script(tmp_path: Path) -> None:
    from rnntrace.experiment.live import _script

    text = _script("index", {"class_names": ["</script><img src=x onerror=alert(1)>", "a&b"]})
    assert "<" not in text and ">" not in text.replace(");\n", "") and "&" not in text
    assert json.loads(text[len("rnntraceLive.index("):-3])["class_names"][1] == "a&b"


@pytest.mark.parametrize(("budget", "expected"), [(None, [1, 2, 3, 4]), (0.0, [1, 2, 4])])
def test_snapshots_stay_within_the_budget(
    tmp_path: Path, budget: float | None, expected: list[int]
) -> None:
    from rnntrace.config.settings import RunConfig
    from rnntrace.experiment.live import LivePage
    from rnntrace.records import EpochEnd, EpochRecord

    model, held_out = _trained("gru", epochs=1)
    page = LivePage(tmp_path, model, held_out, RunConfig(model.config, TrainConfig(epochs=4)),
                    budget=budget)
    page.start()
    for epoch in range(1, 5):  # every epoch's numbers; snapshots as the budget allows
        page(EpochEnd(EpochRecord(epoch, 1.0, 0.5, 1.0, 0.5, 0.1, 0.01, "seen"), 4, 1.0, 9.0))
    index = _read_script(tmp_path / LIVE_INDEX, "index")
    assert [r["epoch"] for r in index["epochs"]] == [1, 2, 3, 4]
    assert index["snapshots"] == expected
    assert sorted(p.name for p in (tmp_path / "live").iterdir()) == [
        f"epoch-{e:04d}.js" for e in expected]
    assert page.seconds > 0


def test_stopped_by_hand_a_watched_run_keeps_its_page_and_checkpoint(tmp_path: Path) -> None:
    def stop(end: object) -> None:
        if end.record.epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_lesson(epochs=5, seed=0, out=tmp_path / "run", live=True, on_epoch_end=stop)
    index = _read_script(tmp_path / "run" / LIVE_INDEX, "index")
    assert index["status"] == "stopped" and "--resume" in index["stop_reason"]
    assert [r["epoch"] for r in index["epochs"]] == [1, 2]
    assert (tmp_path / "run" / "checkpoints").is_dir()
    # Unwatched, a run stopped by hand leaves nothing behind, as before.
    with pytest.raises(KeyboardInterrupt):
        run_lesson(epochs=5, seed=0, out=tmp_path / "plain", on_epoch_end=stop)
    assert not (tmp_path / "plain").exists()


def test_train_and_demo_live_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnntrace.cli.main import main
    from test_cli_data import write_csv

    data = tmp_path / "walks.csv"
    write_csv(data, range(200))
    for argv, run in (
        (["train", str(data), "--preset", "lesson", "--epochs", "2"], tmp_path / "train"),
        (["demo", "--epochs", "2"], tmp_path / "demo"),
    ):
        assert main([*argv, "--live", "--out", str(run), "--json"]) == 0
        err = capsys.readouterr().err
        assert f"watch it learn: {(run / LIVE_PAGE).resolve().as_uri()}" in err
        index = _read_script(run / LIVE_INDEX, "index")
        assert index["status"] == "finished" and index["report"] == "report.html"
        assert (run / "report.html").is_file()
        assert [r["epoch"] for r in index["epochs"]] == [1, 2]


def test_live_refuses_a_run_that_is_not_a_classifier(tmp_path: Path) -> None:
    from rnntrace.errors import ConfigError
    from rnntrace.experiment.pipeline import run_experiment

    with pytest.raises(ConfigError, match="--live watches classifiers"):
        run_experiment(lesson(n_sequences=30, seed=0), ModelConfig(task="regress"),
                       TrainConfig(epochs=1), out=tmp_path / "run", live=True)
    assert not (tmp_path / "run").exists()
