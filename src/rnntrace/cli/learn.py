"""`rnntrace learn [RUN]`: the lesson that adapts to the learner, one activity after another.

Each round picks the next activity (quiz/plan.py) and says why, runs it, saves every answer to
the learner's progress file at once, and offers the next. The activities are views of the same
model: its own step records (worked, faded) and questions verified by PyTorch about its
configuration (practice, test, review).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rnntrace.cli.app import app

if TYPE_CHECKING:
    from rich.console import Console

    from rnntrace.quiz.progress import Progress
    from rnntrace.quiz.rounds import Lesson
    from rnntrace.quiz.session import ReadLine
    from rnntrace.records import Question

_SHOWN_REVIEWS = 8  # rows of the review schedule printed at the end of a session


def _read_number(console: Console, read: ReadLine, prompt: str, interactive: bool,
                 ) -> tuple[float | None, str] | None:
    """(the number typed, the line as typed); None at the end of input.

    At a terminal a line that is not a number asks again; from a pipe it counts as wrong
    (None as the number), so a script's answers stay aligned with the blanks.
    """
    while True:
        line = read(prompt)
        if line is None:
            return None
        text = line.strip()
        try:
            return float(text.replace("−", "-")), text
        except ValueError:
            if not interactive:
                return None, text
            console.print(f"{text!r} is not a number: type e.g. 0.42")


def _worked(console: Console, lesson: Lesson, seed: int, read: ReadLine) -> bool:
    from rnntrace.render.learn_text import worked_view
    from rnntrace.render.worked import lesson_steps

    worked, _ = lesson_steps(lesson.records, seed)
    console.print(worked_view(worked))
    return read("Press Enter when you have read it through: ") is not None


def _faded(console: Console, lesson: Lesson, seed: int, read: ReadLine, interactive: bool,
           progress: Progress) -> bool:
    from rich.text import Text

    from rnntrace.quiz.progress import now_utc
    from rnntrace.render.learn_text import faded_view, unit_line
    from rnntrace.render.worked import TOLERANCE, lesson_steps

    _, faded = lesson_steps(lesson.records, seed)
    console.print(faded_view(faded))
    for line in faded.unit_lines:
        console.print(unit_line(line, blank=True))
        typed = _read_number(console, read, f"{line.symbol} = ", interactive)
        if typed is None:
            return False
        answer, text = typed
        right = answer is not None and line.accepts(answer)
        progress.record_blank(right, now_utc())
        progress.save()
        if right:
            console.print(Text(f"✓ Right: {line.symbol} = {line.value:.4f}", style="bold green"))
        else:
            console.print(Text(f"✗ {line.symbol} = {line.value:.4f} (you wrote {text!r}; "
                               f"within ±{TOLERANCE} counts)", style="bold red"))
    console.print(Text(f"✓ {faded.check}", style="dim"))
    return True


def _quiz(console: Console, questions: list[Question], mode: str, read: ReadLine,
          interactive: bool, progress: Progress) -> bool:
    from rnntrace.quiz import session
    from rnntrace.quiz.progress import now_utc

    def save(q: Question, right: bool) -> None:
        progress.record(q, right, mode, now_utc())
        progress.save()

    score = session.play(questions, console, read, interactive=interactive, on_answer=save)
    return score.finished


def _show_mastery(console: Console, progress: Progress, concepts: list[str]) -> None:
    """The levels of this model's concepts, then the review schedule."""
    from rnntrace.quiz.mastery import levels
    from rnntrace.quiz.progress import now_utc
    from rnntrace.render.learn_text import mastery_table, reviews_table

    console.print(mastery_table([(lv.concept, lv.name, lv.why)
                                 for lv in levels(concepts, progress.answers)]))
    waiting = sorted(progress.reviews.values(), key=lambda r: (r.due, r.key))
    if waiting:
        now = now_utc()
        rows = [("now" if r.due <= now else r.due.astimezone().strftime("%Y-%m-%d %H:%M"),
                 r.concept, r.question.prompt) for r in waiting[:_SHOWN_REVIEWS]]
        console.print(reviews_table(rows, len(waiting)))


Mode = Annotated[
    str | None,
    typer.Option("--mode", help="Do this activity now instead of the suggested one: worked, "
                 "faded, practice, test or review."),
]


@app.command()
def learn(
    run: Annotated[
        Path | None,
        typer.Argument(help="Run directory to learn from (default: the lesson's model)."),
    ] = None,
    mode: Mode = None,
    progress_file: Annotated[
        Path | None,
        typer.Option("--progress", help="Your progress file (default: progress.json in your "
                     "user data folder, or $RNNTRACE_PROGRESS)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the questions and the unit followed.")] = 0,
) -> None:
    """The next thing to learn about your model, and why: worked step, faded step, practice,
    test this pattern, or review of what you missed. Your answers stay in a local file."""
    from rich.console import Console

    from rnntrace.errors import ConfigError
    from rnntrace.experiment.learning import load_lesson
    from rnntrace.quiz import rounds, session
    from rnntrace.quiz.plan import MODES, next_step
    from rnntrace.quiz.progress import Progress, default_path, now_utc

    if mode is not None and mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    path = progress_file if progress_file is not None else default_path()
    progress = Progress.load(path)
    lesson = load_lesson(run)
    concepts = rounds.concepts(lesson)
    console = Console(highlight=False)
    interactive = sys.stdin.isatty()
    read = (session.terminal_reader(console) if interactive
            else session.stream_reader(sys.stdin.readline))
    console.print(f"[bold]rnntrace learn[/bold]: {lesson.name}  (progress: {path})")
    if mode is not None:
        console.print(f"\n[bold]Now: {mode}[/bold] (as you asked).")
        _run(mode, console, lesson, progress, seed, read, interactive)
        _show_mastery(console, progress, concepts)
        return
    opening = True
    while True:
        step = next_step(progress, lesson.name, concepts, now_utc(),
                         has_steps=bool(lesson.records), opening=opening)
        opening = False
        if step.mode == "done":
            console.print(f"\n[bold]Nothing to do now[/bold]: {step.why}.")
            break
        console.print(f"\n[bold]Next: {step.mode}[/bold]: {step.why}.")
        line = read("Start? [Enter: yes, q: stop] ")
        if line is None or line.strip().lower() in ("q", "n", "no", "quit", "stop"):
            break
        if not _run(step.mode, console, lesson, progress, seed, read, interactive):
            console.print("\nStopped: your answers so far are saved.")
            break
    _show_mastery(console, progress, concepts)


def _run(mode: str, console: Console, lesson: Lesson, progress: Progress, seed: int,
         read: ReadLine, interactive: bool) -> bool:
    """One activity; whether it ran to its end. Marks it done in the progress file."""
    from rnntrace.errors import ConfigError
    from rnntrace.quiz import rounds
    from rnntrace.quiz.progress import now_utc

    if mode in ("worked", "faded") and not lesson.records:
        raise ConfigError("this trace has no step records, which worked and faded steps are "
                          "made of: choose --mode practice, test or review")
    if mode == "worked":
        done = _worked(console, lesson, seed, read)
    elif mode == "faded":
        done = _faded(console, lesson, seed, read, interactive, progress)
    elif mode == "review":
        due = [r.question for r in progress.due(now_utc(), ahead=True)]
        if not due:
            console.print("No review is due.")
            return True
        done = _quiz(console, due, "review", read, interactive, progress)
    else:
        questions = (rounds.practice_questions(lesson, progress, seed) if mode == "practice"
                     else rounds.pattern_test(lesson, progress, seed))
        done = _quiz(console, questions, mode, read, interactive, progress)
    if done and mode != "review":
        progress.mark(lesson.name, mode, now_utc())
    progress.save()
    return done
