"""`rnntrace explain`, the run's explanation on disk, and the terminal view."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnntrace.attribution.source import explain_run, load_explanation
from rnntrace.cli.main import main
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.pipeline import Run, run_experiment
from rnntrace.records.explanation import Explanation
from rnntrace.render.explain_text import explanation_lines, strip
from rnntrace.run.files import REPORT
from rnntrace.run.report import write_report


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = run_experiment(lesson(n_sequences=60, seed=2),
                         ModelConfig(cell="gru", hidden_size=4, bidirectional=True),
                         TrainConfig(epochs=1, seed=2),
                         out=tmp_path_factory.mktemp("explain") / "run")
    # The report is the caller's step, as in the CLI.
    write_report(run.trace, run.path / REPORT, explanation=run.explanation)
    return run


def test_every_run_keeps_an_explanation_of_its_traced_sequence(small: Run) -> None:
    saved = load_explanation(small.path)
    assert saved is not None and saved == small.explanation
    assert saved.attribution is not None and small.trace.prediction is not None
    assert saved.attribution.sequence_id == small.trace.prediction.sequence_id
    assert saved.attribution.completeness.holds
    assert len(saved.hard_cases) == 5
    assert 'id="explain"' in (small.path / REPORT).read_text(encoding="utf-8")


def test_the_run_directory_gives_its_held_out_set_again(small: Run) -> None:
    again = explain_run(small.path)
    assert small.explanation is not None and again.attribution is not None
    assert small.explanation.attribution is not None
    assert again.attribution.values == small.explanation.attribution.values
    assert [c.prediction.sequence_id for c in again.hard_cases] == [
        c.prediction.sequence_id for c in small.explanation.hard_cases]


def test_explain_prints_the_view_and_writes_explain_json(
    small: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert small.explanation is not None
    other = small.explanation.hard_cases[0].prediction.sequence_id
    assert main(["explain", str(small.path), "--sequence", other]) == 0
    out = capsys.readouterr().out
    assert f"Why sequence {other!r}" in out and "Completeness:" in out and "✓ holds" in out
    assert "Units that best separate the classes" in out and "Hardest held-out cases" in out
    saved = Explanation.from_json((small.path / "explain.json").read_text())
    assert saved.attribution is not None and saved.attribution.sequence_id == other
    assert other in (small.path / REPORT).read_text(encoding="utf-8")
    assert main(["explain", str(small.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["attribution"]["sequence_id"] == (
        small.trace.prediction.sequence_id if small.trace.prediction else None)


def test_explain_errors_are_one_line(
    small: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(small.path), "--sequence", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnntrace: error: no sequence 'nope'") and err.count("\n") == 1
    assert main(["explain"]) == 2
    assert "--self-test" in capsys.readouterr().err
    assert main(["explain", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("rnntrace: error:")


def test_target_picks_the_class_explained_by_name_or_index(
    small: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each class's attribution is of that class's own logit: the f(x) of its completeness
    check, over the classes, gives PyTorch's softmax probability of each."""
    names = small.config.data.class_names
    explained = {}
    for index, name in enumerate(names):
        given = name if index % 2 == 0 else str(index)  # by name, and by index
        assert main(["explain", str(small.path), "--target", given, "--json"]) == 0
        found = json.loads(capsys.readouterr().out)["attribution"]
        assert found["target"] == index
        explained[index] = found
    logits = torch.tensor([explained[i]["completeness"]["f_input"] for i in range(len(names))])
    for index, probability in enumerate(torch.softmax(logits.double(), 0).tolist()):
        assert probability == pytest.approx(explained[index]["baseline_check"]["p_input"],
                                            rel=1e-4)
    assert main(["explain", str(small.path), "--target", "sideways"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"classes are {', '.join(names)}" in err
    assert main(["explain", "--self-test", "--target", "0"]) == 2
    assert "give the run" in capsys.readouterr().err


def test_self_test_reports_both_shares(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--self-test"]) == 0
    out = capsys.readouterr().out
    assert "Planted-signal self-test (GRU)" in out and "✓ passed" in out
    assert "trained" in out and "untrained" in out


def test_the_strip_scales_blocks_by_size_and_marks_the_sign() -> None:
    assert strip([1.0, -0.5, 0.0, 0.25]) == ("█▅ ▃", "+− +")


def test_the_view_names_what_it_shows(small: Run) -> None:
    assert small.explanation is not None
    text = "\n".join(explanation_lines(small.explanation))
    a = small.explanation.attribution
    assert a is not None
    assert f"{a.completeness.attribution_sum:.4f}" in text
    assert a.baseline in text
    peak = int(np.argmax(np.abs(a.per_step)))
    assert f"largest at step {peak + 1}: {a.per_step[peak]:+.4f}" in text
