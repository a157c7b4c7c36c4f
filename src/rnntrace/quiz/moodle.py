"""Moodle XML: the question bank format Moodle imports with every field a question can carry.

Written as question/format/xml/format.php reads it: a category question first, then one
`multichoice` question per item with its name, HTML question text, general feedback (the worked
solution and PyTorch's proof), one `<answer fraction="100|0">` per option with its own feedback,
the combined feedback, a hint for the second try, and tags naming the level and concept.
`shuffleanswers` is off and numbering is ABCD, so the letters match the sheet of the same seed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rnntrace.quiz import markup
from rnntrace.quiz.topics import concept_of, tag
from rnntrace.records import Question

# Moodle's default for a multiple-try question: each wrong try costs a third of the mark.
_PENALTY = "0.3333333"


def _text(parent: ET.Element, name: str, text: str, fmt: str | None = "html") -> ET.Element:
    """`<name format="html"><text>…</text></name>`, the shape of every text field in the format."""
    node = ET.SubElement(parent, name, {"format": fmt} if fmt else {})
    ET.SubElement(node, "text").text = text
    return node


def _leaf(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, name).text = value


def _category(quiz: ET.Element, category: str, about: str) -> None:
    node = ET.SubElement(quiz, "question", {"type": "category"})
    # A slash separates category levels in Moodle; a literal one is written twice.
    _text(node, "category", f"$course$/top/rnntrace/{category.replace('/', '//')}", fmt=None)
    _text(node, "info", f"<p>Questions about {markup.inline(about)}, every key verified by "
                        "running PyTorch (rnntrace).</p>")


def _question(quiz: ET.Element, q: Question, number: int, idnumber: str) -> None:
    node = ET.SubElement(quiz, "question", {"type": "multichoice"})
    _text(node, "name", markup.title(q, number), fmt=None)
    _text(node, "questiontext", markup.question_html(q))
    _text(node, "generalfeedback", markup.feedback_html(q))
    _leaf(node, "defaultgrade", "1")
    _leaf(node, "penalty", _PENALTY)
    _leaf(node, "hidden", "0")
    _leaf(node, "idnumber", idnumber)
    _leaf(node, "single", "true")
    _leaf(node, "shuffleanswers", "false")
    _leaf(node, "answernumbering", "ABCD")
    _leaf(node, "showstandardinstruction", "0")
    _text(node, "correctfeedback", "<p>Correct.</p>")
    _text(node, "partiallycorrectfeedback", "")
    _text(node, "incorrectfeedback", markup.wrong_feedback_html(q))
    ET.SubElement(node, "shownumcorrect")
    for index in range(len(q.options)):
        right = index == q.answer
        answer = ET.SubElement(node, "answer", {"fraction": "100" if right else "0",
                                                "format": "html"})
        ET.SubElement(answer, "text").text = markup.option_html(q, index)
        _text(answer, "feedback", "<p>Correct.</p>" if right else markup.wrong_feedback_html(q))
    _text(node, "hint", f"<p>{markup.inline(q.hint)}</p>")
    tags = ET.SubElement(node, "tags")
    for name in ("rnntrace", q.level, q.template, tag(concept_of(q.template))):
        _text(tags, "tag", name, fmt=None)


def to_moodle_xml(questions: list[Question], *, category: str, about: str, seed: int) -> str:
    """The questions as a Moodle XML file, in `category` under the course's top category."""
    quiz = ET.Element("quiz")
    _category(quiz, category, about)
    for number, q in enumerate(questions, start=1):
        _question(quiz, q, number, idnumber=f"rnntrace-s{seed}-{q.id}")
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, "unicode") + "\n"
