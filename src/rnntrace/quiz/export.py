"""Quiz sheets for teachers: Markdown or JSON, with the key and solutions only when asked."""

from __future__ import annotations

import json
import re
from typing import Any

from rnntrace.errors import ConfigError
from rnntrace.records import SCHEMA_VERSION, Question

FORMATS = ("md", "json")
_KEY_FIELDS = ("answer", "hint", "solution", "verified_by")


def _fence(code: str) -> str:
    # A fence longer than any backtick run inside the code keeps the block closed.
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}python\n{code}\n{ticks}"


def _option(letter: str, text: str, as_code: bool) -> str:
    if as_code and "\n" in text:
        indented = "\n".join("   " + line for line in _fence(text).split("\n"))
        return f"{letter}) \n{indented}"
    if as_code:
        return f"{letter}) `{text}`"
    return f"{letter}) {text}"


def to_markdown(questions: list[Question], *, answers: bool, title: str) -> str:
    """A sheet of questions with code and options; the key and worked solutions if `answers`."""
    lines = [f"# {title}", ""]
    for number, q in enumerate(questions, start=1):
        lines += [f"## {number}. {q.prompt}", "", f"*{q.level} · {q.template}*", ""]
        if q.code:
            lines += [_fence(q.code), ""]
        lines += [_option(letter, option, q.options_are_code) + "  " for letter, option in
                  zip("ABCD", q.options, strict=False)]
        lines.append("")
        if answers:
            lines += [f"**Answer: {q.answer_letter}**", "", f"Hint: {q.hint}", ""]
            lines += [f"- {step}" for step in q.solution]
            lines += ["", f"*Verified by: {q.verified_by}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_json(questions: list[Question], *, answers: bool, meta: dict[str, Any]) -> str:
    """The questions as JSON; without `answers` the key, hint, solution and proof are left out."""
    items = []
    for q in questions:
        item = q.to_dict()
        if not answers:
            for name in _KEY_FIELDS:
                item.pop(name)
        items.append(item)
    sheet = {"schema_version": SCHEMA_VERSION, **meta, "with_answers": answers, "questions": items}
    return json.dumps(sheet, indent=2, ensure_ascii=False) + "\n"


def sheet(
    questions: list[Question], fmt: str, *, answers: bool, about: str, level: str, seed: int
) -> str:
    """The sheet in `fmt` ("md" or "json"), titled with what the quiz is about."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: choose md or json")
    if fmt == "json":
        return to_json(questions, answers=answers,
                       meta={"about": about, "level": level, "seed": seed})
    kind = "answer key" if answers else "questions"
    title = f"rnntrace quiz ({kind}): {about}, level {level}, seed {seed}"
    return to_markdown(questions, answers=answers, title=title)
