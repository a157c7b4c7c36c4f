"""The question bank: every template with its level, and make_quiz to draw a seeded quiz."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from rnntrace.config.settings import ModelConfig
from rnntrace.errors import ConfigError
from rnntrace.quiz import concepts, params, sequences, shapes
from rnntrace.quiz.draft import Draft
from rnntrace.quiz.setting import Setting, layer_setting, random_setting
from rnntrace.records import QUIZ_LEVELS, Question

LEVEL_CHOICES = (*QUIZ_LEVELS, "mixed")
_MAX_ROUNDS = 6  # passes over the bank before giving up on finding n distinct questions


@dataclass(frozen=True)
class Template:
    """A question template: its name, its level and the function that instantiates it."""

    name: str
    level: str
    make: Callable[[Setting, random.Random], Draft]


TEMPLATES: tuple[Template, ...] = (
    Template("output_shape", "easy", shapes.output_shape),
    Template("h_n_shape", "easy", shapes.h_n_shape),
    Template("constructor_order", "easy", params.constructor_order),
    Template("weight_sharing", "easy", params.weight_sharing),
    Template("concept_memory", "easy", concepts.concept_memory),
    Template("c_n_shape", "medium", shapes.c_n_shape),
    Template("batch_first_ignored", "medium", shapes.batch_first_ignored),
    Template("layers_directions", "medium", shapes.layers_directions),
    Template("gate_multiplier", "medium", params.gate_multiplier),
    Template("mismatch_error", "medium", sequences.mismatch_error),
    Template("last_state_index", "medium", sequences.last_state_index),
    Template("classifier_input", "medium", sequences.classifier_input),
    Template("rnn_equation", "medium", concepts.rnn_equation),
    Template("concept_clipping", "medium", concepts.concept_clipping),
    Template("h0_shape", "hard", shapes.h0_shape),
    Template("param_count", "hard", params.param_count),
    Template("bidirectional_last", "hard", sequences.bidirectional_last),
    Template("variable_lengths_code", "hard", sequences.variable_lengths_code),
)
TEMPLATE_BY_NAME = {t.name: t for t in TEMPLATES}


def make_question(
    template: Template, setting: Setting, rng: random.Random, number: int = 1
) -> Question:
    """Instantiate one template for one setting: a Question whose key PyTorch has confirmed."""
    draft = template.make(setting, rng)
    return Question(
        id=f"q{number}-{template.name}",
        template=template.name,
        level=template.level,
        prompt=draft.prompt,
        code=draft.code,
        options=draft.options,
        answer=draft.answer,
        hint=draft.hint,
        solution=draft.solution,
        verified_by=draft.verified_by,
        setting=setting.to_dict(),
        options_are_code=draft.options_are_code,
    )


def make_quiz(
    config: ModelConfig | None = None,
    *,
    n: int = 10,
    level: str = "mixed",
    seed: int = 0,
    input_shape: tuple[int, int, int] | None = None,
    exclude: tuple[str, ...] = (),
) -> list[Question]:
    """Draw n verified questions about `config` (random configurations when None).

    `input_shape` is the batch fed to the model, in its layout ((B, T, F) with batch_first);
    the lesson's (1000, 10, F) when omitted. The questions are about the model's recurrent
    layer as the model has it: behind a front end it reads the windows or the convolutions'
    channels, ceil(T / k) steps long (quiz.setting.layer_setting). Mixed quizzes run from easy
    to hard. The same arguments always give the same quiz. Fewer than n come back only when the
    bank has no more distinct questions for a fixed configuration at that level. `exclude`
    names templates left out (quiz.heads leaves out those about a classifier's head).
    """
    if level not in LEVEL_CHOICES:
        raise ConfigError(f"unknown level {level!r}: choose one of {', '.join(LEVEL_CHOICES)}")
    if n < 1:
        raise ConfigError(f"the quiz needs at least one question, got n={n}")
    if config is None and input_shape is not None:
        raise ConfigError("input_shape needs a config: it describes the batch fed to that model")
    # Behind a front end the layer reads the front end's output: its questions use those sizes.
    base = None if config is None else layer_setting(config, input_shape)
    rng = random.Random(seed)
    pool = [t for t in TEMPLATES if level in ("mixed", t.level) and t.name not in exclude]
    drawn: list[tuple[Template, Setting, random.Random]] = []
    seen: set[tuple[str, str, str]] = set()
    picked: list[Question] = []
    for round_ in range(_MAX_ROUNDS):
        order = pool[:]
        rng.shuffle(order)
        for template in order:
            if len(picked) == n:
                break
            if base is None:
                setting = random_setting(rng)
            elif round_ == 0:
                setting = base
            else:  # the same model again, fed another batch
                setting = Setting(base.model, rng.randint(2, 64), rng.randint(2, 30))
            qrng = random.Random(f"{seed}:{len(drawn)}:{template.name}")
            drawn.append((template, setting, qrng))
            question = make_question(template, setting, qrng)
            fingerprint = (template.name, question.prompt, question.code)
            if fingerprint not in seen:
                seen.add(fingerprint)
                picked.append(question)
    if level == "mixed":
        picked.sort(key=lambda q: QUIZ_LEVELS.index(q.level))
    for number, question in enumerate(picked, start=1):
        question.id = f"q{number}-{question.template}"
    return picked
