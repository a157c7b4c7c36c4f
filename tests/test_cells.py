"""The cell specifications, and nn.LSTM(proj_size=...) end to end, held to PyTorch itself."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rnntrace.cli.main import main
from rnntrace.config.cells import CELL_SPECS, GRU, LSTM, RNN, at_step, cell_spec, typeset
from rnntrace.config.schema import read_run_config
from rnntrace.config.settings import ModelConfig, RunConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet, stratified_split
from rnntrace.data.synthetic import lesson
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier, make_rnn
from rnntrace.quiz import make_quiz
from rnntrace.records import Question
from rnntrace.tracing.dataflow import trace_stages
from rnntrace.tracing.equations import equations, recompute
from rnntrace.tracing.shapes import layer_shapes
from rnntrace.tracing.steps import explain_steps
from rnntrace.train.fit import fit
from rnntrace.train.loop import evaluate
from rnntrace.train.resources import choose_threads

# ---- the specification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "layers", "bidirectional", "proj"),
    [
        (cell, layers, bi, proj)
        for cell, layers, bi in itertools.product(("rnn", "gru", "lstm"), (1, 2, 3), (False, True))
        for proj in ((0, 1, 4, 6) if cell == "lstm" else (0,))
    ],
)
def test_parameter_formula_is_what_pytorch_allocates(
    cell: str, layers: int, bidirectional: bool, proj: int
) -> None:
    config = ModelConfig(n_features=5, hidden_size=7, cell=cell, num_layers=layers,
                         bidirectional=bidirectional, proj_size=proj)
    layer = make_rnn(config)
    counted = sum(p.numel() for p in layer.parameters())
    spec = cell_spec(cell)
    assert spec.n_parameters(5, 7, layers, bidirectional, proj) == counted
    assert spec.parameter_formula(5, 7, layers, bidirectional, proj).endswith(f"total {counted}")
    assert isinstance(layer, getattr(nn, spec.torch_name)) and layer.proj_size == proj
    # The head reads what the top layer returns: D·P when projected, D·H otherwise.
    model = SequenceClassifier.from_config(config)
    _, state = layer(torch.zeros(2, 3, 5))
    h_n = state[0] if isinstance(state, tuple) else state
    assert model.head.in_features == h_n.shape[-1] * config.num_directions
    assert sum(p.numel() for p in model.rnn.parameters()) == counted


def test_names_gates_and_equations_come_from_one_place() -> None:
    assert [s.class_name for s in (RNN, GRU, LSTM)] == ["nn.RNN", "nn.GRU", "nn.LSTM"]
    assert [s.n_gates for s in (RNN, GRU, LSTM)] == [1, 3, 4]
    assert LSTM.gate_names_text() == "4 (input, forget, cell, output)"
    assert GRU.blocks_text() == "3 gates (r, z, n)" and RNN.gate_names_text() == "1 (no gates)"
    assert [s.has_cell_state for s in (RNN, GRU, LSTM)] == [False, False, True]
    # What recompute reports is the spec's text, for every cell and variant.
    assert equations(nn.RNN(2, 3, nonlinearity="relu")) == RNN.equations("relu")
    assert equations(nn.LSTM(2, 3, proj_size=1)) == LSTM.equations(proj_size=1)
    assert LSTM.equations(proj_size=1)[-1] == "h_t = W_hr·(o_t ⊙ tanh(c_t))"
    assert at_step("c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t", 3) == "c_3 = f_3 ⊙ c_2 + i_3 ⊙ g_3"
    assert at_step("h_t = o_t ⊙ tanh(c_t)", 3, backward=True) == "h←_3 = o_3 ⊙ tanh(c←_3)"
    assert typeset(RNN.equations()[0]) == "h_t = tanh(W_ih · x_t + b_ih + W_hh · h_(t−1) + b_hh)"
    assert set(CELL_SPECS) == {"rnn", "gru", "lstm"} and cell_spec("LSTM") is LSTM


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"cell": "gru", "proj_size": 2}, "applies only to cell='lstm'"),
        ({"cell": "rnn", "proj_size": 2}, "applies only to cell='lstm'"),
        ({"cell": "lstm", "proj_size": 8}, "proj_size must be in [0, hidden_size=8)"),
        ({"cell": "lstm", "proj_size": -1}, "got -1"),
        ({"cell": "conv"}, "unknown cell 'conv'"),
    ],
)
def test_config_refuses_a_projection_it_cannot_build(changes: dict[str, object], word: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ModelConfig(hidden_size=8, **changes)  # type: ignore[arg-type]
    assert word in caught.value.message and "\n" not in caught.value.message


def test_config_round_trips_and_only_writes_a_set_projection() -> None:
    plain, projected = RunConfig(), RunConfig(model=ModelConfig(cell="lstm", proj_size=3))
    assert "proj_size" not in plain.to_dict()["model"]  # runs without it read as before
    assert read_run_config(projected.to_dict()).model.proj_size == 3
    assert read_run_config(plain.to_dict()).model.proj_size == 0
    # resources sizes threads by the spec's gate count
    assert choose_threads(TrainConfig(threads=None, batch_size=1), projected.model) == 1


def test_specs_and_configs_load_without_torch() -> None:
    code = ("import sys, rnntrace.config.cells, rnntrace.config.settings, rnntrace.records; "
            "rnntrace.config.settings.ModelConfig(cell='lstm', proj_size=2); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ---- proj_size: recomputed step by step to 1e-5 ------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "bidirectional", "batch_first"),
    [(1, False, True), (1, True, True), (2, False, False), (2, True, True)],
)
def test_projected_lstm_recomputes_to_pytorch(
    layers: int, bidirectional: bool, batch_first: bool
) -> None:
    torch.manual_seed(0)
    rnn = nn.LSTM(4, 6, layers, bidirectional=bidirectional, batch_first=batch_first,
                  proj_size=3)
    x = torch.randn(5, 7, 4) if batch_first else torch.randn(7, 5, 4)
    whole = recompute(rnn, x)
    assert whole.max_abs_diff <= 1e-5 and whole.diff_c_n is not None
    packed = recompute(rnn, x, lengths=[7, 3, 5, 1, 6])
    assert packed.max_abs_diff <= 1e-5
    d = 2 if bidirectional else 1
    h0, c0 = torch.randn(layers * d, 3), torch.randn(layers * d, 6)  # h is P wide, c is H
    for layer, direction in itertools.product(range(layers), ("forward", "backward")[:d]):
        steps = explain_steps(rnn, x[0] if batch_first else x[:, 0], (h0, c0), layer=layer,
                              direction=direction)
        assert max(s.max_abs_diff for s in steps) <= 1e-5
        assert all(len(s.h) == 3 and len(s.h_prev) == 3 and s.c is not None and len(s.c) == 6
                   for s in steps)
        assert " = W_hr·(o_" in steps[0].equations[-1]


def test_projection_is_w_hr_times_the_unprojected_state() -> None:
    # By hand, for one step from zero state: h_1 = W_hr·(o ⊙ tanh(i ⊙ g)), gates from W_ih·x + b.
    torch.manual_seed(1)
    rnn = nn.LSTM(2, 4, proj_size=2)
    x = torch.randn(1, 2)
    (step,) = explain_steps(rnn, x)
    with torch.no_grad():
        pre = rnn.weight_ih_l0 @ x[0] + rnn.bias_ih_l0 + rnn.bias_hh_l0
        i, _f, g, o = pre.chunk(4)  # c_0 = 0: the forget gate has nothing to keep
        c = torch.sigmoid(i) * torch.tanh(g)
        h = rnn.weight_hr_l0 @ (torch.sigmoid(o) * torch.tanh(c))
    assert step.h == pytest.approx(h.tolist(), abs=1e-6)
    assert step.c == pytest.approx(c.tolist(), abs=1e-6)
    assert step.with_numbers[-1].startswith("h_1 = W_hr·([")


# ---- proj_size: trains, traces, shapes, quiz -------------------------------------------------


def _small() -> tuple[SequenceSet, SequenceSet]:
    data = lesson(n_sequences=150, steps=6, n_features=3, seed=2)
    train, held = stratified_split(data.labels, 0.2, 0)
    return data.subset(train), data.subset(held)


def test_projected_lstm_trains_and_its_data_flow_shows_the_projection() -> None:
    train, held = _small()
    torch.manual_seed(0)
    model = SequenceClassifier(3, 3, hidden_size=8, cell="lstm", proj_size=3, bidirectional=True)
    before, _ = evaluate(model, held)
    history = fit(model, train, held, TrainConfig(epochs=6, lr=0.03))
    assert history.records[-1].loss < history.records[0].loss
    assert evaluate(model, held)[0] < before
    x = torch.from_numpy(held.values[:4])
    stages = trace_stages(model, x)
    layer = next(s for s in stages if s.name.startswith("RNN layer"))
    assert "proj_size=3" in layer.name and "h_t = W_hr·(o_t ⊙ tanh(c_t))" in layer.description
    assert layer.extra_shapes == {"h_n": [2, 4, 3], "c_n": [2, 4, 8]}
    assert next(s for s in stages if s.name == "Linear").input_shape == [4, 6]  # D·P


def test_train_cli_traces_a_projected_lstm(tmp_path: Path) -> None:
    data = lesson(n_sequences=60, steps=5, n_features=2, seed=3)
    np.savez(tmp_path / "d.npz", X=data.values, y=data.labels)
    assert main(["train", str(tmp_path / "d.npz"), "--cell", "lstm", "--hidden", "6",
                 "--proj-size", "2", "--layers", "2", "--epochs", "2", "--json",
                 "--out", str(tmp_path / "run")]) == 0
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert trace["config"]["model"]["proj_size"] == 2
    check = trace["recomputation"]
    assert max(check["diff_output"], check["diff_h_n"], check["diff_c_n"]) <= 1e-5
    assert trace["recomputation"]["equations"] == LSTM.equations(proj_size=2)
    assert max(s["max_abs_diff"] for s in trace["steps"]) <= 1e-5
    assert all(len(s["h"]) == 2 and len(s["c"]) == 6 for s in trace["steps"])
    assert any("proj_size=2" in q["code"] or "proj_size=2" in q["prompt"] for q in trace["quiz"])
    # The run reloads with its projection: predict rebuilds the model from config.json.
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "d.npz"),
                 "--out", str(tmp_path / "p.csv")]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 61
    assert main(["train", str(tmp_path / "d.npz"), "--cell", "gru", "--proj-size", "2"]) == 2


def test_shapes_explain_a_projection(capsys: pytest.CaptureFixture[str]) -> None:
    report = layer_shapes([4, 7, 5], 8, "lstm", proj_size=3, num_layers=2, bidirectional=True)
    real = nn.LSTM(5, 8, 2, batch_first=True, bidirectional=True, proj_size=3)
    output, (h_n, c_n) = real(torch.zeros(4, 7, 5))
    lines = {line.name: line for line in report.lines}
    assert lines["output"].shape == list(output.shape) == [4, 7, 6]
    assert lines["h_n"].shape == list(h_n.shape) == [4, 4, 3]
    assert lines["c_n"].shape == list(c_n.shape) == [4, 4, 8]
    assert lines["h_n"].formula[-1].startswith("P = 3") and "D·P = 2·3 = 6" in lines[
        "output"].formula[-1]
    assert lines["c_n"].formula[-1].startswith("H = 8")
    assert report.n_parameters == sum(p.numel() for p in real.parameters())
    assert "proj_size=3" in report.layer and "W_hr (P × H)" in report.parameter_formula

    assert main(["shapes", "--input", "4,7,5", "--hidden", "8", "--cell", "lstm",
                 "--proj-size", "3"]) == 0
    out = capsys.readouterr().out
    assert "(1, 4, 3)" in out and "(1, 4, 8)" in out and "P = 3" in out and "H = 8" in out
    assert main(["shapes", "--input", "4,7,5", "--hidden", "8", "--proj-size", "3"]) == 2
    assert "applies only to cell='lstm'" in capsys.readouterr().err


def test_quiz_on_a_projected_lstm_asks_with_its_projection() -> None:
    config = ModelConfig(n_features=4, hidden_size=8, cell="lstm", proj_size=3, num_layers=2)
    questions = make_quiz(config, n=18, seed=1)
    layer = nn.LSTM(4, 8, 2, batch_first=True, proj_size=3)
    by: dict[str, Question] = {}
    for q in questions:  # each template's first question: about the 1000 × 10 lesson batch
        by.setdefault(q.template, q)
    assert by["param_count"].options[by["param_count"].answer] == (
        f"{sum(p.numel() for p in layer.parameters()):,}"
    )
    assert by["h_n_shape"].options[by["h_n_shape"].answer] == "(2, 1000, 3)"
    assert by["c_n_shape"].options[by["c_n_shape"].answer] == "(2, 1000, 8)"
    assert by["classifier_input"].options[by["classifier_input"].answer] == "3"
    assert all(q.setting["proj_size"] == 3 for q in questions)
    assert any("W_hr" in line for q in questions for line in q.solution)
