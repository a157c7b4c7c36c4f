"""The quiz: questions built from a configuration, each key proved by running PyTorch."""

from rnntrace.quiz.bank import LEVEL_CHOICES, TEMPLATES, Template, make_question, make_quiz
from rnntrace.quiz.setting import Setting, lesson_setting, random_setting, setting_for
from rnntrace.quiz.verify import QuizBug

__all__ = [
    "LEVEL_CHOICES",
    "TEMPLATES",
    "QuizBug",
    "Setting",
    "Template",
    "lesson_setting",
    "make_question",
    "make_quiz",
    "random_setting",
    "setting_for",
]
