"""Text through the command line: train on the tutorial layout, predict typed names, the lesson."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnntrace.cli.main import main
from rnntrace.data.letters import CLASSES, letter_words
from rnntrace.run.directory import load_config


def _folder(root: Path) -> Path:
    """Two classes told apart by their last letter, and a test name with an unseen letter."""
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    stems = ["kar", "mol", "dent", "pir", "sul", "bon", "tam", "ris", "gol", "fen"]
    (root / "train" / "A.txt").write_text("\n".join(f"{s}a" for s in stems) + "\n", "utf-8")
    (root / "train" / "B.txt").write_text("\n".join(f"{s}o" for s in stems) + "\n", "utf-8")
    (root / "test" / "A.txt").write_text("Ωkara\n", "utf-8")
    (root / "test" / "B.txt").write_text("molo\n", "utf-8")
    return root


def test_train_on_the_tutorial_layout_then_predict_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _folder(tmp_path / "names")
    run = tmp_path / "run"
    assert main(["train", str(root), "--hidden", "8", "--epochs", "3", "--out", str(run)]) == 0
    out, err = capsys.readouterr()
    assert "Embedding" in out and "Test set: 2 sequences" in out  # test/ found beside train/
    assert "unknown to the training vocabulary ('Ω')" in err
    config = load_config(run)
    assert config.model.vocab_size == len(config.data.vocabulary["tokens"])
    assert "Ω" not in config.data.vocabulary["tokens"]  # the test split never shapes it
    trace = json.loads((run / "trace.json").read_text())
    assert trace["stages"][1]["name"] == "Embedding"
    assert len(trace["prediction"]["tokens"]) == trace["prediction"]["length"]
    assert trace["tokens"]["padding_index"] == 0

    assert main(["predict", str(run), "--text", "tama", "<b>x</b>", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("'<b>x</b>'")
    assert all(len(line.split()) == 5 for line in lines)  # the text, then 2 × (class, p)

    names = tmp_path / "new.txt"
    names.write_text("tama\nsulo\n", "utf-8")
    assert main(["predict", str(run), str(names)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "id,predicted,p_A,p_B" and rows[1].startswith("tama,")


def test_text_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _folder(tmp_path / "names")
    (root / "train" / "C.txt").write_bytes(b"")
    assert main(["train", str(root), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "C.txt: the file is empty" in err
    assert not (tmp_path / "run").exists()
    # A numeric-series option given for text is refused, not silently ignored.
    good = _folder(tmp_path / "good")
    assert main(["train", str(good), "--resample", "5", "--out", str(tmp_path / "run")]) == 2
    assert "resample interpolates numeric series" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_demo_text_learns_letter_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--text", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert trace["training"][-1]["val_accuracy"] >= 0.85
    assert trace["config"]["data"]["class_names"] == CLASSES
    assert letter_words(3, seed=0).texts == letter_words(3, seed=0).texts  # deterministic


def test_explain_points_a_text_run_to_its_letters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["demo", "--text", "--epochs", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["explain", str(run)]) == 2
    assert "is a text run: its attribution is per token" in capsys.readouterr().err
