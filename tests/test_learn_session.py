"""A scripted learner at a real terminal: worked → faded → practice → test, then `learn` again.

The learner reads the screen as a person would: it computes the faded blank from the numbers
shown, answers the questions, and notes from each feedback line whether it was right. The
progress file must then hold exactly those answers, the mastery levels Khan Academy's rules give
for them, and a review card for each missed question; the next session must open with review.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pexpect

ENV = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
HEADER = re.compile(r"Question (\d+)/(\d+) · (easy|medium|hard) · ([a-z_ ]+?) ─")


def spawn(progress: Path) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "rnntrace", "learn", "--progress", str(progress)],
                         env=ENV, encoding="utf-8", timeout=120, dimensions=(60, 200))


def answer_questions(child: pexpect.spawn, total: int, letter: str) -> list[tuple[str, bool]]:
    """Answer `total` questions with `letter`; (concept, right) for each, from the screen."""
    seen = []
    for number in range(1, total + 1):
        child.expect(HEADER)
        assert int(child.match.group(1)) == number and int(child.match.group(2)) == total
        concept = child.match.group(4).strip()
        child.expect_exact("Your answer")
        child.sendline(letter)
        index = child.expect([r"✓ Correct", r"✗ The answer is"])
        seen.append((concept, index == 0))
    child.expect_exact("Score:")
    return seen


def khan_level(results: list[bool], modes: list[str]) -> str:
    """Khan Academy's levels, written out here from their definitions."""
    if not results:
        return "not started"
    last5 = results[-5:]
    if sum(last5) / len(last5) < 0.7:
        return "attempted"
    if len(results) < 3 or not all(results[-3:]):
        return "familiar"
    return "mastered" if "test" in modes[-3:] else "proficient"


def test_a_learner_session_then_learn_again_opens_with_review(tmp_path: Path) -> None:
    progress = tmp_path / "progress.json"
    child = spawn(progress)
    started = datetime.now().astimezone()
    try:
        child.expect_exact("Next: worked")
        child.sendline("")
        child.expect_exact("One unit followed through")
        child.expect_exact("Press Enter")
        child.sendline("")

        child.expect_exact("Next: faded")
        child.sendline("")
        # "h_3[6] = tanh(a_3[6])\n      = tanh(-1.5127) = ?": the learner does the arithmetic.
        child.expect(r"(h_3\[\d+\]) = \S+\(a_3\[\d+\]\)\s+= (tanh|relu)\((-?\d+\.\d+)\) = \?")
        symbol, function, value = child.match.groups()
        pre = float(value)
        blank = math.tanh(pre) if function == "tanh" else max(pre, 0.0)
        child.expect_exact(f"{symbol} = ")
        child.sendline(f"{blank:.3f}")
        child.expect_exact(f"✓ Right: {symbol}")

        child.expect_exact("Next: practice")
        child.sendline("")
        practice = answer_questions(child, 5, "A")

        child.expect_exact("Next: test")
        child.sendline("")
        test = answer_questions(child, 10, "B")

        child.expect_exact("Next:")
        child.sendline("q")
        child.expect_exact("Your mastery")
        child.expect(pexpect.EOF)
        screen_table = child.before
    finally:
        child.close()
    assert child.exitstatus == 0

    saved = json.loads(progress.read_text())
    log = saved["answers"]
    # Every answer given, in order, as the screen marked it.
    assert [(a["mode"], a["correct"]) for a in log] == (
        [("faded", True)] + [("practice", r) for _, r in practice] + [("test", r) for _, r in test])
    assert [a["concept"] for a in log[1:]] == [c for c, _ in practice + test]
    missed = {a["key"] for a in log if not a["correct"]}
    assert missed, "this seed's script should miss at least one question"

    # Mastery: Khan's rules over the screen's own record, per concept; the table agrees.
    history = [("gates", True, "faded")] + [(c, r, "practice") for c, r in practice] + [
        (c, r, "test") for c, r in test]
    for concept in {c for c, _, _ in history}:
        mine = [(r, m) for c, r, m in history if c == concept]
        level = khan_level([r for r, _ in mine], [m for _, m in mine])
        assert re.search(rf"{re.escape(concept)}\s+{level}\b", screen_table), (concept, level)

    assert "What you missed, and when to review it" in screen_table
    # Review: a card for each missed question (and no other), due a minute after the miss.
    assert set(saved["reviews"]) == missed
    for key, review in saved["reviews"].items():
        missed_at = max(datetime.fromisoformat(a["at"]) for a in log if a["key"] == key)
        due = datetime.fromisoformat(review["card"]["due"])
        assert due - missed_at == timedelta(minutes=1)
        assert due >= started

    again = spawn(progress)
    try:
        again.expect(r"Next: (\w+): (\d+) questions? you missed")
        assert again.match.group(1) == "review"
        assert int(again.match.group(2)) == len(missed)
        again.sendline("q")
        again.expect(pexpect.EOF)
    finally:
        again.close()
    assert json.loads(progress.read_text()) == saved  # stopping changes nothing
