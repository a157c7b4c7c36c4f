"""The Python API does what the command line does: `rt.train_from_files` is `rnntrace train`,
`rt.predict(run, path)` is `rnntrace predict`, with the same parameter names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rnntrace as rt
from rnntrace.cli.main import main
from rnntrace.errors import ConfigError
from rnntrace.run.files import REPORT
from test_cli_data import write_csv

FIXTURE = Path(__file__).parent / "fixtures"


pytestmark = pytest.mark.usefixtures("in_tmp")  # ./runs lands in the test's folder


def _trace_without_meta(run: Path) -> dict[str, object]:
    raw = json.loads((run / "trace.json").read_text())
    raw.pop("meta")
    return raw


def test_train_from_files_gives_the_run_rnntrace_train_gives(tmp_path: Path) -> None:
    data = tmp_path / "walks.csv"
    write_csv(data, range(120))
    assert main(["train", str(data), "--preset", "lesson", "--epochs", "2", "--hidden", "6",
                 "--out", str(tmp_path / "cli"), "--json"]) == 0
    run = rt.train_from_files(data, preset="lesson", epochs=2, hidden=6, out=tmp_path / "api")
    assert run.path == tmp_path / "api" and (run.path / REPORT).is_file()
    assert _trace_without_meta(tmp_path / "api") == _trace_without_meta(tmp_path / "cli")
    assert run.config.model.hidden_size == 6 and run.config.train.epochs == 2


def test_train_from_files_refuses_what_the_command_refuses(tmp_path: Path) -> None:
    data = tmp_path / "walks.csv"
    write_csv(data, range(60))
    with pytest.raises(ConfigError, match="unknown setting 'hiden'"):
        rt.train_from_files(data, hiden=4)
    with pytest.raises(ConfigError, match="drop --hidden"):
        rt.train_from_files(data, resume=tmp_path / "killed", hidden=4)
    with pytest.raises(ConfigError, match="unknown preset"):
        rt.train_from_files(data, preset="fast")
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_predict_on_a_file_is_what_rnntrace_predict_writes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = FIXTURE / "run_main_1858fc2"
    new = FIXTURE / "run_main_1858fc2_new.npz"
    assert main(["predict", str(run), str(new)]) == 0
    printed = capsys.readouterr().out
    assert rt.predict(run, new).to_csv() == printed
    assert rt.predict(str(run), str(new)).to_csv() == printed  # paths as strings too


def test_a_run_saved_before_the_restructure_loads_predicts_and_reports(tmp_path: Path) -> None:
    """tests/fixtures/run_main_1858fc2 was written by main at 1858fc2, before the packages moved,
    with the predictions that version made of six new sequences."""
    run_dir = FIXTURE / "run_main_1858fc2"
    saved = rt.load_run(run_dir)
    assert saved.trace is not None
    raw = json.loads((run_dir / "trace.json").read_text())
    assert json.loads(saved.trace.to_json()) == raw  # nothing lost or renamed on the way in
    predicted = rt.predict(saved, FIXTURE / "run_main_1858fc2_new.npz")
    expected = (FIXTURE / "run_main_1858fc2_predictions.csv").read_text()
    assert predicted.to_csv() == expected
    # The page of the old run, through `rnntrace report`, shows every epoch's loss.
    out = tmp_path / "page.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    page = out.read_text()
    for record in saved.trace.training:
        assert f"{record.loss:.3f}" in page
    assert np.isclose(sum(predicted.probabilities[0]), 1.0, atol=1e-5)


def test_an_old_explanation_reads_with_true_class_and_shows_itself() -> None:
    """explain.json of 1858fc2 wrote the true class as "true"; it reads as `true_class`, and an
    Explanation prints and shows in a notebook like a Trace."""
    from rnntrace.run.files import load_explanation

    run_dir = FIXTURE / "run_main_1858fc2"
    raw = json.loads((run_dir / "explain.json").read_text())
    explanation = load_explanation(run_dir)
    assert explanation is not None and explanation.attribution is not None
    assert explanation.attribution.true_class == raw["attribution"]["true"]
    text = str(explanation)
    assert explanation.attribution.sequence_id in text and "Integrated Gradients" in text
    html = explanation._repr_html_()
    assert html.startswith("<") and "<script" not in html
