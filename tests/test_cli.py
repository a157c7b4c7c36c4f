"""The command line, in process and as the installed script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnntrace.cli.main import main


def test_demo_prints_every_section_and_writes_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--epochs", "2", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    for section in ("Data Flow", "Training Trace", "Loss per epoch", "Prediction Trace",
                    "Key Insight"):
        assert section in out
    assert "(1000, 10, 5)" in out and "(1000, 10, 8)" in out
    assert (tmp_path / "run" / "trace.json").exists()


def test_demo_json_is_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--epochs", "1", "--json", "--out", str(tmp_path / "run")]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert printed == saved
    assert printed["stages"][0]["name"] == "Input"


def test_user_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    assert main(["demo", "--out", str(occupied)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]
    assert main(["demo", "--epochs", "0", "--out", str(tmp_path / "zero")]) == 2
    assert "epochs must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "zero").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--epochs", "abc"], "'--epochs'"),
        (["demo", "--threads", "0"], "'--threads'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["train"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnntrace: error:") and message in err
    assert "--help" in err  # where to look next


def test_outputs_that_cannot_be_written_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--epochs", "1", "--json", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    a_file = tmp_path / "run" / "trace.json"
    attempts = {
        "is a directory": ["report", str(tmp_path / "run"), "--out", str(tmp_path)],
        "is a file": ["demo", "--out", str(a_file)],
        "cannot create the run directory": ["demo", "--out", str(a_file / "sub")],
        "cannot write": ["quiz", "--export", "md", "--out", str(a_file / "sheet.md")],
    }
    for message, args in attempts.items():
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from rnntrace.cli.main import main; "
        "rc = main(['--help']); rc2 = main(['demo', '--help']); "
        "assert 'torch' not in sys.modules, 'torch imported'; print(rc, rc2)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("0 0")
    assert "demo" in done.stdout


def test_installed_script_runs() -> None:
    script = shutil.which("rnntrace", path=os.path.dirname(sys.executable))
    assert script is not None
    done = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "demo" in done.stdout


def test_demo_shows_a_step_term_by_term(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json as json_module

    assert main(["demo", "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    trace = json_module.loads((tmp_path / "run" / "trace.json").read_text())
    first = trace["steps"][0]
    assert "h_1 = tanh(W_ih·x_1 + b_ih + W_hh·h_0 + b_hh)" in out
    # the recomputed h_1, as stored in the trace, is printed term by term
    assert "[" + ", ".join(f"{v:.4f}" for v in first["h"][:3]) in out.replace("\n", " ")


def test_demo_writes_the_report_beside_the_trace(tmp_path: Path) -> None:
    # The experiment only writes the run; the CLI, its caller, adds the page as its own step.
    from rnntrace.render.html import render_report
    from rnntrace.run.files import load_explanation, read_trace

    run = tmp_path / "run"
    assert main(["demo", "--epochs", "1", "--json", "--out", str(run)]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert page == render_report(read_trace(run), load_explanation(run))


@pytest.mark.parametrize("resample", ["0", "8"])
def test_train_with_a_front_end_shows_each_recurrent_step_beside_the_steps_it_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], resample: str
) -> None:
    # Windows of 2 steps: the recurrent layer takes ceil(T/2) steps, fewer than the inputs'
    # (or ceil(8/2) when every sequence is first resampled to 8 steps).
    fixture = Path(__file__).parent / "fixtures" / "JapaneseVowelsMini.ts"
    assert main(["train", str(fixture), "--nan", "fill", "--cell", "gru", "--front-end",
                 "window", "--window", "2", "--resample", resample, "--summary", "max",
                 "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    length = trace["prediction"]["length"]
    steps = len(trace["prediction"]["hidden_states"])
    assert steps == ((length + 1) // 2 if resample == "0" else 4)
    assert "input steps read" in out and f"{length}: [[" in out  # the last row reads the end
    if resample == "0" and length % 2 == 0:
        assert f"{length - 1}–{length}: [[" in out
