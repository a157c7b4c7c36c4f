"""`rnntrace trace FILE.py:NAME`: a user's own model traced from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rnntrace.cli.main import main

MODEL = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, hidden=6):
        super().__init__()
        self.gru = nn.GRU(5, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 3)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])

class Words(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(40, 4)
        self.lstm = nn.LSTM(4, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.embed(tokens))
        return self.fc(h[-1])

def build():
    return Net(hidden=3)

def needs(size):
    return Net(size)

class Plain(nn.Module):
    def forward(self, x):
        return x

COUNT = 3
'''


@pytest.fixture
def model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no table cell wraps a phrase

    path = tmp_path / "mine.py"
    path.write_text(MODEL, encoding="utf-8")
    return path


def test_traces_a_class_prints_the_view_and_writes_the_page(
    model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    assert main(["trace", f"{model_file}:Net", "--input", "4,7,5", "--out", str(page)]) == 0
    out = capsys.readouterr().out
    assert "nn.GRU(5, 6, batch_first=True)" in out
    assert "batch 4 × 7 steps × 5 features" in out
    assert "all match PyTorch" in out
    html = page.read_text(encoding="utf-8")
    assert 'id="calls-h"' in html and 'id="prediction"' in html


def test_a_function_and_token_inputs_for_an_embedding(
    model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", f"{model_file}:build", "--input", "2,5,5",
                 "--out", str(tmp_path / "a.html")]) == 0
    assert "nn.GRU(5, 3, batch_first=True)" in capsys.readouterr().out
    assert main(["trace", f"{model_file}:Words", "--input", "3,6",
                 "--out", str(tmp_path / "b.html")]) == 0
    assert "batch 3 × 6 steps × 4 features" in capsys.readouterr().out


def test_inputs_from_a_file(model_file: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(2, 4, 5)).astype("float32"))
    assert main(["trace", f"{model_file}:Net", "--data", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "p.html")]) == 0
    assert "batch 2 × 4 steps × 5 features" in capsys.readouterr().out
    torch.save(torch.zeros(3, 2, 5), tmp_path / "x.pt")
    assert main(["trace", f"{model_file}:Net", "--data", str(tmp_path / "x.pt"),
                 "--out", str(tmp_path / "q.html")]) == 0


@pytest.mark.parametrize(
    ("target", "extra", "message"),
    [
        ("missing.py:Net", ["--input", "4,7,5"], "missing.py: no such file"),
        ("{file}:Nope", ["--input", "4,7,5"], "defines no 'Nope' (it defines: Net, Plain, Words"),
        ("{file}:COUNT", ["--input", "4,7,5"], "is of type int, not an nn.Module"),
        ("{file}:Plain", ["--input", "4,7,5"], "Plain has no nn.RNN, nn.LSTM or nn.GRU layer"),
        ("{file}:needs", ["--input", "4,7,5"], "needs arguments to build"),
        ("{file}:Net", [], "give the input as --input SHAPE or --data FILE"),
        ("{file}:Net", ["--input", "4,x"], "--input must be sizes separated by commas"),
        ("{file}", ["--input", "4,7,5"], "expected FILE.py:NAME"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    model_file: Path, capsys: pytest.CaptureFixture[str], target: str, extra: list[str],
    message: str,
) -> None:
    assert main(["trace", target.format(file=model_file), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_help_says_the_file_is_run() -> None:
    from typer.testing import CliRunner

    from rnntrace.cli.main import app

    result = CliRunner().invoke(app, ["trace", "--help"])
    assert "runs the code in it" in " ".join(result.output.split())
