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
        ("{file}:Plain", ["--input", "4,7,5"], "Plain has no recurrent layer or cell to trace"),
        ("{file}:needs", ["--input", "4,7,5"], "needs arguments to build"),
        ("{file}:Net", [], "give the input as --input SHAPE or --data FILE"),
        ("{file}:Net", ["--input", "4,x"], "--input must be sizes separated by commas"),
        ("{file}", ["--input", "4,7,5"], "defines 3 nn.Module classes (Net, Words, Plain): "
         "name one as mine.py:NAME, or define model()"),
        ("{file}:Net", ["--input", "4,7,6"], "Net's forward raised RuntimeError on these "
         "inputs: input.size(-1) must be equal to input_size. Expected 5, got 6"),
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


SEQ2SEQ = '''
import random
import torch
from torch import nn

class Seq2Seq(nn.Module):
    """Two LSTMs, the decoder fed one step at a time (bentrevett/pytorch-seq2seq's shape)."""

    def __init__(self):
        super().__init__()
        self.src_embed, self.trg_embed = nn.Embedding(11, 4), nn.Embedding(9, 4)
        self.encoder, self.decoder = nn.LSTM(4, 5), nn.LSTM(4, 5)
        self.fc_out = nn.Linear(5, 9)

    def forward(self, src, trg, teacher_forcing_ratio=0.5):
        _, state = self.encoder(self.src_embed(src))
        outputs = torch.zeros(trg.shape[0], trg.shape[1], 9)
        token = trg[0]
        for t in range(1, trg.shape[0]):
            out, state = self.decoder(self.trg_embed(token).unsqueeze(0), state)
            outputs[t] = self.fc_out(out[0])
            token = trg[t] if random.random() < teacher_forcing_ratio else outputs[t].argmax(1)
        return outputs
'''


def test_a_forward_of_several_tensors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "seq.py"
    path.write_text(SEQ2SEQ, encoding="utf-8")
    # one tensor for a forward of two: one line naming what is missing, exit 2
    assert main(["trace", str(path), "--input", "7,3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Seq2Seq.forward(src, trg, teacher_forcing_ratio=0.5) needs trg" in err
    assert "define example_inputs() in the file" in err and "named src, trg" in err
    # the arguments by name, from an .npz
    src = np.random.default_rng(0).integers(0, 11, size=(7, 3))
    trg = np.random.default_rng(1).integers(0, 9, size=(12, 3))
    np.savez(tmp_path / "batch.npz", src=src, trg=trg)
    page = tmp_path / "seq.html"
    assert main(["trace", str(path), "--data", str(tmp_path / "batch.npz"),
                 "--out", str(page)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "decoder LSTM called 11 times" in out
    assert "The forward is not deterministic" in out
    # --seed seeds Python's random too: the same command, the same trace
    again = tmp_path / "again.html"
    assert main(["trace", str(path), "--data", str(tmp_path / "batch.npz"),
                 "--out", str(again)]) == 0
    assert " ".join(capsys.readouterr().out.split()).replace(str(again), str(page)) == out
    # a .pt dict of named tensors; a name the forward does not take is one line
    torch.save({"src": torch.from_numpy(src), "trg": torch.from_numpy(trg)}, tmp_path / "b.pt")
    assert main(["trace", str(path), "--data", str(tmp_path / "b.pt"), "--out", str(page)]) == 0
    capsys.readouterr()
    torch.save({"source": torch.from_numpy(src), "trg": torch.from_numpy(trg)}, tmp_path / "c.pt")
    assert main(["trace", str(path), "--data", str(tmp_path / "c.pt")]) == 2
    err = capsys.readouterr().err
    assert "needs src; takes no source" in err and err.count("\n") == 1
    # the same from example_inputs() written in the file
    path.write_text(SEQ2SEQ + "\ndef example_inputs():\n    return {'src': torch.zeros(6, 2, "
                    "dtype=torch.long), 'trg': torch.ones(4, 2, dtype=torch.long)}\n",
                    encoding="utf-8")
    assert main(["trace", f"{path}:Seq2Seq", "--out", str(page)]) == 0
    assert "called 3 times in a Python loop" in " ".join(capsys.readouterr().out.split())
    assert main(["trace", str(path), "--head", "values", "--mode", "train",
                 "--out", str(page)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Traced in train mode, as asked" in out
    assert "as head=&#39;values&#39; says" in page.read_text(encoding="utf-8")
    assert main(["trace", str(path), "--mode", "test"]) == 2
    assert "mode must be 'eval' or 'train', got 'test'" in capsys.readouterr().err
