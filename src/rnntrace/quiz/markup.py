"""A question as HTML, for the systems teachers import into: prompt, code, options, proof.

Moodle, Canvas, Blackboard and Anki all show HTML. Every export builds its text here, so a
question reads the same wherever it lands: code in `<pre><code class="language-python">`,
inline `backticks` as `<code>`, and the general feedback holding the worked solution and what
PyTorch was run to prove the key. Everything from a question is escaped: a prompt quoting
`<class 'torch.Tensor'>` shows as text, never as a tag.
"""

from __future__ import annotations

import html
import re

from rnntrace.records import Question

LETTERS = "ABCD"
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def inline(text: str) -> str:
    """Plain text with `backtick` spans as <code>, everything else escaped."""
    parts = _INLINE_CODE.split(text)
    # split() alternates text, code, text, ...: odd indices are the spans inside backticks.
    escaped = [html.escape(part, quote=False) for part in parts]
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(escaped))


def code_block(code: str) -> str:
    return f'<pre><code class="language-python">{html.escape(code, quote=False)}</code></pre>'


def question_html(q: Question) -> str:
    """The prompt, then the code it is about."""
    text = f"<p>{inline(q.prompt)}</p>"
    return text + code_block(q.code) if q.code else text


def option_html(q: Question, index: int) -> str:
    """One option: code shown as code when the options are code."""
    option = q.options[index]
    if not q.options_are_code:
        return html.escape(option, quote=False)
    if "\n" in option:
        return code_block(option)
    return f"<code>{html.escape(option, quote=False)}</code>"


def proof_line(q: Question) -> str:
    return f"Verified by running PyTorch: {q.verified_by}"


def feedback_html(q: Question) -> str:
    """The general feedback: the key, the worked solution and PyTorch's proof."""
    steps = "".join(f"<li>{inline(step)}</li>" for step in q.solution)
    return (
        f"<p><strong>Answer: {LETTERS[q.answer]}</strong></p>"
        f"<ol>{steps}</ol>"
        f"<p><em>{inline(proof_line(q))}</em></p>"
    )


def wrong_feedback_html(q: Question) -> str:
    """What a wrong choice is told: the hint, not yet the answer."""
    return f"<p>Not this one. Hint: {inline(q.hint)}</p>"


def title(q: Question, number: int) -> str:
    """A short name for a question bank: number, level and template."""
    return f"{number:02d} {q.level} · {q.template}"
