"""layer_shapes and `rnntrace shapes`: measured shapes, explained, equal to PyTorch's own."""

from __future__ import annotations

import json
import resource

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnntrace.cli.main import main
from rnntrace.errors import ConfigError, ShapeError
from rnntrace.tracing.shapes import layer_shapes

CLASSES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def test_cli_batch_first_acceptance(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["shapes", "--input", "4,7,5", "--hidden", "3", "--batch-first"])
    out = capsys.readouterr()
    assert code == 0 and out.err == ""
    assert "output │ (4, 7, 3)" in out.out
    assert "h_n    │ (1, 4, 3)" in out.out
    assert "batch 4 × 7 steps × 5 features" in out.out
    assert "parameters: 30" in out.out  # 3·(5 + 3 + 2), and PyTorch agrees (tests below)


def test_cli_input_size_mismatch_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["shapes", "--input", "3,5,10", "--input-size", "8", "--hidden", "4"])
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnntrace: error: ")
    assert "input_size = 8" in lines[0] and "10 features" in lines[0]
    assert "Traceback" not in out.err


def test_cli_no_batch_first_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["shapes", "--input", "4,7,5", "--hidden", "3", "--cell", "lstm", "--layers", "2"]
    assert main([*args, "--bidirectional", "--no-batch-first", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    shapes = {line["name"]: line["shape"] for line in report["lines"]}
    assert shapes == {
        "input": [4, 7, 5],
        "output": [4, 7, 6],
        "h_n": [4, 7, 3],
        "c_n": [4, 7, 3],
    }
    assert report["reading"] == "4 steps × batch 7 × 5 features"


@pytest.mark.parametrize(
    "args",
    [
        ["--input", "4,x7", "--hidden", "3"],
        ["--input", "4,7,a", "--hidden", "3"],
        ["--input", "4,7,5,2", "--hidden", "3"],
        ["--input", "4,7,5", "--hidden", "0"],
        ["--input", "4,7,5", "--hidden", "3", "--cell", "transformer"],
        ["--input", "4,7,5", "--hidden", "3", "--cell", "gru", "--nonlinearity", "relu"],
    ],
)
def test_cli_bad_values_get_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shapes", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnntrace: error: ")


def test_unbatched_input_is_explained() -> None:
    report = layer_shapes([7, 5], 3)
    assert [f.kind for f in report.findings] == ["unbatched"]
    assert {line.name: line.shape for line in report.lines}["h_n"] == [1, 3]


def test_mismatch_keeps_pytorch_error_as_cause() -> None:
    with pytest.raises(ShapeError) as caught:
        layer_shapes([3, 5, 10], 4, "gru", input_size=8)
    assert "input.size(-1) must be equal to input_size" in str(caught.value.__cause__)
    with pytest.raises(ConfigError):
        layer_shapes([3, 5, 10], 4, "gru", num_layers=0)


@settings(max_examples=40, deadline=None)
@given(
    cell=st.sampled_from(sorted(CLASSES)),
    layers=st.integers(1, 3),
    bi=st.booleans(),
    bf=st.booleans(),
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=3),
    h=st.integers(1, 6),
)
def test_reported_shapes_are_pytorch_shapes(
    cell: str, layers: int, bi: bool, bf: bool, shape: list[int], h: int
) -> None:
    report = layer_shapes(shape, h, cell, num_layers=layers, bidirectional=bi, batch_first=bf)
    rnn = CLASSES[cell](shape[-1], h, layers, bidirectional=bi, batch_first=bf)
    output, state = rnn(torch.randn(*shape))
    states = state if isinstance(state, tuple) else (state,)
    got = {line.name: line.shape for line in report.lines}
    assert got["output"] == list(output.shape)
    assert got["h_n"] == list(states[0].shape)
    assert ("c_n" in got) == (cell == "lstm")
    if cell == "lstm":
        assert got["c_n"] == list(states[1].shape)
    for line in report.lines:  # the formula agrees with the measurement
        assert line.formula_shape == line.shape
    n_params = sum(p.numel() for p in rnn.parameters())
    assert report.n_parameters == n_params
    assert report.parameter_formula.endswith(f"total {n_params}")
    assert report.parameters == {n: list(p.shape) for n, p in rnn.named_parameters()}


@pytest.mark.parametrize(
    ("cell", "layers", "bi", "bf", "shape"),
    [
        ("rnn", 1, False, True, [2, 600, 3]),  # 600 steps: past the steps run at full length
        ("lstm", 2, True, False, [300, 2, 3]),  # 300 steps × 2 layers × 2 directions
        ("gru", 1, False, True, [700, 3]),  # one sequence: steps first whatever batch_first says
    ],
)
def test_long_inputs_measured_on_fewer_steps_match_pytorch(
    cell: str, layers: int, bi: bool, bf: bool, shape: list[int]
) -> None:
    report = layer_shapes(shape, 4, cell, num_layers=layers, bidirectional=bi, batch_first=bf)
    rnn = CLASSES[cell](shape[-1], 4, layers, bidirectional=bi, batch_first=bf)
    with torch.no_grad():  # small enough to run for real: the truth for the shortcut
        output, state = rnn(torch.zeros(*shape))
    states = state if isinstance(state, tuple) else (state,)
    got = {line.name: line.shape for line in report.lines}
    assert got["output"] == list(output.shape) and got["h_n"] == list(states[0].shape)
    if cell == "lstm":
        assert got["c_n"] == list(states[1].shape)
    assert report.input_shape == shape
    assert [f.kind for f in report.findings] == (["unbatched"] if len(shape) == 2 else [])


def test_huge_input_is_measured_without_allocating(capsys: pytest.CaptureFixture[str]) -> None:
    # On the CPU this input alone is 100000·1000·100·4 bytes = 40 GB, its output 205 GB.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    code = main(["shapes", "--input", "100000,1000,100", "--hidden", "512", "--json"])
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    out = capsys.readouterr()
    assert code == 0 and out.err == ""
    assert grown_mib < 200
    report = json.loads(out.out)
    shapes = {line["name"]: line["shape"] for line in report["lines"]}
    assert shapes == {"input": [100000, 1000, 100], "output": [100000, 1000, 512],
                      "h_n": [1, 100000, 512]}
    assert report["n_parameters"] == 512 * (100 + 512 + 2)  # by hand: W_ih, W_hh, two biases


def test_input_no_tensor_can_hold_gets_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shapes", "--input", "10000000,10000000,10000000", "--hidden", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnntrace: error: input of shape")
    assert "2^63" in err[0]
    # The input fits; the output it would give (10^9·10^9·10 values) does not.
    with pytest.raises(ShapeError, match="output of shape"):
        layer_shapes([10**9, 10**9, 1], 10)
