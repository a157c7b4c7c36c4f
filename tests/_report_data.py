"""Real runs for the report tests: a lesson run with its steps recomputed by hand, a quiz whose
answers come from the run, and a run whose labels were written by someone hostile."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from rnntrace.config import ModelConfig, TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.experiment import Run, run_experiment, run_lesson
from rnntrace.records import Trace
from rnntrace.render.html import REPORT, fmt_shape, fmt_values, write_report

# Each payload sets window.__pwned if the page ever treats it as markup or script.
HOSTILE_CLASSES = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "$\\frac{a}{b$ & </script><svg onload=window.__pwned=3>",
]
HOSTILE_FEATURES = [
    '"><img src=x onerror=window.__pwned=4>',
    "</title><script>window.__pwned=5</script>",
    "x3",
    "{{ 7*7 }}",
    "]]></text><script>window.__pwned=6</script>",
]


@torch.no_grad()
def rnn_steps(run: Run) -> list[Any]:
    """Step t of the traced sequence through a one-layer tanh RNN, by hand from its weights."""
    # Imported here: only needed where the run itself did not record its steps.
    from rnntrace.records import StepDetail

    model, p = run.model, run.trace.prediction
    assert p is not None and model.config.cell == "rnn" and model.config.num_layers == 1
    w_ih, w_hh = model.rnn.weight_ih_l0, model.rnn.weight_hh_l0  # (H, F), (H, H)
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0  # (H,)
    z = model.standardize(torch.tensor(p.inputs))  # (T, F)
    h = torch.zeros(model.config.hidden_size)  # h_0
    steps = []
    for t in range(p.length):
        wx, wh = w_ih @ z[t], w_hh @ h  # (H,), (H,)
        a = wx + wh + b
        h_new = torch.tanh(a)
        steps.append(
            StepDetail(
                t=t + 1,
                x=z[t].tolist(),
                h_prev=h.tolist(),
                h=h_new.tolist(),
                equation=[
                    f"W_ih · x_{t + 1} = {fmt_values(wx.tolist(), limit=16)}",
                    f"W_hh · h_{t} = {fmt_values(wh.tolist(), limit=16)}",
                    f"b_ih + b_hh = {fmt_values(b.tolist(), limit=16)}",
                    f"h_{t + 1} = tanh(sum) = {fmt_values(h_new.tolist(), limit=16)}",
                ],
                gates={},
            )
        )
        h = h_new
    return steps


def lesson_quiz(trace: Trace) -> list[Any]:
    """Questions whose answers are read off the run's own data flow."""
    from rnntrace.records import QuizItem

    rnn = next(s for s in trace.data_flow if s.name.startswith("RNN"))
    out = rnn.output_shape
    wrong = [[out[1], out[0], out[2]], [out[0], out[2]], [out[0], out[1], 2 * out[2]]]
    hidden = trace.config["model"]["hidden_size"]
    classes = trace.config["model"]["n_classes"]
    params = hidden * classes + classes
    return [
        QuizItem(
            prompt="What shape is the RNN layer's output for the whole data set?",
            options=[fmt_shape(out)] + [fmt_shape(w) for w in wrong],
            answer=0,
            hint="batch_first=True: batch, then time, then one value per hidden unit.",
            solution=[f"The output holds h_t for every sequence and step: {fmt_shape(out)}."],
            level="beginner",
            topic="shapes",
        ),
        QuizItem(
            prompt="How many parameters does the Linear layer after the RNN have?",
            options=[str(hidden * classes), str(params), str(hidden + classes)],
            answer=1,
            hint="A weight per (hidden unit, class) pair, plus a bias per class.",
            solution=[f"{hidden} × {classes} weights + {classes} biases = {params}."],
            level="beginner",
            topic="parameters",
        ),
    ]


def lesson_run(out: Path, epochs: int = 2) -> Run:
    """The demo's lesson, its steps and quiz filled here when the run did not fill them."""
    run = run_lesson(epochs=epochs, out=out)
    if not run.trace.steps:
        run.trace.steps = rnn_steps(run)
    if not run.trace.quiz:
        run.trace.quiz = lesson_quiz(run.trace)
    write_report(run.trace, out / REPORT)
    return run


def hostile_run(out: Path) -> Run:
    """A real (small) run whose class names, feature names, ids and source are attacks."""
    data = dataclasses.replace(
        lesson(n_sequences=90, seed=1),
        class_names=list(HOSTILE_CLASSES),
        feature_names=list(HOSTILE_FEATURES),
        ids=[f"<b>seq</b>{i}</script>" for i in range(90)],
        source='<iframe src="https://example.com/x"></iframe>',
    )
    run = run_experiment(data, ModelConfig(), TrainConfig(epochs=1, seed=1), out=out)
    item = run.trace.quiz[0] if run.trace.quiz else lesson_quiz(run.trace)[0]
    run.trace.quiz = [
        dataclasses.replace(
            item,
            prompt=HOSTILE_CLASSES[0],
            options=[HOSTILE_CLASSES[1], HOSTILE_FEATURES[0]],
            answer=0,
            hint=HOSTILE_FEATURES[1],
            solution=[HOSTILE_CLASSES[2]],
            level="<u>level</u>",
        )
    ]
    if not run.trace.steps:
        run.trace.steps = rnn_steps(run)
    run.trace.training[0].observation = '<img src=x onerror="window.__pwned=7">'
    write_report(run.trace, out / REPORT)
    return run
