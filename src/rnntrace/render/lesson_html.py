"""The report's lesson before its questions: a worked step of the run's own layer, then the next
step faded, with blanks the page checks in the browser (render/worked.py builds both)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from rnntrace.render.formatting import term_lines
from rnntrace.render.worked import TOLERANCE, lesson_steps

if TYPE_CHECKING:  # a view knows the records it reads for type checking only
    from rnntrace.records import Trace


def lesson_html(trace: Trace, env: Any) -> str:
    """The lesson's HTML, or "" when the trace has no step records to teach from."""
    if not trace.steps:
        return ""
    worked, faded = lesson_steps(trace.steps, seed=_seed(trace))
    # The faded table leaves out the results the learner is asked for.
    asked = {line.symbol.split("[")[0] for line in faded.unit_lines}
    template = resources.files("rnntrace.render") / "lesson.html.j2"
    return str(env.from_string(template.read_text(encoding="utf-8")).render(
        worked=worked, faded=faded, tolerance=TOLERANCE,
        equation_lines=[line for eq in worked.with_numbers for line in term_lines(eq)],
        faded_terms=[t for t in faded.terms if t.symbol not in asked],
    ))


def _seed(trace: Trace) -> int:
    """The run's seed, so the unit followed is the one `rnntrace learn RUN` follows."""
    return trace.config.train.seed if trace.config is not None else 0
