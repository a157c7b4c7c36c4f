"""A QTI 1.2 package: the zip Canvas ("QTI .zip file") and other QTI 1.2 importers read.

No maintained writer carries general feedback (qti-package-maker's Canvas engine writes none;
text2qti needs its own Markdown dialect), so this follows the IMS QTI ASI 1.2 specification and
the IMS Content Packaging 1.1 manifest directly, in the flavour Canvas exports:

    imsmanifest.xml           one resource of type imsqti_xmlv1p2 pointing at
    <ident>/<ident>.xml       questestinterop > assessment > section > item (one per question)

Each item is a `multiple_choice_question`: the prompt and code as HTML `mattext`, one
`response_label` per option (idents A–D, the sheet's letters), `resprocessing` that sets SCORE
to 100 for the key only, and `itemfeedback` blocks: the general feedback (worked solution and
PyTorch's proof), shown after any answer, and one per option. The zip's entries carry a fixed
date, so the same seed gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET
import zipfile

from rnntrace.quiz import markup
from rnntrace.quiz.topics import concept_of
from rnntrace.records import Question

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_QTI_XSD = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
_CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
_RESPONSE = "response1"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no clock in the bytes


def _sub(parent: ET.Element, name: str, attrs: dict[str, str] | None = None,
         text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, name, attrs or {})
    node.text = text
    return node


def _html(parent: ET.Element, html: str) -> None:
    material = _sub(parent, "material")
    _sub(material, "mattext", {"texttype": "text/html"}, html)


def _metadata(parent: ET.Element, fields: list[tuple[str, str]]) -> None:
    meta = _sub(parent, "qtimetadata")
    for label, entry in fields:
        field = _sub(meta, "qtimetadatafield")
        _sub(field, "fieldlabel", text=label)
        _sub(field, "fieldentry", text=entry)


def _feedback_ref(parent: ET.Element, ident: str) -> None:
    _sub(parent, "displayfeedback", {"feedbacktype": "Response", "linkrefid": ident})


def _item(section: ET.Element, q: Question, number: int, ident: str) -> None:
    item = _sub(section, "item", {"ident": ident, "title": markup.title(q, number)})
    meta = _sub(item, "itemmetadata")
    letters = markup.LETTERS[: len(q.options)]
    _metadata(meta, [("question_type", "multiple_choice_question"),
                     ("points_possible", "1.0"),
                     ("original_answer_ids", ",".join(letters)),
                     ("rnntrace_level", q.level),
                     ("rnntrace_concept", concept_of(q.template))])
    presentation = _sub(item, "presentation")
    _html(presentation, markup.question_html(q))
    response = _sub(presentation, "response_lid", {"ident": _RESPONSE, "rcardinality": "Single"})
    choices = _sub(response, "render_choice")
    for index, letter in enumerate(letters):
        _html(_sub(choices, "response_label", {"ident": letter}), markup.option_html(q, index))

    processing = _sub(item, "resprocessing")
    outcomes = _sub(processing, "outcomes")
    _sub(outcomes, "decvar", {"maxvalue": "100", "minvalue": "0", "varname": "SCORE",
                              "vartype": "Decimal"})
    always = _sub(processing, "respcondition", {"continue": "Yes"})
    _sub(_sub(always, "conditionvar"), "other")
    _feedback_ref(always, "general_fb")
    for letter in letters:  # each option's own feedback, before the scoring condition
        shown = _sub(processing, "respcondition", {"continue": "Yes"})
        _sub(_sub(shown, "conditionvar"), "varequal", {"respident": _RESPONSE}, letter)
        _feedback_ref(shown, f"{letter}_fb")
    right = _sub(processing, "respcondition", {"continue": "No"})
    _sub(_sub(right, "conditionvar"), "varequal", {"respident": _RESPONSE}, letters[q.answer])
    _sub(right, "setvar", {"action": "Set", "varname": "SCORE"}, "100")

    feedbacks = [("general_fb", markup.feedback_html(q))] + [
        (f"{letter}_fb",
         "<p>Correct.</p>" if index == q.answer else markup.wrong_feedback_html(q))
        for index, letter in enumerate(letters)
    ]
    for fb_ident, html in feedbacks:
        block = _sub(item, "itemfeedback", {"ident": fb_ident})
        _html(_sub(block, "flow_mat"), html)


def _xml(root: ET.Element, namespace: str) -> bytes:
    """The document with `namespace` declared as the default one on its root element."""
    # ElementTree's default_namespace refuses unqualified attribute names (ident, title, ...),
    # so the declaration is written as an attribute; a namespace-aware reader sees the same tree.
    root.set("xmlns", namespace)
    root.set("xmlns:xsi", _XSI)
    ET.indent(root)
    body = ET.tostring(root, "unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


def assessment_xml(questions: list[Question], *, ident: str, title: str) -> bytes:
    """The questestinterop document: one assessment, one section, one item per question."""
    root = ET.Element("questestinterop",
                      {"xsi:schemaLocation": f"{QTI_NS} {_QTI_XSD}"})
    assessment = _sub(root, "assessment", {"ident": ident, "title": title})
    _metadata(assessment, [("cc_maxattempts", "1")])
    section = _sub(assessment, "section", {"ident": "root_section"})
    for number, q in enumerate(questions, start=1):
        _item(section, q, number, f"{ident}_{q.id}")
    return _xml(root, QTI_NS)


def manifest_xml(ident: str, href: str) -> bytes:
    """The IMS content package manifest naming the assessment file."""
    root = ET.Element("manifest", {"identifier": f"{ident}_manifest",
                                   "xsi:schemaLocation": f"{CP_NS} {_CP_XSD}"})
    meta = _sub(root, "metadata")
    _sub(meta, "schema", text="IMS Content")
    _sub(meta, "schemaversion", text="1.1.3")
    _sub(root, "organizations")
    resources = _sub(root, "resources")
    resource = _sub(resources, "resource", {"identifier": ident, "type": "imsqti_xmlv1p2",
                                            "href": href})
    _sub(resource, "file", {"href": href})
    return _xml(root, CP_NS)


def package_ident(title: str) -> str:
    """An identifier from the quiz's title (its model, level and seed): the same quiz, the same
    ident, so a re-import is recognised as the same assessment."""
    digest = hashlib.sha256(title.encode()).hexdigest()[:16]
    return f"rnntrace_{digest}"


def qti_package(questions: list[Question], *, title: str) -> bytes:
    """The zip: imsmanifest.xml and the assessment, with fixed entry dates."""
    ident = package_ident(title)
    href = f"{ident}/{ident}.xml"
    files = [("imsmanifest.xml", manifest_xml(ident, href)),
             (href, assessment_xml(questions, ident=ident, title=title))]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
