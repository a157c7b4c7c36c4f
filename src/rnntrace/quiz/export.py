"""Quiz sheets for teachers: Markdown or JSON, with the key and solutions only when asked, and
the files learning systems import (Moodle XML, GIFT, a QTI 1.2 package, an Anki deck), which
always carry the key: a system needs it to mark the answers."""

from __future__ import annotations

import json
import re
from typing import Any

from rnntrace.errors import ConfigError
from rnntrace.records import SCHEMA_VERSION, Question

SHEETS = ("md", "json")
SYSTEMS = ("moodle", "gift", "qti", "anki")  # what teachers' and students' systems import
FORMATS = (*SHEETS, *SYSTEMS)
BINARY = ("qti", "anki")  # zip files: written to a file, never to a terminal
SUFFIX = {"md": ".md", "json": ".json", "moodle": ".xml", "gift": ".gift.txt", "qti": ".zip",
          "anki": ".apkg"}
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
    if fmt not in SHEETS:
        raise ConfigError(f"unknown sheet format {fmt!r}: choose md or json")
    if fmt == "json":
        return to_json(questions, answers=answers,
                       meta={"about": about, "level": level, "seed": seed})
    kind = "answer key" if answers else "questions"
    title = f"rnntrace quiz ({kind}): {about}, level {level}, seed {seed}"
    return to_markdown(questions, answers=answers, title=title)


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")


def for_system(questions: list[Question], fmt: str, *, about: str, level: str, seed: int) -> bytes:
    """The file a learning system imports, in `fmt` (moodle, gift, qti or anki)."""
    check_format(fmt)
    title = f"rnntrace quiz: {about} (level {level}, seed {seed})"
    # Under the course's rnntrace category; letters, digits and _ only, so every reader keeps it.
    category = f"seed_{seed}_{level}"
    if fmt == "moodle":
        from rnntrace.quiz.moodle import to_moodle_xml

        return to_moodle_xml(questions, category=category, about=about, seed=seed).encode()
    if fmt == "gift":
        from rnntrace.quiz.gift import to_gift

        return to_gift(questions, category=category, about=about, seed=seed).encode()
    if fmt == "qti":
        from rnntrace.quiz.qti import qti_package

        return qti_package(questions, title=title)
    if fmt == "anki":
        from rnntrace.quiz.anki import anki_package

        return anki_package(questions, deck_name=f"rnntrace::{about} seed {seed}")
    raise ConfigError(f"{fmt!r} is a sheet: use sheet() for md and json")
