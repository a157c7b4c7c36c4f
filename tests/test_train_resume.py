"""Killing a training run with SIGKILL and resuming it ends with the uninterrupted run's weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rnntrace.cli.main import main
from rnntrace.train.checkpoint import path_in

EPOCHS = 40  # long enough (a few seconds) to be killed mid-run


def _demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnntrace", "demo", "--epochs", str(EPOCHS), "--seed", "2",
            "--json", *args]


def _epochs_logged(run: Path) -> int:
    metrics = run / "metrics.jsonl"
    return len(metrics.read_text().splitlines()) if metrics.exists() else 0


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_demo("--out", str(killed)), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _epochs_logged(killed) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert path_in(killed).exists() and not (killed / "model.safetensors").exists()
    interrupted_at = _epochs_logged(killed)
    assert 3 <= interrupted_at < EPOCHS

    straight = tmp_path / "straight"
    subprocess.run(_demo("--out", str(straight)), check=True, stdout=subprocess.DEVNULL)
    # The resumed run takes every setting from the checkpoint (epochs, seed, ...).
    resumed = subprocess.run(
        [sys.executable, "-m", "rnntrace", "demo", "--json", "--resume", str(killed)],
        check=True, capture_output=True, text=True,
    )
    assert json.loads(resumed.stdout)["training"][-1]["epoch"] == EPOCHS

    a, b = load_file(straight / "model.safetensors"), load_file(killed / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
    straight_rows = (straight / "metrics.jsonl").read_text().splitlines()
    for row, other in zip(rows, map(json.loads, straight_rows), strict=True):
        assert row["loss"] == other["loss"] and row["val_accuracy"] == other["val_accuracy"]
    assert not (killed / "checkpoints").exists()  # a finished run needs none


def test_resume_errors_are_one_line(tmp_path: Path, capsys: object) -> None:
    assert main(["demo", "--resume", str(tmp_path / "nowhere")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["demo", "--resume", str(tmp_path / "empty")]) == 2
    done = tmp_path / "done"
    assert main(["demo", "--epochs", "1", "--json", "--out", str(done)]) == 0
    assert main(["demo", "--resume", str(done)]) == 2
    assert main(["demo", "--resume", str(done), "--out", str(tmp_path / "elsewhere")]) == 2
    assert main(["demo", "--resume", str(done), "--epochs", "9", "--clip", "0"]) == 2
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 3, 2), np.float32), y=np.array([0, 1, 0, 1]))
    assert main(["train", str(tmp_path / "d.npz"), "--resume", str(done), "--cell", "gru"]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "drop --epochs, --clip" in err and "drop --cell" in err
    assert "no such run directory" in err and "nothing to resume" in err
    assert "drop --out" in err and not (tmp_path / "elsewhere").exists()
    assert "Traceback" not in err
    assert not os.listdir(tmp_path / "empty")
