"""A quiz question about a configuration, its key proved by running PyTorch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rnntrace.records.serial import from_dict
from rnntrace.records.shown import Shown

QUIZ_LEVELS = ("easy", "medium", "hard")


@dataclass
class Question(Shown):
    """One multiple-choice question about a configuration, with its key proved by PyTorch."""

    id: str  # unique within a quiz: "<number>-<template>"
    template: str  # the template it came from, e.g. "output_shape"
    level: str  # easy | medium | hard
    prompt: str
    code: str  # a snippet shown under the prompt; "" when there is none
    options: list[str]  # four distinct choices
    answer: int  # index of the key in options
    hint: str  # one line that points the way without giving the answer
    solution: list[str]  # worked steps: "Step 1: …", …, "Final answer: …"
    verified_by: str  # what was run to prove the key, or why it is reasoning only
    # The configuration the question is about: cell, sizes, layout and input shape.
    setting: dict[str, Any] = field(default_factory=dict)
    options_are_code: bool = False  # render the options as code

    @property
    def answer_letter(self) -> str:
        return "ABCD"[self.answer]

    @property
    def answer_text(self) -> str:
        return self.options[self.answer]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Question:
        return from_dict(cls, raw)

    def _renderables(self) -> list[Any]:
        from rnntrace.render.notebook import question_renderables

        return question_renderables(self)


