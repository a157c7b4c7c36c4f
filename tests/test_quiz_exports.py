"""Teachers' exports read back by readers written by others: Anki's own importer, a GIFT parser
from PyPI (pygiftparser), a QTI 1.2 reader (pyslet) and the paths Moodle's XML importer reads.

Each test exports quizzes about every cell (and a projecting LSTM, random models and a text
model), reads the file back with the other project's reader and checks that every key, every
option, the code and PyTorch's proof survived.
"""

from __future__ import annotations

import html
import io
import logging
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rnntrace.cli.main import main
from rnntrace.config.settings import ModelConfig
from rnntrace.quiz import make_quiz
from rnntrace.quiz.embedding import text_quiz
from rnntrace.quiz.export import for_system
from rnntrace.quiz.topics import concept_of
from rnntrace.records import Question


def plain(fragment: str) -> str:
    """What an HTML fragment shows: tags dropped, character references resolved."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


QUIZZES: dict[str, list[Question]] = {}


def quiz(name: str) -> list[Question]:
    """Quizzes about each cell the project supports, built once per test session."""
    if not QUIZZES:
        for cell in ("rnn", "gru", "lstm"):
            QUIZZES[cell] = make_quiz(ModelConfig(cell=cell, hidden_size=6, num_layers=2,
                                                  bidirectional=cell == "gru"), n=8, seed=2)
        QUIZZES["lstm-proj"] = make_quiz(ModelConfig(cell="lstm", hidden_size=6, proj_size=3),
                                         n=6, seed=3)
        QUIZZES["random"] = make_quiz(None, n=12, seed=5)
        QUIZZES["text"] = text_quiz(ModelConfig(vocab_size=50, embedding_dim=4, n_features=1),
                                    n=6, seed=1)
    return QUIZZES[name]


NAMES = ("rnn", "gru", "lstm", "lstm-proj", "random", "text")


def export(questions: list[Question], fmt: str, seed: int = 0) -> bytes:
    return for_system(questions, fmt, about="a test model", level="mixed", seed=seed)


def test_quizzes_cover_every_cell_and_code_options() -> None:
    every = [q for name in NAMES for q in quiz(name)]
    cells = {q.setting.get("cell") for q in every}
    assert {"rnn", "gru", "lstm"} <= cells
    # Code options on several lines (the variable-lengths question) and braces in the text:
    # the two things GIFT escaping must get right.
    assert any(q.options_are_code and any("\n" in o for o in q.options) for q in every)
    assert any("{" in q.prompt + "".join(q.options) + "".join(q.solution) for q in every)


# ---- Moodle XML: the paths question/format/xml/format.php reads ------------------------------

# import_question's switch and the answernumbering values qtype_multichoice accepts.
MOODLE_TYPES = {"category", "multichoice", "truefalse", "shortanswer", "numerical", "essay",
                "match", "description", "cloze", "multianswer"}
MOODLE_NUMBERING = {"abc", "ABCD", "123", "iii", "IIII", "none"}


def getpath(node: ET.Element, path: list[str], default: str | None = None) -> str | None:
    """format.php's getpath over the elements: child names then '#' for the text."""
    for name in path:
        found = node.find(name)
        if found is None:
            return default
        node = found
    return node.text or ""


def moodle_import(data: bytes) -> tuple[list[str], list[dict[str, object]]]:
    """The categories and multichoice questions as import_headers/import_multichoice read them."""
    root = ET.fromstring(data)
    assert root.tag == "quiz"
    categories, questions = [], []
    for node in root.findall("question"):
        qtype = node.get("type")
        assert qtype in MOODLE_TYPES
        if qtype == "category":
            categories.append(getpath(node, ["category", "text"]))
            continue
        assert qtype == "multichoice"
        text_node = node.find("questiontext")
        assert text_node is not None
        numbering = getpath(node, ["answernumbering"], "abc")
        assert numbering in MOODLE_NUMBERING
        answers = []
        for answer in node.findall("answer"):  # format.php reads $question['#']['answer']
            answers.append({
                "text": getpath(answer, ["text"], ""),
                "format": answer.get("format"),
                "fraction": float(answer.get("fraction", "0")) / 100,
                "feedback": getpath(answer, ["feedback", "text"], ""),
            })
        questions.append({
            "name": getpath(node, ["name", "text"]),
            "questiontext": getpath(node, ["questiontext", "text"], ""),
            "questiontextformat": text_node.get("format", "moodle_auto_format"),
            "generalfeedback": getpath(node, ["generalfeedback", "text"], ""),
            "defaultmark": float(getpath(node, ["defaultgrade"], "1") or 1),
            "penalty": float(getpath(node, ["penalty"], "0.3333333") or 0),
            "single": getpath(node, ["single"], "true") in ("true", "1"),
            "shuffleanswers": getpath(node, ["shuffleanswers"], "false") in ("true", "1"),
            "answernumbering": numbering,
            "answers": answers,
            "hints": [getpath(h, ["text"], "") for h in node.findall("hint")],
            "tags": [getpath(t, ["text"], "") for t in node.findall("tags/tag")],
            "idnumber": getpath(node, ["idnumber"]),
        })
    return [c or "" for c in categories], questions


@pytest.mark.parametrize("name", NAMES)
def test_moodle_xml_reads_back_as_moodle_imports_it(name: str) -> None:
    questions = quiz(name)
    categories, imported = moodle_import(export(questions, "moodle"))
    assert categories == ["$course$/top/rnntrace/seed_0_mixed"]
    assert len(imported) == len(questions)
    for q, got in zip(questions, imported, strict=True):
        answers = got["answers"]
        assert isinstance(answers, list) and len(answers) == 4
        # One answer worth the whole mark, the others nothing: a single-answer question.
        assert [a["fraction"] for a in answers] == [1.0 if i == q.answer else 0.0
                                                  for i in range(4)]
        assert got["single"] is True and got["shuffleanswers"] is False
        assert got["answernumbering"] == "ABCD" and got["questiontextformat"] == "html"
        assert [plain(str(a["text"])) for a in answers] == q.options
        assert all(a["format"] == "html" for a in answers)
        assert plain(str(answers[q.answer]["feedback"])) == "Correct."
        text = str(got["questiontext"])
        assert q.code == "" or plain(text).endswith(q.code)
        if q.code:
            assert '<pre><code class="language-python">' in text
        feedback = plain(str(got["generalfeedback"]))
        assert q.verified_by in feedback and q.solution[-1] in feedback
        assert f"Answer: {'ABCD'[q.answer]}" in feedback
        assert got["hints"] == [f"<p>{html.escape(q.hint, quote=False)}</p>"] or plain(
            str(got["hints"][0])) == plain(q.hint)  # type: ignore[index]
        tags = got["tags"]
        assert isinstance(tags, list)
        assert q.level in tags and concept_of(q.template).replace(" ", "-") in tags
        assert got["idnumber"] == f"rnntrace-s0-{q.id}"


def test_moodle_escapes_markup_in_questions() -> None:
    q = quiz("rnn")[0]
    tricky = Question(**{**q.to_dict(), "prompt": "What does `x < y & <b>` print?", "code": "",
                         "options": ["<script>1</script>", "a & b", "]]>", "plain"],
                         "answer": 0})
    _, imported = moodle_import(export([tricky], "moodle"))
    answers = imported[0]["answers"]
    assert isinstance(answers, list)
    assert answers[0]["text"] == "&lt;script&gt;1&lt;/script&gt;"  # shown, never run
    assert plain(str(imported[0]["questiontext"])) == "What does x < y & <b> print?"


# ---- GIFT: pygiftparser --------------------------------------------------------------------


def gift_parse(data: bytes) -> list[object]:
    logging.getLogger("pygiftparser").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        # pygiftparser (2017) picks its messages' language with locale.getdefaultlocale.
        warnings.filterwarnings("ignore", "'locale.getdefaultlocale'", DeprecationWarning)
        from pygiftparser import parser

    return parser.parseFile(io.StringIO(data.decode()))  # type: ignore[no-any-return]


def gift_text(raw: str) -> str:
    """A GIFT field's shown text: the parser's own unescaping, GIFT's \\n, then the HTML."""
    from pygiftparser.utils import transformSpecials

    return plain(transformSpecials(raw).replace("\\n", "\n"))


@pytest.mark.parametrize("name", NAMES)
def test_gift_reads_back_with_pygiftparser(name: str) -> None:
    questions = quiz(name)
    parsed = gift_parse(export(questions, "gift"))
    assert len(parsed) == len(questions)
    for q, got in zip(questions, parsed, strict=True):
        assert got.valid, got.source  # type: ignore[attr-defined]
        assert got.markup == "html"  # type: ignore[attr-defined]
        assert type(got.answers).__name__ == "SelectSet"  # type: ignore[attr-defined]
        answers = got.answers.answers  # type: ignore[attr-defined]
        assert [gift_text(a.answer) for a in answers] == q.options
        assert [a.fraction for a in answers] == [100 if i == q.answer else 0 for i in range(4)]
        assert gift_text(answers[q.answer].feedback) == "Correct."
        text = gift_text(got.text)  # type: ignore[attr-defined]
        assert text.startswith(q.prompt.replace("`", ""))  # <pad> shown as written
        assert q.code == "" or text.endswith(q.code)
        feedback = gift_text(got.generalFeedback)  # type: ignore[attr-defined]
        assert q.verified_by in feedback and q.solution[-1] in feedback
        assert got.cat == "$course$/top/rnntrace/seed_0_mixed"  # type: ignore[attr-defined]


# The steps of Moodle's own GIFT import (question/format/gift/format.php: readquestion, for a
# multichoice question), kept in its order: escaped characters to placeholders, the name, the
# answer section between the first { and }, general feedback after the last ####, answers split
# on ~ (= marks the right one), each answer's feedback after #, then the placeholders back.
_PLACEHOLDERS = [("\\:", "&&058;"), ("\\#", "&&035;"), ("\\=", "&&061;"),
                 ("\\{", "&&123;"), ("\\}", "&&125;"), ("\\~", "&&126;"), ("\\n", "&&010")]


def moodle_gift(block: str) -> dict[str, object]:
    lines = [" " if line.strip().startswith("//") else line for line in block.split("\n")]
    text = "\n".join(lines).strip().replace("\\\\", "&&092;")
    for escaped, placeholder in _PLACEHOLDERS:
        text = text.replace(escaped, placeholder)
    text = text.replace("&&092;", "\\")

    def post(part: str) -> str:
        for escaped, placeholder in _PLACEHOLDERS:
            part = part.replace(placeholder, escaped[1] if escaped != "\\n" else "\n")
        return part.strip()

    def with_format(part: str) -> tuple[str, str]:
        if part.startswith("["):
            end = part.index("]")
            return part[1:end], post(part[end + 1:])
        return "moodle", post(part)

    assert text.startswith("::")
    text = text[2:]
    name, text = text[: text.index("::")], text[text.index("::") + 2:].strip()
    start, finish = text.index("{"), text.index("}")
    answertext = text[start + 1: finish].strip()
    questiontext = text[:start] + text[finish + 1:]
    general = ""
    if "####" in answertext:
        cut = answertext.rindex("####")
        general, answertext = answertext[cut + 4:], answertext[:cut].strip()
    fmt, question = with_format(questiontext.strip())
    assert "~" in answertext  # only multichoice answers contain a tilde
    answers = []
    for answer in answertext.replace("=", "~=").split("~"):
        answer = answer.strip()
        if not answer:
            continue
        weight = 1.0 if answer.startswith("=") else 0.0
        answer = answer[1:] if answer.startswith("=") else answer
        text_part, _, feedback = answer.partition("#")
        answers.append({"text": with_format(text_part.strip())[1], "fraction": weight,
                        "feedback": with_format(feedback.strip())[1]})
    return {"name": post(name), "format": fmt, "questiontext": question,
            "generalfeedback": with_format(general.strip())[1], "answers": answers}


@pytest.mark.parametrize("name", NAMES)
def test_gift_reads_back_as_moodle_reads_it(name: str) -> None:
    questions = quiz(name)
    text = export(questions, "gift").decode()
    blocks = [b for b in text.split("\n\n") if "::" in b]
    assert len(blocks) == len(questions)
    for q, block in zip(questions, blocks, strict=True):
        got = moodle_gift(block)
        assert got["format"] == "html"
        answers = got["answers"]
        assert isinstance(answers, list)
        assert [plain(str(a["text"])) for a in answers] == q.options
        assert [a["fraction"] for a in answers] == [1.0 if i == q.answer else 0.0
                                                  for i in range(4)]
        shown = plain(str(got["questiontext"]))
        assert shown.startswith(q.prompt.replace("`", "")) and shown.endswith(q.code)
        general = plain(str(got["generalfeedback"]))
        assert q.verified_by in general and q.solution[-1] in general


# ---- QTI 1.2: pyslet -----------------------------------------------------------------------


@pytest.fixture
def quiet_pyslet() -> Iterator[None]:
    # pyslet logs each plain-text HTML fragment ("Unexpected data in body") at WARNING, and
    # warns when its own code calls its own functions by their pre-PEP 8 names.
    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"pyslet\.", DeprecationWarning)
        warnings.filterwarnings("ignore", r".*PackagePath", DeprecationWarning)
        yield
    logging.disable(logging.NOTSET)


def qti_items(package: bytes, tmp_path: Path) -> tuple[list[tuple[str, str]], list[object]]:
    """The manifest's resources and the assessment's items, read by pyslet."""
    import pyslet.imscpv1p2 as imscp
    import pyslet.qtiv1.xml as qtiv1

    path = tmp_path / "quiz.zip"
    path.write_bytes(package)
    cp = imscp.ContentPackage(str(path))
    try:
        resources = [(r.type, str(r.href)) for r in cp.manifest.root.Resources.Resource]
        doc = qtiv1.QTIDocument()
        href = resources[0][1]
        with zipfile.ZipFile(path) as archive:
            doc.read(src=io.BytesIO(archive.read(href)))
    finally:
        cp.close()
    items = list(doc.root.Assessment.SectionMixin[0].SectionItemMixin)
    return resources, items


def _mattext(material: object) -> str:
    return str(material.contentChildren[0].get_value())  # type: ignore[attr-defined]


@pytest.mark.usefixtures("quiet_pyslet")
@pytest.mark.parametrize("name", NAMES)
def test_qti_package_reads_back_with_pyslet(name: str, tmp_path: Path) -> None:
    questions = quiz(name)
    resources, items = qti_items(export(questions, "qti"), tmp_path)
    assert len(resources) == 1 and resources[0][0] == "imsqti_xmlv1p2"
    assert len(items) == len(questions)
    for q, item in zip(questions, items, strict=True):
        meta = {f.FieldLabel.get_value(): f.FieldEntry.get_value()
                for f in item.ItemMetadata.QTIMetadata[0].QTIMetadataField}  # type: ignore[attr-defined]
        assert meta["question_type"] == "multiple_choice_question"
        assert meta["rnntrace_concept"] == concept_of(q.template)
        prompt, response = item.Presentation.contentChildren  # type: ignore[attr-defined]
        text = _mattext(prompt)
        assert q.code == "" or plain(text).endswith(q.code)
        labels = response.render.contentChildren
        assert [label.ident for label in labels] == ["A", "B", "C", "D"]
        shown = [plain(_mattext(next(c for c in label.get_children() if not isinstance(c, str))))
                 for label in labels]
        assert shown == q.options
        # The key: the one response the processing scores 100.
        scored = [cond for cond in item.ResProcessing[0].ConditionMixin  # type: ignore[attr-defined]
                  if cond.SetVar]
        assert len(scored) == 1 and scored[0].SetVar[0].get_value() == "100"
        (equal,) = scored[0].ConditionVar.get_children()
        assert equal.responseIdentifier == response.ident
        assert equal.get_value() == "ABCD"[q.answer]
        feedback = {fb.ident: _mattext(fb.contentChildren[0].contentChildren[0])
                    for fb in item.ItemFeedback}  # type: ignore[attr-defined]
        general = plain(feedback["general_fb"])
        assert q.verified_by in general and q.solution[-1] in general
        assert plain(feedback[f"{'ABCD'[q.answer]}_fb"]) == "Correct."


def test_qti_package_is_the_same_bytes_for_the_same_seed() -> None:
    questions = quiz("gru")
    assert export(questions, "qti", seed=4) == export(questions, "qti", seed=4)
    assert export(questions, "qti", seed=4) != export(questions, "qti", seed=5)


# ---- Anki: the anki package's own importer -------------------------------------------------


def anki_import(package: bytes, folder: Path, collection: object | None = None) -> object:
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    path = folder / "deck.apkg"
    path.write_bytes(package)
    col = collection or Collection(str(folder / "collection.anki2"))
    col.import_anki_package(ImportAnkiPackageRequest(  # type: ignore[attr-defined]
        package_path=str(path), options=ImportAnkiPackageOptions(with_scheduling=False)))
    return col


@pytest.mark.parametrize("name", ["lstm", "text"])
def test_anki_deck_imports_into_a_collection(name: str, tmp_path: Path) -> None:
    questions = quiz(name)
    col = anki_import(export(questions, "anki"), tmp_path)
    try:
        note_ids = col.find_notes("")  # type: ignore[attr-defined]
        assert len(note_ids) == len(questions) == col.card_count()  # type: ignore[attr-defined]
        notes = {n["Id"]: n for n in (col.get_note(i) for i in note_ids)}  # type: ignore[attr-defined]
        for q in questions:
            note = notes[q.id]
            assert note.note_type()["name"] == "rnntrace question (verified by PyTorch)"
            assert plain(note["Answer"]) == f"{'ABCD'[q.answer]}: {q.answer_text}"
            assert q.verified_by in plain(note["Solution"])
            assert q.code == "" or plain(note["Question"]).endswith(q.code)
            assert note["Concept"] == concept_of(q.template) and note["Level"] == q.level
            assert {"rnntrace", q.level} <= set(note.tags)
        card = col.get_card(col.find_cards("")[0])  # type: ignore[attr-defined]
        assert col.decks.name(card.did) == "rnntrace::a test model seed 0"  # type: ignore[attr-defined]
        assert "<ol" in card.question() and q.verified_by not in card.question()
    finally:
        col.close()  # type: ignore[attr-defined]


def test_anki_reimport_of_the_same_seed_updates_instead_of_duplicating(tmp_path: Path) -> None:
    questions = quiz("rnn")
    col = anki_import(export(questions, "anki"), tmp_path)
    try:
        anki_import(export(questions, "anki"), tmp_path, col)
        assert len(col.find_notes("")) == len(questions)  # type: ignore[attr-defined]
    finally:
        col.close()  # type: ignore[attr-defined]


# ---- the command line --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["moodle", "gift", "qti", "anki"])
def test_cli_writes_each_format_and_the_same_seed_gives_the_same_questions(
    fmt: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert main(["quiz", "--n", "4", "--seed", "7", "--export", fmt, "--out", str(out)]) == 0
    if fmt == "anki":  # the collection inside carries the time of writing; its notes do not
        notes = []
        for path in (first, second):
            folder = path.parent / f"{path.name}-collection"
            folder.mkdir()
            col = anki_import(path.read_bytes(), folder)
            try:
                notes.append(sorted((n.guid, tuple(n.fields)) for n in (
                    col.get_note(i) for i in col.find_notes(""))))  # type: ignore[attr-defined]
            finally:
                col.close()  # type: ignore[attr-defined]
        assert notes[0] == notes[1] and len(notes[0]) == 4
    else:
        assert first.read_bytes() == second.read_bytes()


def test_cli_binary_export_needs_a_file_and_unknown_formats_are_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["quiz", "--export", "qti"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err
    assert main(["quiz", "--export", "blackboard"]) == 2
    assert "moodle, gift, qti, anki" in capsys.readouterr().err
