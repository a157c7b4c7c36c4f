"""The learner's progress: one small JSON file on their own machine, and spaced review by FSRS.

    {"version": 1,
     "answers": [{concept, template, key, correct, mode, at}, ...],      oldest first
     "reviews": {key: {"question": {...}, "concept": ..., "card": {...}}}, the FSRS cards
     "models":  {model: {"worked": at, "faded": at, "practice": n, "test": n}}}

The default place is the user's data folder (platformdirs), overridable with a path or the
RNNTRACE_PROGRESS variable; every save is atomic, so a session killed mid-answer leaves the
last saved file whole. Nothing leaves the machine.

A missed question becomes an FSRS card rated Again (py-fsrs, the scheduler Anki uses), so it is
due again minutes later; each review rates it Good or Again and FSRS spaces the next one. Like
Anki's "learn ahead" limit, a card due within LEARN_AHEAD can count as due now (the plan says
when: at the start of a session).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rnntrace.errors import RunError
from rnntrace.quiz.mastery import Answer
from rnntrace.quiz.topics import concept_of
from rnntrace.records import Question
from rnntrace.run.files import atomic_write_text

VERSION = 1
ENV = "RNNTRACE_PROGRESS"
FILE_NAME = "progress.json"
LEARN_AHEAD = timedelta(minutes=20)  # Anki's default learn-ahead limit
_MAX_ANSWERS = 5000  # the log's oldest answers go first past this: mastery reads the last few


def default_path() -> Path:
    """RNNTRACE_PROGRESS if set, else progress.json in the user's data folder."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    import platformdirs

    return Path(platformdirs.user_data_dir("rnntrace", appauthor=False)) / FILE_NAME


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def question_key(q: Question) -> str:
    """The same question, whatever quiz it came in: its template, text, code and options."""
    content = "\x1f".join([q.template, q.prompt, q.code, *q.options])
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def _scheduler() -> Any:
    from fsrs import Scheduler

    # No fuzzing: the same answers give the same schedule, which the learner can reason about.
    return Scheduler(enable_fuzzing=False)


@dataclass
class Review:
    """A missed question waiting for review, with its FSRS card."""

    key: str
    question: Question
    concept: str
    card: dict[str, Any]  # fsrs.Card.to_dict()

    @property
    def due(self) -> datetime:
        return datetime.fromisoformat(str(self.card["due"]))


@dataclass
class Progress:
    """Everything the learner's file holds."""

    path: Path
    answers: list[Answer] = field(default_factory=list)
    reviews: dict[str, Review] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ---- reading and writing -----------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Progress:
        """The file at `path`; an empty record when it does not exist yet."""
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or raw.get("version") != VERSION:
                raise ValueError("not an rnntrace progress file")
            answers = [Answer.from_dict(a) for a in raw.get("answers", [])]
            reviews = {
                key: Review(key, Question.from_dict(r["question"]), str(r["concept"]),
                            dict(r["card"]))
                for key, r in raw.get("reviews", {}).items()
            }
            models = {str(k): dict(v) for k, v in raw.get("models", {}).items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{path}: cannot read the progress file ({exc}); move it away to "
                           "start afresh") from None
        return cls(path, answers, reviews, models)

    def save(self) -> None:
        raw = {
            "version": VERSION,
            "answers": [a.to_dict() for a in self.answers[-_MAX_ANSWERS:]],
            "reviews": {k: {"question": r.question.to_dict(), "concept": r.concept,
                            "card": r.card} for k, r in sorted(self.reviews.items())},
            "models": self.models,
        }
        atomic_write_text(self.path, json.dumps(raw, indent=1, ensure_ascii=False) + "\n")

    # ---- recording ---------------------------------------------------------------------------

    def model(self, name: str) -> dict[str, Any]:
        return self.models.setdefault(name, {"worked": None, "faded": None, "practice": 0,
                                             "test": 0})

    def mark(self, model: str, mode: str, when: datetime) -> None:
        """A worked or faded example seen, or a practice or test round finished."""
        entry = self.model(model)
        if mode in ("worked", "faded"):
            entry[mode] = when.isoformat()
        else:
            entry[mode] = int(entry.get(mode, 0)) + 1

    def record(self, q: Question, correct: bool, mode: str, when: datetime) -> None:
        """One answer to a question: into the log, and into review when missed or reviewed."""
        key = question_key(q)
        concept = concept_of(q.template)
        self.answers.append(Answer(concept, q.template, key, correct, mode, when.isoformat()))
        if correct and key not in self.reviews:
            return
        from fsrs import Card, Rating

        if key in self.reviews:
            card = Card.from_dict(self.reviews[key].card)  # type: ignore[arg-type]
        else:
            card = Card(card_id=int(key[:12], 16))
        rating = Rating.Good if correct else Rating.Again
        card, _ = _scheduler().review_card(card, rating, when)
        self.reviews[key] = Review(key, q, concept, card.to_dict())

    def record_blank(self, correct: bool, when: datetime) -> None:
        """A faded blank filled in: practice of the cell's arithmetic ("gates")."""
        self.answers.append(Answer("gates", "faded_step", "", correct, "faded", when.isoformat()))

    # ---- reading back ------------------------------------------------------------------------

    def due(self, when: datetime, *, ahead: bool = False) -> list[Review]:
        """Reviews due by `when` (or within LEARN_AHEAD of it), the most overdue first."""
        limit = when + LEARN_AHEAD if ahead else when
        waiting = [r for r in self.reviews.values() if r.due <= limit]
        return sorted(waiting, key=lambda r: (r.due, r.key))

    def next_due(self) -> datetime | None:
        return min((r.due for r in self.reviews.values()), default=None)
