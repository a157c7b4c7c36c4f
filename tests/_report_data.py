"""Real runs for the report tests: a lesson run, and a run whose labels were written by someone
hostile."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.pipeline import run_experiment, run_lesson
from rnntrace.run.directory import Run
from rnntrace.run.files import REPORT
from rnntrace.run.report import write_report

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


def lesson_run(out: Path, epochs: int = 2) -> Run:
    """The demo's lesson, with its report.html written beside the trace as the CLI does."""
    run = run_lesson(epochs=epochs, out=out)
    write_report(run.trace, out / REPORT, explanation=run.explanation)
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
    item = run.trace.quiz[0]
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
    run.trace.training[0].observation = '<img src=x onerror="window.__pwned=7">'
    write_report(run.trace, out / REPORT, explanation=run.explanation)
    return run
