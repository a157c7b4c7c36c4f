"""The quiz command: piped and terminal sessions, teacher sheets, run directories, bad input."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

from rnntrace.cli.main import main
from rnntrace.config.settings import ModelConfig, RunConfig
from rnntrace.quiz import make_quiz
from rnntrace.quiz.session import parse_answer
from rnntrace.records import Question

LESSON_ARGS = ["quiz", "--n", "3", "--seed", "1"]


def lesson_quiz() -> list[Question]:
    """What `rnntrace quiz --n 3 --seed 1` asks: the lesson's model and (1000, 10, 5) batch."""
    return make_quiz(ModelConfig(), n=3, seed=1, input_shape=(1000, 10, 5))


def wrong_letter(q: Question) -> str:
    return "ABCD"[(q.answer + 1) % 4]


@pytest.mark.parametrize(
    ("line", "index"), [("a", 0), (" B ", 1), ("d\n", 3), ("3", 2), ("E", None), ("", None),
                        ("AB", None), ("5", None)]
)
def test_parse_answer(line: str, index: int | None) -> None:
    assert parse_answer(line) == index


def run_piped(
    args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_piped_answers_are_marked_and_scored(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    q1, q2, q3 = lesson_quiz()
    # Right, wrong, then a line that is not an answer: from a pipe it counts as wrong.
    answers = f"{q1.answer_letter.lower()}\n{wrong_letter(q2)}\nE\n"
    code, out, _ = run_piped(LESSON_ARGS, answers, monkeypatch, capsys)
    assert code == 0
    assert out.count("✓ Correct") == 1 and out.count("✗ The answer is") == 2
    assert f"✗ The answer is {q2.answer_letter} (you chose {wrong_letter(q2)})" in out
    assert f"✗ The answer is {q3.answer_letter} (not an answer)" in out
    assert out.count("Final answer:") == 3  # every answer is followed by its worked solution
    assert "Score: 1/3" in out and "stopped" not in out


def test_end_of_input_ends_with_the_score_so_far(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    q1 = lesson_quiz()[0]
    code, out, _ = run_piped(LESSON_ARGS, f"?\n{q1.answer_letter}\n", monkeypatch, capsys)
    assert code == 0
    assert f"Hint: {q1.hint}" in " ".join(out.split())  # "?" shows the hint, then asks again
    assert "Score: 1/1 (stopped after 1 of 3)" in out


def test_interactive_session_through_a_terminal() -> None:
    q1, q2, q3 = lesson_quiz()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    child = pexpect.spawn(sys.executable, ["-m", "rnntrace", *LESSON_ARGS], env=env,
                          encoding="utf-8", timeout=60, dimensions=(60, 200))
    try:
        child.expect("Question 1/3")
        child.expect_exact("Your answer")
        child.sendline("E")  # at a terminal an invalid answer asks again
        child.expect_exact("'E' is not an answer: type A, B, C or D.")
        child.sendline("?")
        child.expect_exact("Hint:")
        child.sendline(q1.answer_letter)
        child.expect_exact(f"✓ Correct: {q1.answer_letter}")
        child.expect_exact("Final answer:")
        child.expect("Question 2/3")
        child.sendline(wrong_letter(q2))
        child.expect_exact(f"✗ The answer is {q2.answer_letter} (you chose {wrong_letter(q2)})")
        child.expect("Question 3/3")
        child.sendline(q3.answer_letter.lower())
        child.expect_exact(f"✓ Correct: {q3.answer_letter}")
        child.expect_exact("Score: 2/3")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_markdown_sheet_with_and_without_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = lesson_quiz()
    _, plain, _ = run_piped([*LESSON_ARGS, "--export", "md"], "", monkeypatch, capsys)
    _, keyed, _ = run_piped([*LESSON_ARGS, "--export", "md", "--answers"], "", monkeypatch, capsys)
    for q in questions:
        assert q.prompt in plain and all(o in plain for o in q.options)
        assert f"**Answer: {q.answer_letter}**" in keyed and q.solution[-1] in keyed
    assert "Answer:" not in plain and "Final answer" not in plain


def test_json_sheet_to_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "quiz.json"
    code, stdout, _ = run_piped([*LESSON_ARGS, "--export", "json", "--out", str(out)], "",
                                monkeypatch, capsys)
    assert code == 0 and stdout == ""
    sheet = json.loads(out.read_text(encoding="utf-8"))
    assert [q["prompt"] for q in sheet["questions"]] == [q.prompt for q in lesson_quiz()]
    assert not any("answer" in q or "solution" in q for q in sheet["questions"])
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind

    code, _, _ = run_piped([*LESSON_ARGS, "--export", "json", "--answers"], "", monkeypatch, capsys)
    assert code == 0


def test_quiz_on_a_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = RunConfig(model=ModelConfig(n_features=4, hidden_size=6, cell="gru"))
    config.train.batch_size, config.data.max_length = 16, 12
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    code, out, _ = run_piped(["quiz", str(tmp_path), "--n", "4", "--export", "json", "--answers"],
                             "", monkeypatch, capsys)
    assert code == 0
    sheet = json.loads(out)
    assert sheet["about"] == "nn.GRU(input_size=4, hidden_size=6, batch_first=True)"
    assert {q["setting"]["input_shape"][2] for q in sheet["questions"]} == {4}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["quiz", "--export", "pdf"], "unknown export format 'pdf'"),
        (["quiz", "--level", "expert"], "unknown level 'expert'"),
        (["quiz", "--n", "0"], "at least one question"),
        (["quiz", "{missing}"], "is not a run directory"),
        (["quiz", "{empty}"], "config.json is missing"),
        (["quiz", "--export", "md", "--out", "{empty}"], "is a directory"),
        (["quiz", "--answers"], "--answers goes with --export"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [a.format(missing=tmp_path / "missing", empty=tmp_path) for a in args]
    code, out, err = run_piped(args, "", monkeypatch, capsys)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("rnntrace: error:")


def test_asking_for_more_questions_than_the_bank_holds_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_piped(["quiz", "--n", "200", "--level", "hard", "--export", "json"], "",
                               monkeypatch, capsys)
    held = len(json.loads(out)["questions"])
    assert code == 0 and 0 < held < 200
    assert err == f"rnntrace: note: this model has {held} distinct hard questions, not 200\n"
