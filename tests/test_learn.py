"""Mastery levels, the learner's progress file, spaced review and the choice of what comes next.

Levels are checked against Khan Academy's rules written out by hand; review times against
py-fsrs's documented learning steps (1 and 10 minutes) and its day-long first interval.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rnntrace.cli.main import main
from rnntrace.config.settings import ModelConfig
from rnntrace.quiz import TEMPLATES, make_quiz
from rnntrace.quiz.embedding import TEXT_TEMPLATES
from rnntrace.quiz.mastery import Answer, level_of
from rnntrace.quiz.plan import next_step
from rnntrace.quiz.progress import Progress, question_key
from rnntrace.quiz.topics import CONCEPTS, TEMPLATE_CONCEPT
from rnntrace.records import Question

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def answers(concept: str, pattern: str, mode: str = "practice") -> list[Answer]:
    """'RRW' -> right, right, wrong, oldest first."""
    return [Answer(concept, "t", "", c == "R", mode, T0.isoformat()) for c in pattern]


@pytest.mark.parametrize(
    ("pattern", "level"),
    [
        ("", "not started"),
        ("W", "attempted"),
        ("RWW", "attempted"),  # 1 of 3: 33 %
        ("RRWRW", "attempted"),  # 3 of 5: 60 %
        ("RRRWR", "familiar"),  # 4 of 5: 80 %, not three in a row
        ("RR", "familiar"),  # 100 % but only two answers
        ("WWRRR", "attempted"),  # 3 of 5 is under 70 % even with the streak
        ("WRRRR", "proficient"),  # 4 of 5 and the last three right
        ("RRR", "proficient"),
    ],
)
def test_levels_follow_the_khan_rules(pattern: str, level: str) -> None:
    assert level_of("shapes", answers("shapes", pattern)).name == level


def test_a_mixed_test_masters_and_a_later_miss_drops_it() -> None:
    log = answers("gates", "RR") + answers("gates", "R", mode="test")
    assert level_of("gates", log).name == "mastered"
    log += answers("gates", "W")
    assert level_of("gates", log).name == "familiar"
    assert level_of("shapes", log).name == "not started"  # other concepts are their own


def test_every_template_has_a_known_concept() -> None:
    names = {t.name for t in TEMPLATES} | {name for name, _, _ in TEXT_TEMPLATES}
    assert names == set(TEMPLATE_CONCEPT)
    assert set(TEMPLATE_CONCEPT.values()) <= set(CONCEPTS)


def some_questions() -> list[Question]:
    return make_quiz(ModelConfig(cell="lstm"), n=4, seed=1)


def test_a_miss_is_due_a_minute_later_and_a_right_review_spaces_it(tmp_path: Path) -> None:
    q1, q2, *_ = some_questions()
    progress = Progress.load(tmp_path / "p.json")
    progress.record(q1, False, "practice", T0)
    progress.record(q2, True, "practice", T0)
    assert set(progress.reviews) == {question_key(q1)}  # only the missed one is scheduled
    review = progress.reviews[question_key(q1)]
    assert review.due == T0 + timedelta(minutes=1)  # FSRS's first learning step
    assert progress.due(T0) == [] and progress.due(T0, ahead=True) == [review]
    progress.record(q1, True, "review", review.due)  # Good: the second step, 10 minutes
    assert progress.reviews[question_key(q1)].due == review.due + timedelta(minutes=10)
    later = progress.reviews[question_key(q1)].due
    progress.record(q1, True, "review", later)  # graduates: a day or more
    assert progress.reviews[question_key(q1)].due - later >= timedelta(days=1)


def test_progress_round_trips_through_its_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "progress.json"
    progress = Progress.load(path)
    q = some_questions()[0]
    progress.record(q, False, "test", T0)
    progress.mark("m", "worked", T0)
    progress.mark("m", "practice", T0)
    progress.save()
    raw = json.loads(path.read_text())
    assert raw["version"] == 1 and raw["answers"][0]["correct"] is False
    again = Progress.load(path)
    assert again.answers == progress.answers
    assert again.reviews[question_key(q)].question == q
    assert again.reviews[question_key(q)].due == progress.reviews[question_key(q)].due
    assert again.models["m"] == {"worked": T0.isoformat(), "faded": None, "practice": 1,
                                 "test": 0}
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]  # no temporary left


def test_the_plan_goes_worked_faded_practice_test_then_reviews_first(tmp_path: Path) -> None:
    progress = Progress.load(tmp_path / "p.json")
    concepts = ["shapes", "gates"]
    order = []
    for mode in ("worked", "faded", "practice", "test"):
        step = next_step(progress, "m", concepts, T0)
        order.append(step.mode)
        progress.mark("m", mode, T0)
    assert order == ["worked", "faded", "practice", "test"]
    q = some_questions()[0]
    progress.record(q, False, "test", T0)
    # A question missed a minute ago does not interrupt a session; it opens the next one.
    assert next_step(progress, "m", concepts, T0).mode == "practice"
    opening = next_step(progress, "m", concepts, T0, opening=True)
    assert opening.mode == "review" and "1 question you missed is due" in opening.why
    assert next_step(progress, "m", concepts, T0 + timedelta(minutes=2)).mode == "review"


def test_the_plan_sends_the_weakest_concept_to_practice_and_proficient_ones_to_the_test(
    tmp_path: Path,
) -> None:
    progress = Progress.load(tmp_path / "p.json")
    for mode in ("worked", "faded", "practice", "test"):
        progress.mark("m", mode, T0)
    progress.answers = answers("shapes", "RRR") + answers("gates", "RW")
    step = next_step(progress, "m", ["shapes", "gates"], T0)
    assert (step.mode, step.concept) == ("practice", "gates")
    assert "attempted" in step.why
    progress.answers = answers("shapes", "RRR") + answers("gates", "RRR")
    assert next_step(progress, "m", ["shapes", "gates"], T0).mode == "test"
    progress.answers += answers("shapes", "R", "test") + answers("gates", "R", "test")
    done = next_step(progress, "m", ["shapes", "gates"], T0)
    assert done.mode == "done" and "mastered" in done.why


def test_a_broken_progress_file_and_a_bad_mode_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    broken = tmp_path / "progress.json"
    broken.write_text("{not json")
    assert main(["learn", "--progress", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the progress file" in err
    assert broken.read_text() == "{not json"  # left as it was
    assert main(["learn", "--mode", "cram", "--progress", str(tmp_path / "p.json")]) == 2
    assert "unknown mode 'cram'" in capsys.readouterr().err


def test_learn_on_a_run_directory_from_a_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    run = tmp_path / "run"
    assert main(["demo", "--epochs", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    progress = tmp_path / "progress.json"
    monkeypatch.setattr(sys, "stdin", io.StringIO("A\nB\nnot a letter\nD\nA\n"))
    assert main(["learn", str(run), "--mode", "practice", "--progress", str(progress)]) == 0
    out = capsys.readouterr().out
    saved = json.loads(progress.read_text())
    assert [a["mode"] for a in saved["answers"]] == ["practice"] * 5
    assert saved["answers"][2]["correct"] is False  # from a pipe, a non-answer counts as wrong
    assert out.count("Question ") == 5 and "Your mastery" in out
    (model,) = saved["models"]
    assert model == "nn.RNN(input_size=5, hidden_size=8, batch_first=True)"
    assert saved["models"][model]["practice"] == 1


def test_a_text_model_practises_its_embedding_first(tmp_path: Path) -> None:
    from rnntrace.quiz.rounds import Lesson, practice_questions

    config = ModelConfig(vocab_size=40, embedding_dim=4, n_features=1)
    lesson = Lesson("text", config, 8, 12, [])
    progress = Progress.load(tmp_path / "p.json")
    for concept in CONCEPTS:  # every concept proficient but the Embedding's
        if concept != "embeddings":
            progress.answers += answers(concept, "RRR")
    questions = practice_questions(lesson, progress, seed=0)
    assert len(questions) == 5
    templates = [q.template for q in questions]
    assert {"embedding_shape", "vocabulary_size", "padding_index"} <= set(templates)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_the_pattern_test_is_ten_questions_easy_to_hard_and_new_each_round(
    cell: str, tmp_path: Path,
) -> None:
    from rnntrace.quiz.rounds import Lesson, pattern_test

    lesson = Lesson(cell, ModelConfig(cell=cell, hidden_size=6), 16, 9)
    progress = Progress.load(tmp_path / "p.json")
    first = pattern_test(lesson, progress, seed=0)
    assert [q.level for q in first] == ["easy"] * 3 + ["medium"] * 4 + ["hard"] * 3
    assert len({question_key(q) for q in first}) == 10
    progress.mark(cell, "test", T0)
    again = pattern_test(lesson, progress, seed=0)
    assert {question_key(q) for q in again} != {question_key(q) for q in first}


def test_a_faded_lstm_step_asks_each_blank_in_turn(tmp_path: Path) -> None:
    import math

    import torch
    from rich.console import Console
    from torch import nn

    from rnntrace.cli.learn import _faded
    from rnntrace.quiz.rounds import Lesson
    from rnntrace.render.worked import lesson_steps
    from rnntrace.tracing.steps import explain_steps

    torch.manual_seed(0)
    records = explain_steps(nn.LSTM(3, 4).eval(), torch.randn(5, 3))
    lesson = Lesson("lstm", ModelConfig(cell="lstm", n_features=3, hidden_size=4), 1, 5, records)
    _, faded = lesson_steps(records, 0)
    # A learner who works c_t out from the shown numbers, then writes h_t wrong.
    c_line, h_line = faded.unit_lines
    c = eval(c_line.numbers.replace("·", "*"), {"__builtins__": {}})
    answers = iter([f"{c:.3f}", f"{math.tanh(c) + 1:.3f}"])
    console = Console(file=io.StringIO(), width=120)
    progress = Progress.load(tmp_path / "p.json")
    assert _faded(console, lesson, 0, lambda prompt: next(answers), False, progress)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"✓ Right: {c_line.symbol}" in shown and f"✗ {h_line.symbol}" in shown
    saved = json.loads((tmp_path / "p.json").read_text())
    assert [(a["concept"], a["mode"], a["correct"]) for a in saved["answers"]] == [
        ("gates", "faded", True), ("gates", "faded", False)]
