"""The engine options on the command line: threads, clipping, patience, schedule, TensorBoard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnntrace.cli.main import main


def _trace(path: Path) -> dict[str, object]:
    return json.loads((path / "trace.json").read_text())  # type: ignore[no-any-return]


def test_engine_options_reach_the_run_and_its_trace(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["demo", "--epochs", "3", "--json", "--out", str(out), "--threads", "2",
            "--clip", "0.5", "--patience", "4", "--lr-schedule", "plateau"]
    assert main(args) == 0
    trace = _trace(out)
    assert trace["meta"]["threads"] == 2  # type: ignore[index]
    train = json.loads((out / "config.json").read_text())["train"]
    assert (train["threads"], train["clip_grad_norm"], train["patience"], train["lr_schedule"]) \
        == (2, 0.5, 4, "plateau")
    assert main(["demo", "--epochs", "1", "--json", "--out", str(tmp_path / "noclip"),
                 "--clip", "0"]) == 0
    assert json.loads((tmp_path / "noclip" / "config.json").read_text())["train"][
        "clip_grad_norm"] is None


def test_the_default_thread_choice_is_shown_in_the_trace(tmp_path: Path) -> None:
    assert main(["demo", "--epochs", "1", "--json", "--out", str(tmp_path / "run")]) == 0
    assert _trace(tmp_path / "run")["meta"]["threads"] == 1  # type: ignore[index]


def test_bad_engine_options_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--lr-schedule", "linear", "--out", str(tmp_path / "a")]) == 2
    assert main(["demo", "--device", "tpu", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "unknown lr schedule 'linear'" in err and "unknown device 'tpu'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_tensorboard_event_files_hold_each_epoch(tmp_path: Path) -> None:
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    )
    board = tmp_path / "tb"
    out = tmp_path / "run"
    assert main(["demo", "--epochs", "2", "--json", "--out", str(out),
                 "--tensorboard", str(board)]) == 0
    events = event_accumulator.EventAccumulator(str(board))
    events.Reload()
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = events.Scalars("loss/train")
    assert [e.step for e in losses] == [1, 2]
    assert [e.value for e in losses] == pytest.approx([r["loss"] for r in logged], rel=1e-6)
    assert {"loss/held_out", "accuracy/train", "grad_norm", "lr", "seqs_per_s"} <= set(
        events.Tags()["scalars"]
    )
