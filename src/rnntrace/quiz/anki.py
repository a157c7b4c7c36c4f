"""An Anki deck (.apkg) for students: one card per question, written by genanki.

The front shows the prompt, the code and the four options; the back the key, the worked
solution and what PyTorch was run to prove it. Each note's GUID comes from the question's
content, and the note type's and deck's ids from their names, so exporting the same seed again
and importing it updates the cards a student already has instead of adding copies (Anki matches
notes by GUID). Tags name the level and the concept, for Anki's filtered decks.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from rnntrace.quiz import markup
from rnntrace.quiz.topics import concept_of, tag
from rnntrace.records import Question

FIELDS = ("Question", "Options", "Answer", "Solution", "Concept", "Level", "Id")
_NOTE_TYPE = "rnntrace question (verified by PyTorch)"
_FRONT = "{{Question}}\n{{Options}}"
_BACK = '{{FrontSide}}\n<hr id="answer">\n{{Answer}}\n{{Solution}}'
_CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; }
pre { background: #f4f4f4; padding: 0.5em; text-align: left; }
ol.options { list-style-type: upper-alpha; }
"""


def stable_id(name: str) -> int:
    """A 31-bit id from a name: Anki wants an int, the same one for the same deck or note type."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) >> 1 | 1 << 30


def _options_html(q: Question) -> str:
    items = "".join(f"<li>{markup.option_html(q, i)}</li>" for i in range(len(q.options)))
    return f'<ol class="options">{items}</ol>'


def _fields(q: Question) -> list[str]:
    key = markup.option_html(q, q.answer)
    answer = f"<p><strong>{markup.LETTERS[q.answer]}</strong>: {key}</p>"
    return [markup.question_html(q), _options_html(q), answer, markup.feedback_html(q),
            concept_of(q.template), q.level, q.id]


def guid_for(q: Question) -> str:
    """The note's GUID: the question's content, so the same question keeps its card."""
    content = "\x1f".join([q.template, q.prompt, q.code, *q.options])
    return hashlib.sha256(content.encode()).hexdigest()[:20]


def anki_package(questions: list[Question], *, deck_name: str) -> bytes:
    """The .apkg's bytes: a deck named `deck_name` with one note per question."""
    import genanki  # imported here: only the Anki export needs it

    note_type = genanki.Model(
        stable_id(_NOTE_TYPE), _NOTE_TYPE,
        fields=[{"name": name} for name in FIELDS],
        templates=[{"name": "Question", "qfmt": _FRONT, "afmt": _BACK}],
        css=_CSS,
    )
    deck = genanki.Deck(stable_id(deck_name), deck_name,
                        description="Every answer verified by running PyTorch (rnntrace).")
    for q in questions:
        tags = ["rnntrace", q.level, tag(concept_of(q.template))]
        deck.add_note(genanki.Note(model=note_type, fields=_fields(q), guid=guid_for(q),
                                   tags=tags))
    with tempfile.TemporaryDirectory(prefix="rnntrace-anki-") as folder:
        path = Path(folder) / "deck.apkg"
        genanki.Package(deck).write_to_file(str(path))
        return path.read_bytes()
