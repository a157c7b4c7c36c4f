"""The HTML report: one self-contained, offline page of a Trace (Jinja2 template beside this file).

Safe with hostile data: the template autoescapes every string, the figures' text is escaped by
the SVG writer, the JSON data island cannot close its <script>, and a Content-Security-Policy
lets the page run only its own script (by hash) and load nothing from anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from rnntrace.config.cells import cell_spec, typeset
from rnntrace.config.settings import ModelConfig, front_end_name
from rnntrace.render import report_figures as figures_svg
from rnntrace.render.condense import condense
from rnntrace.render.formatting import (
    averaging_sentence,
    fmt_number,
    fmt_shape,
    fmt_values,
    grouped_calls,
    recurrent_reads,
    term_lines,
    unit_names,
)

if TYPE_CHECKING:
    from rnntrace.records import PredictionTrace, Question, StepRecord, Trace
    from rnntrace.records.explanation import Explanation

__all__ = ["config_sections", "content_security_policy", "json_island", "render_report"]


def render_report(trace: Trace, explanation: Explanation | None = None) -> str:
    """The report page as one HTML string: no external file, font, script or request.

    With an `explanation` (attribution.explain) the page gains its "Why this prediction"
    section, linked to the heatmap and the step-through.
    """
    import jinja2
    from markupsafe import Markup

    from rnntrace.render.lesson_html import lesson_html
    from rnntrace.render.tokens_html import token_rows

    here = resources.files("rnntrace.render")
    script = (here / "report.js").read_text(encoding="utf-8")
    explained: dict[str, Any] | None = None
    number_lines: list[str] = []
    if explanation is not None and explanation.regression is not None:
        from rnntrace.render.explain_text import target_lines

        number_lines = target_lines(explanation.regression)  # the terminal's sentences
    elif explanation is not None:
        from rnntrace.render.explain_html import explain_view

        explained = explain_view(explanation, trace)
        script += (here / "explain.js").read_text(encoding="utf-8")
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_number
    env.filters["shape"] = fmt_shape
    env.filters["values"] = lambda v, digits=3, limit=6: fmt_values(v, digits, limit)
    template = env.from_string((here / "report.html.j2").read_text(encoding="utf-8"))

    model = model_facts(trace)
    figures: dict[str, Markup] = {}
    if trace.training:
        loss, accuracy = figures_svg.training_figures(trace.training, score_words(trace)["name"])
        figures |= {"loss": Markup(loss), "accuracy": Markup(accuracy)}
    if trace.dynamics is not None and trace.dynamics.steps > 1:
        figures["dynamics"] = Markup(figures_svg.dynamics_figure(trace.dynamics))
    units: list[str] = []
    p = trace.prediction
    if p is not None and p.length > 0:
        # a user's model may feed its head something else than the top layer's states
        width = len(p.last_hidden) if trace.config is not None else len(p.hidden_states[0])
        units = unit_names(width, model.bidirectional)
        figures |= {
            "inputs": Markup(figures_svg.inputs_figure(p)),
            "heatmap": Markup(figures_svg.heatmap_figure(p, units)),
            "softmax": Markup(figures_svg.softmax_figure(p)),
        }
    head: dict[str, Any] = {}
    if trace.head is not None:
        from rnntrace.render.head_html import head_view

        features = (trace.prediction.feature_names if trace.prediction is not None
                    else trace.config.data.feature_names if trace.config is not None else None)
        head, head_figures = head_view(trace.head, features)
        figures |= {k: Markup(v) for k, v in head_figures.items()}
    island = island_data(trace, units)
    return template.render(
        trace=trace,
        head=head,
        score=score_words(trace),
        step_count=len(island["hidden"]) if trace.steps else 0,  # no cell: nothing to step
        # What x_t holds when a front end made it (windows, channels), beside the steps.
        recurrent_reads=(recurrent_reads(trace.config.model, len(trace.steps[0].x))
                         if trace.config is not None and trace.steps
                         and front_end_name(trace.config.model) != "none" else ""),
        call_groups=grouped_calls(trace.module_calls.calls) if trace.module_calls else [],
        title=_title(trace),
        config_sections=config_sections(
            trace.config.to_dict() if trace.config is not None else model_description(trace)
        ),
        figures=figures,
        confusion=confusion_cells(trace.test.confusion_matrix) if trace.test else [],
        quiz=[quiz_view(q) for q in trace.quiz],
        lesson=Markup(lesson_html(trace, env)),
        letters="ABCDEFGHIJ",
        units=units,
        generic_equation=generic_equation(model),
        island=Markup(json_island(island | (
            {"explain": {k: explained[k] for k in ("cases", "units", "grad_norm")}}
            if explained is not None else {}))),
        explain=explained,
        explain_number=number_lines,
        explain_figures=[Markup(f) for f in explained["figures"]] if explained else [],
        css=Markup((here / "report.css").read_text(encoding="utf-8")),
        script=Markup(script),
        csp=content_security_policy(script),
        meta=[(k, v) for k, v in trace.meta.items() if not isinstance(v, list | dict)],
        token_rows=token_rows(trace.tokens),
        averaging=(averaging_sentence(trace.averaging, _task(trace))
                   if trace.averaging is not None else ""),
        summary_name=summary_name(trace),
        epoch_rows=condense(trace.training),
        config_line=config_line(trace),
        summary_label=summary_name(trace).split(" (")[0].removeprefix("the "),
    )


def score_words(trace: Trace) -> dict[str, str]:
    """What the training table's accuracy columns hold for this run's task (task.py)."""
    task = trace.config.model.task if trace.config is not None else "classify"
    return {
        "classify": {"name": "Accuracy", "caption": "Accuracy per epoch: the share of "
                     "sequences classified correctly."},
        "regress": {"name": "R²", "caption": "R² per epoch: 1 − squared error / squared "
                    "distance from the training mean; 0 is always predicting that mean."},
        "steps": {"name": "Frame accuracy", "caption": "Frame accuracy per epoch: the share of "
                  "real steps labelled correctly."},
    }[task]


SUMMARY_NAMES = {
    "last": "the last hidden state",
    "mean": "the mean summary (each unit's mean over the real steps)",
    "max": "the max summary (each unit's largest value over the real steps)",
    "attention": "the attention summary (a learned weighting of the real steps)",
}


def summary_name(trace: Trace) -> str:
    """What the classifier reads, in words: the summary the model uses, not always the last
    state."""
    kind = trace.config.model.summary if trace.config is not None else "last"
    return SUMMARY_NAMES.get(kind, f"the {kind} summary")


def content_security_policy(script: str) -> str:
    """Nothing may load, and only this exact script may run: injected markup stays inert."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def json_island(data: Any) -> str:
    """JSON for a <script type="application/json">: no <, > or & left to end the element."""
    text = json.dumps(_json_safe(data), ensure_ascii=False, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _json_safe(value: Any) -> Any:
    # JSON has no NaN or Infinity; a diverged run's numbers become null (shown as "–").
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def island_data(trace: Trace, units: list[str]) -> dict[str, Any]:
    """What the step-through explainer needs, from the Trace alone."""
    p: PredictionTrace | None = trace.prediction
    model = model_facts(trace)
    data = trace.config.data if trace.config is not None else None
    if p is None and trace.steps:  # a model without classes: the steps alone carry the values
        first = [s for s in trace.steps if s.layer == 0 and s.direction == "forward"]
        return {
            "cell": model.cell, "bidirectional": False, "num_layers": model.num_layers,
            "units": unit_names(len(first[0].h), False),
            "feature_names": [f"x{i}" for i in range(len(first[0].x))],
            "feature_mean": [], "feature_std": [], "inputs": [s.x for s in first],
            "tokens": [], "hidden": [s.h for s in first],
            "steps": [step_view(s) for s in trace.steps],
        }
    return {
        "cell": model.cell,
        "bidirectional": model.bidirectional,
        "num_layers": model.num_layers,
        "units": units,
        "feature_names": p.feature_names if p else [],
        # a user's model reads its inputs as given: no statistics, no standardised column
        "feature_mean": data.feature_mean if data is not None else [],
        "feature_std": data.feature_std if data is not None else [],
        "inputs": p.inputs if p else [],
        "tokens": p.tokens if p else [],
        "hidden": p.hidden_states if p else [],
        "steps": [step_view(s) for s in trace.steps],
    }


def step_view(step: StepRecord) -> dict[str, Any]:
    """One recurrent step as the step-through reads it: t from 1, equation lines with numbers."""
    return {
        "t": step.step,
        "layer": step.layer,
        "direction": step.direction,
        "x": step.x,
        "h_prev": step.h_prev,
        "h": step.h,
        "equation": [line for equation in step.with_numbers for line in term_lines(equation)],
        "gates": step.gates,
        "c_prev": step.c_prev,
        "c": step.c,
    }


def quiz_view(question: Question) -> dict[str, Any]:
    """One question as the page shows it, its key checked to point at one of its options."""
    options = [str(o) for o in question.options]
    answer = int(question.answer)
    return {
        "prompt": question.prompt,
        "code": question.code,
        "options": options,
        "options_are_code": question.options_are_code,
        "answer": answer if 0 <= answer < len(options) else None,
        "hint": question.hint,
        "solution": list(question.solution),
        "level": question.level,
        "topic": question.template,
    }


def generic_equation(model: ModelConfig | ModelFacts) -> list[str]:
    spec = cell_spec(model.cell)
    return [typeset(line) for line in spec.equations(model.nonlinearity, model.proj_size)]


@dataclass
class ModelFacts:
    """What the page needs to know about the recurrent layer it explains."""

    cell: str
    nonlinearity: str
    bidirectional: bool
    num_layers: int
    proj_size: int
    hidden_size: int


def model_facts(trace: Trace) -> ModelConfig | ModelFacts:
    """rnntrace's own model settings, or those of a user's model's first recurrent layer."""
    if trace.config is not None:
        return trace.config.model
    r = trace.recomputation
    layer = trace.layers[0] if trace.layers else None
    return ModelFacts(
        cell=r.cell if r else "rnn",
        nonlinearity=r.nonlinearity if r else "tanh",
        bidirectional=r.bidirectional if r else False,
        num_layers=r.num_layers if r else 1,
        proj_size=layer.proj_size if layer else 0,
        hidden_size=len(trace.steps[0].h) if trace.steps else 0,
    )


def model_description(trace: Trace) -> dict[str, Any]:
    """A user's model, as the configuration section shows it: what it is, what it holds."""
    calls = trace.module_calls
    described: dict[str, Any] = {}
    if calls is not None:
        described["model"] = {
            "type": calls.model_type,
            "parameters": calls.n_parameters,
            "trainable": calls.n_trainable,
            "module calls": len(calls.calls),
        }
    described["recurrent layers"] = {
        layer.name: f"{layer.label}; read {layer.reading}" for layer in trace.layers
    }
    return described


def config_sections(config: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The configuration as titled tables of (setting, value); lists shortened to read."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    other: list[tuple[str, str]] = []
    for key, value in config.items():
        if isinstance(value, dict):
            sections.append((key, [(k, _setting(v)) for k, v in value.items()]))
        else:
            other.append((key, _setting(value)))
    if other:
        sections.append(("run", other))
    return sections


def config_line(trace: Trace) -> str:
    """The settings a reader looks for first, in one line; the section's cards hold them all."""
    if trace.config is None:
        return ""
    m, t, d = trace.config.model, trace.config.train, trace.config.data
    layers = f"{m.num_layers} layers" if m.num_layers > 1 else "1 layer"
    spec = m.task_spec
    # What the head reads and gives: a per-step head reads every step's output (no summary),
    # a regression head gives numbers (no classes).
    read = ("every step's output read" if spec.per_step
            else f"{summary_name(trace).split(' (')[0].removeprefix('the ')} read")
    gives = (f"{m.n_targets} target{'s' if m.n_targets != 1 else ''}" if spec.numeric
             else f"{m.n_classes} labels per step" if spec.per_step
             else f"{m.n_classes} classes")
    parts = [f"{'bidirectional ' if m.bidirectional else ''}{m.spec.display}, {m.hidden_size} "
             f"units, {layers}, {read}",
             f"{t.epochs} epochs, lr {t.lr:g}, batch {t.batch_size}",
             f"{d.n_sequences} sequences of up to {d.max_length} steps × {m.n_features} "
             f"features, {gives}"]
    if m.front_end_in_use != "none" or m.resample:
        parts[0] += f", front end {front_end_name(m)}"
    return " · ".join(parts)


def _setting(value: Any) -> str:
    if isinstance(value, list):
        return fmt_values(value, limit=12)
    return fmt_number(value) if isinstance(value, float) else str(value)


def confusion_cells(matrix: list[list[int]]) -> list[list[tuple[int, float]]]:
    """Each count with its share of the true class's row, for shading (the count is printed)."""
    rows = []
    for row in matrix:
        total = sum(row) or 1
        rows.append([(n, n / total) for n in row])
    return rows


def _title(trace: Trace) -> str:
    if trace.config is None:
        kind = trace.module_calls.model_type if trace.module_calls else "model"
        labels = list(dict.fromkeys(layer.label for layer in trace.layers))  # each once
        more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
        return f"rnntrace report: {kind}, " + ", ".join(labels[:3]) + more
    model, source = trace.config.model, trace.config.data.source
    return f"rnntrace report: {model.cell.upper()}({model.hidden_size}) on {source}"


def _task(trace: Trace) -> str:
    """The run's task (task.py); a user's own model traced with rt.trace has no config."""
    return trace.config.model.task if trace.config is not None else "classify"
