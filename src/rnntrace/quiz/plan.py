"""What to do next, and why: the order a learner goes through one model.

    1 review     missed questions that are due (spaced review keeps them; it comes first);
                 when a session opens, those due within the next 20 minutes too (Anki's
                 learn-ahead limit): later in a session, a question missed a minute ago must
                 not interrupt the activity the learner is in
    2 worked     one step of this model computed in full, if not seen yet
    3 faded      the next step with blanks to fill, if not done yet
    4 practice   verified questions on the weakest concept of this model
    5 test       "test this pattern": 10 mixed questions, easy to hard (the mixed check)
    6 done       everything mastered and nothing due: when the next review is

Practice comes before the first test; after that, a concept under proficient sends the learner
back to practise it, and proficient concepts go to the test to be mastered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rnntrace.quiz.mastery import Level, levels
from rnntrace.quiz.progress import Progress
from rnntrace.quiz.topics import CONCEPTS

MODES = ("review", "worked", "faded", "practice", "test")


@dataclass(frozen=True)
class Next:
    """The activity chosen and the sentence that says why."""

    mode: str  # one of MODES, or "done"
    why: str
    concept: str = ""  # practice: the concept it targets


def _named(level: Level) -> str:
    """"batch_first (which tensors batch_first lays out, ...)": a concept with what it covers."""
    about = CONCEPTS.get(level.concept)
    return f"{level.concept} ({about})" if about else level.concept


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def next_step(progress: Progress, model: str, concepts: list[str], when: datetime,
              *, has_steps: bool = True, opening: bool = False) -> Next:
    """The next thing to do on `model`, whose questions practise `concepts`.

    `opening`: the first choice of a session, which reviews what is due soon as well.
    """
    due = progress.due(when, ahead=opening)
    if due:
        oldest = min(r.due for r in due)
        late = "due now" if oldest <= when else f"due by {_when(oldest)}"
        return Next("review", f"{len(due)} question{'s' if len(due) != 1 else ''} you missed "
                    f"{'are' if len(due) != 1 else 'is'} {late}: reviewing before it fades "
                    "keeps it")
    entry = progress.models.get(model, {})
    if has_steps and not entry.get("worked"):
        return Next("worked", "you have not yet seen one step of this model computed in full")
    if has_steps and not entry.get("faded"):
        return Next("faded", "you have seen a worked step: now fill in the next one yourself")
    ranked = sorted(levels(concepts, progress.answers), key=lambda lv: lv.rank)
    weakest: Level = ranked[0]
    if not entry.get("practice"):
        return Next("practice", f"practise before the test: {_named(weakest)} is "
                    f"{weakest.name}, {weakest.why}", weakest.concept)
    if not entry.get("test"):
        return Next("test", "you have practised: 10 mixed questions, easy to hard, show whether "
                    "this pattern is strong")
    if weakest.rank < 3:  # under proficient
        return Next("practice", f"{_named(weakest)} is {weakest.name}: {weakest.why}",
                    weakest.concept)
    if weakest.name != "mastered":
        return Next("test", f"{_named(weakest)} is proficient: a right answer in a mixed "
                    "test masters it")
    soon = progress.due(when, ahead=True)
    if soon:  # nothing else to do: review what falls due in the next minutes, as Anki does
        return Next("review", f"everything else is done; {len(soon)} missed question"
                    f"{'s fall' if len(soon) != 1 else ' falls'} due within minutes")
    upcoming = progress.next_due()
    later = f"; your next review is due {_when(upcoming)}" if upcoming else ""
    return Next("done", f"every concept of this model is mastered{later}")
