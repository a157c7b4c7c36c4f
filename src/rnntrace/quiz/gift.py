"""GIFT: Moodle's plain-text question format, for teachers who keep questions in a text file.

Each question is one line, `::name::[html]text{=key#feedback ~wrong#feedback ####general}`,
with a blank line between questions. The characters GIFT reads as syntax (~ = # { } :) and the
backslash are escaped with a backslash, and line breaks inside code are written `\\n`, as
Moodle's own GIFT export does (question/format/gift/format.php), so code keeps its lines.
"""

from __future__ import annotations

import re

from rnntrace.quiz import markup
from rnntrace.quiz.topics import concept_of
from rnntrace.records import Question

_SPECIAL = re.compile(r"([\\~=#{}:])")


def escape(html: str) -> str:
    """HTML safe inside a GIFT question: syntax characters escaped, line breaks as \\n.

    Braces become HTML character references first: Moodle reads `\\}` right, but a `\\}`
    inside an answer ends the answer early in some GIFT parsers, and `&#125;` is the same
    character to every one of them once the page shows it.
    """
    html = html.replace("{", "&#123;").replace("}", "&#125;")
    return _SPECIAL.sub(r"\\\1", html).replace("\r", "").replace("\n", "\\n")


def _question(q: Question, number: int) -> str:
    answers = []
    for index in range(len(q.options)):
        right = index == q.answer
        feedback = "<p>Correct.</p>" if right else markup.wrong_feedback_html(q)
        answers.append(("=" if right else "~") + escape(markup.option_html(q, index))
                       + "#" + escape(feedback))
    name = escape(markup.title(q, number))  # the name is plain text; it has no braces
    return (f"// {q.id} · concept: {concept_of(q.template)}\n"
            f"::{name}::[html]{escape(markup.question_html(q))}"
            f"{{{' '.join(answers)} ####{escape(markup.feedback_html(q))}}}")


def to_gift(questions: list[Question], *, category: str, about: str, seed: int) -> str:
    """The questions as a GIFT file, in `category` (Moodle's $CATEGORY line)."""
    head = [f"// rnntrace quiz: {about.replace(chr(10), ' ')}, seed {seed}",
            "// every key verified by running PyTorch",
            "",
            f"$CATEGORY: $course$/top/rnntrace/{category.replace('/', '//')}",
            ""]
    body = "\n\n".join(_question(q, number) for number, q in enumerate(questions, start=1))
    return "\n".join(head) + "\n" + body + "\n"
