"""The questions of a learning round on one model: practice on its weakest concepts, and the
mixed check, "test this pattern" (10 questions across easy, medium and hard)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rnntrace.config.settings import ModelConfig
from rnntrace.quiz.bank import TEMPLATE_BY_NAME, TEMPLATES, make_question, make_quiz
from rnntrace.quiz.embedding import TEXT_TEMPLATES, TextSetting, layer_config, text_quiz
from rnntrace.quiz.mastery import level_of
from rnntrace.quiz.progress import Progress
from rnntrace.quiz.setting import Setting
from rnntrace.quiz.topics import concept_of
from rnntrace.records import Question, StepRecord

PRACTICE_QUESTIONS = 5
TEST_LEVELS = (("easy", 3), ("medium", 4), ("hard", 3))  # "10 questions across easy, medium, hard"


@dataclass
class Lesson:
    """The model a learner works on: its name, config, batch shape and step records."""

    name: str  # the layer as constructed: also the key of its entry in the progress file
    config: ModelConfig
    batch: int
    steps: int
    records: list[StepRecord] = field(default_factory=list)


def model_name(config: ModelConfig, batch: int, steps: int) -> str:
    """The model as constructed: `nn.RNN(...)`, or a text model's Embedding → its layer."""
    if config.vocab_size:
        layer = Setting(layer_config(config), batch, steps)
        return f"{TextSetting(config, batch, steps).code()} → {layer.layer_code()}"
    return Setting(config, batch, steps).layer_code()


def templates(lesson: Lesson) -> list[str]:
    """The question templates that apply to this model: the Embedding's first for text."""
    text = [name for name, _, _ in TEXT_TEMPLATES] if lesson.config.vocab_size else []
    return text + [t.name for t in TEMPLATES]


def concepts(lesson: Lesson) -> list[str]:
    """The concepts this model's questions practise."""
    return sorted({concept_of(name) for name in templates(lesson)})


def practice_questions(lesson: Lesson, progress: Progress, seed: int) -> list[Question]:
    """One question from each of the templates on the weakest concepts, a new draw each round."""
    rounds = int(progress.model(lesson.name).get("practice", 0))
    names = templates(lesson)
    random.Random(f"{seed}:{rounds}").shuffle(names)
    names.sort(key=lambda name: level_of(concept_of(name), progress.answers).rank)
    return _numbered(_draw(lesson, names[:PRACTICE_QUESTIONS], seed + rounds))


def pattern_test(lesson: Lesson, progress: Progress, seed: int) -> list[Question]:
    """Ten questions, easy to hard, a new draw each round."""
    rounds = int(progress.model(lesson.name).get("test", 0))
    return _numbered([q for level, n in TEST_LEVELS
                      for q in _quiz(lesson, n, level, seed + 1000 * (rounds + 1))])


def _numbered(questions: list[Question]) -> list[Question]:
    for number, q in enumerate(questions, start=1):
        q.id = f"q{number}-{q.template}"
    return questions


def _quiz(lesson: Lesson, n: int, level: str, seed: int) -> list[Question]:
    m = lesson.config
    if m.vocab_size:
        return text_quiz(m, n=n, seed=seed, batch=lesson.batch, steps=lesson.steps, level=level)
    shape = (lesson.batch, lesson.steps, m.n_features) if m.batch_first else (
        lesson.steps, lesson.batch, m.n_features)
    return make_quiz(m, n=n, level=level, seed=seed, input_shape=shape)


def _draw(lesson: Lesson, names: list[str], seed: int) -> list[Question]:
    """One verified question per template name, in the order given."""
    text = {name for name, _, _ in TEXT_TEMPLATES}
    by_name: dict[str, Question] = {}
    if text & set(names):  # the Embedding's questions come as a set, all four at once
        for q in text_quiz(lesson.config, n=len(text), seed=seed, batch=lesson.batch,
                           steps=lesson.steps):
            by_name[q.template] = q
    layer = layer_config(lesson.config) if lesson.config.vocab_size else lesson.config
    setting = Setting(layer, lesson.batch, lesson.steps)
    for name in names:
        if name not in text:
            by_name[name] = make_question(TEMPLATE_BY_NAME[name], setting,
                                          random.Random(f"{seed}:{name}"))
    return [by_name[name] for name in names]
