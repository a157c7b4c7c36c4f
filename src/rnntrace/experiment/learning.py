"""The model `rnntrace learn` teaches from: a run's, or the lesson's layer at its seeded weights."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from rnntrace.data.synthetic import lesson
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.quiz.rounds import Lesson, model_name
from rnntrace.quiz.setting import lesson_setting, setting_from_run
from rnntrace.run.directory import load_config
from rnntrace.run.files import read_trace
from rnntrace.tracing.prediction import trace_steps


def load_lesson(run: Path | None) -> Lesson:
    """A run's model and the step records of its trace; without a run, the lesson's
    nn.RNN(5, 8) at its seeded initial weights reading the lesson's first sequence."""
    if run is not None:
        setting = setting_from_run(load_config(run))
        name = model_name(setting.model, setting.batch, setting.steps)
        return Lesson(name, setting.model, setting.batch, setting.steps, read_trace(run).steps)
    setting = lesson_setting()
    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        torch.manual_seed(0)
        model = SequenceClassifier(**dataclasses.asdict(setting.model))
    records, _ = trace_steps(model, lesson(n_sequences=3, steps=setting.steps), 0)
    return Lesson(f"the lesson: {setting.layer_code()} at its seeded initial weights",
                  setting.model, setting.batch, setting.steps, records)
