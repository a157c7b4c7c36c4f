"""The interactive quiz in the terminal: ask, read A–D, give feedback and the solution, score.

Answers come one line per question. At a terminal an invalid answer ("E", "") asks again; from a
pipe it counts as wrong, so a script's answer sheet stays aligned with the questions. "?" shows
the hint and asks again in both modes. End of input ends the quiz with the score so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from rnntrace.quiz.topics import concept_of
from rnntrace.records import Question

LETTERS = "ABCD"
ReadLine = Callable[[str], "str | None"]  # prompt -> a line, or None at end of input
OnAnswer = Callable[[Question, bool], None]  # each answered question and whether it was right


@dataclass
class Score:
    """How a quiz went: right answers out of those asked, and how many there were."""

    correct: int
    answered: int
    total: int

    @property
    def finished(self) -> bool:
        return self.answered == self.total


def parse_answer(text: str) -> int | None:
    """The option index for "b", " B ", "2"; None when the line is not an answer."""
    choice = text.strip().upper()
    if len(choice) == 1 and choice in LETTERS:
        return LETTERS.index(choice)
    if choice in ("1", "2", "3", "4"):
        return int(choice) - 1
    return None


def _code(text: str, indent: int = 0) -> Syntax:
    return Syntax(text, "python", theme="ansi_dark", background_color="default", word_wrap=True,
                  padding=(0, 0, 0, indent))


def show_question(console: Console, q: Question, number: int, total: int) -> None:
    console.print()
    console.rule(f"Question {number}/{total} · {q.level} · {concept_of(q.template)}",
                 align="left")
    console.print(Text(q.prompt))
    if q.code:
        console.print(_code(q.code, indent=2))
    for letter, option in zip(LETTERS, q.options, strict=True):
        if q.options_are_code and "\n" in option:
            console.print(Text(f" {letter})", style="bold"))
            console.print(_code(option, indent=4))
        else:
            style = "cyan" if q.options_are_code else ""
            console.print(Text.assemble((f" {letter}) ", "bold"), (option, style)))


def show_feedback(console: Console, q: Question, chosen: int | None) -> None:
    if chosen == q.answer:
        head = Text(f"✓ Correct: {q.answer_letter}", style="bold green")
    else:
        given = "not an answer" if chosen is None else f"you chose {LETTERS[chosen]}"
        head = Text(f"✗ The answer is {q.answer_letter} ({given})", style="bold red")
    body = Text("\n").join([head, *(Text(line) for line in q.solution)])
    body.append(f"\nVerified by: {q.verified_by}", style="dim")
    console.print(Panel(body, expand=False))


def _ask(
    console: Console, q: Question, read: ReadLine, interactive: bool
) -> tuple[bool, int | None]:
    """(whether input remains, the chosen index or None for an invalid line)."""
    while True:
        line = read("Your answer (A–D, ? for a hint): ")
        if line is None:
            return False, None
        if line.strip() == "?":
            console.print(Text(f"Hint: {q.hint}", style="yellow"))
            continue
        chosen = parse_answer(line)
        if chosen is not None or not interactive:
            return True, chosen
        console.print(Text(f"{line.strip()!r} is not an answer: type A, B, C or D.",
                           style="yellow"))


def play(
    questions: list[Question], console: Console, read: ReadLine, *, interactive: bool,
    on_answer: OnAnswer | None = None,
) -> Score:
    """Run the quiz through `console`, reading answers with `read`; returns the score.

    `on_answer` hears each answer as it is given (`rnntrace learn` saves it there and then).
    """
    score = Score(correct=0, answered=0, total=len(questions))
    for number, q in enumerate(questions, start=1):
        show_question(console, q, number, len(questions))
        more, chosen = _ask(console, q, read, interactive)
        if not more:
            console.print(Text("\nEnd of input: stopping here.", style="dim"))
            break
        score.answered += 1
        score.correct += int(chosen == q.answer)
        show_feedback(console, q, chosen)
        if on_answer is not None:
            on_answer(q, chosen == q.answer)
    console.print()
    note = "" if score.finished else f" (stopped after {score.answered} of {score.total})"
    console.print(Text(f"Score: {score.correct}/{score.answered}{note}", style="bold"))
    return score


def terminal_reader(console: Console) -> ReadLine:
    """Read answers at a terminal; Ctrl-D ends the quiz."""

    def read(prompt: str) -> str | None:
        try:
            return console.input(prompt)
        except EOFError:
            return None

    return read


def stream_reader(readline: Callable[[], str]) -> ReadLine:
    """Read one answer per line from a pipe; an empty read is the end of input."""

    def read(prompt: str) -> str | None:
        line = readline()
        return None if line == "" else line.rstrip("\n")

    return read
