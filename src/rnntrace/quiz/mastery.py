"""Mastery per concept, from the learner's own answers, on Khan Academy's levels.

    attempted   answered, but under 70 % of the last five right
    familiar    at least 70 % of the last five right
    proficient  the last three answers right
    mastered    proficient, and one of those three given in a mixed check ("test this pattern")

A level is a function of the answers alone (their order, rightness and mode), so it never
drifts from the log it is computed from, and a later wrong answer lowers it again, as on Khan
Academy. Answers to faded blanks count for "gates": filling in a step is practising the cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LEVELS = ("not started", "attempted", "familiar", "proficient", "mastered")
WINDOW = 5  # answers the accuracy is taken over
STREAK = 3  # right answers in a row that make a concept proficient
FAMILIAR = 0.7
MIXED = "test"  # the mode whose right answers count as a mixed check


@dataclass(frozen=True)
class Answer:
    """One answer in the learner's log."""

    concept: str
    template: str
    key: str  # the question's content key (progress.question_key); "" for a faded blank
    correct: bool
    mode: str  # faded | practice | test | review
    at: str  # ISO time, UTC

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Answer:
        return cls(str(raw["concept"]), str(raw["template"]), str(raw["key"]),
                   bool(raw["correct"]), str(raw["mode"]), str(raw["at"]))


@dataclass(frozen=True)
class Level:
    """A concept's level and the sentence that says why."""

    concept: str
    name: str  # one of LEVELS
    why: str

    @property
    def rank(self) -> int:
        return LEVELS.index(self.name)


def level_of(concept: str, answers: Iterable[Answer]) -> Level:
    """The level the answers about `concept` (oldest first) earn."""
    mine = [a for a in answers if a.concept == concept]
    if not mine:
        return Level(concept, "not started", "no answers yet")
    recent = mine[-WINDOW:]
    right = sum(a.correct for a in recent)
    share = f"{right} of your last {len(recent)} right"
    if right / len(recent) < FAMILIAR:
        return Level(concept, "attempted", f"{share} (under 70 %)")
    streak = mine[-STREAK:]
    if len(streak) < STREAK or not all(a.correct for a in streak):
        return Level(concept, "familiar", f"{share}; {STREAK} right in a row make it proficient")
    if any(a.mode == MIXED for a in streak):
        return Level(concept, "mastered", f"the last {STREAK} right, one in a mixed test")
    return Level(concept, "proficient",
                 f"the last {STREAK} right; a right answer in a mixed test masters it")


def levels(concepts: Iterable[str], answers: list[Answer]) -> list[Level]:
    """Each concept's level, in the order given."""
    return [level_of(concept, answers) for concept in concepts]
