"""A template's output before numbering, and the four options built from a key and its mistakes."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass

from rnntrace.quiz.verify import QuizBug


@dataclass
class Draft:
    """What a template produces; the bank adds the id, template name, level and setting."""

    prompt: str
    options: list[str]
    answer: int
    hint: str
    solution: list[str]
    verified_by: str
    code: str = ""
    options_are_code: bool = False


def shape(dims: Iterable[int]) -> str:
    """A shape written as PyTorch prints a tuple: (1000, 10, 8), (8,)."""
    return str(tuple(int(d) for d in dims))


def near_dims(dims: Iterable[int]) -> list[tuple[int, ...]]:
    """Off-by-a-little shapes: distractors of last resort when tiny sizes make mistakes coincide."""
    base = [int(d) for d in dims]
    return [
        (*base[:i], base[i] + grow, *base[i + 1 :])
        for grow in (1, 2)
        for i in range(len(base))
    ]


def near_shapes(dims: Iterable[int]) -> list[str]:
    return [shape(d) for d in near_dims(dims)]


def near_numbers(value: int) -> list[str]:
    """Off-by-a-little counts, for the same last resort."""
    return [f"{v:,}" for v in (value * 2, value + 1, value * 3, value + 2)]


def four_options(
    key: str, mistakes: Iterable[str], rng: random.Random, fallback: Iterable[str] = ()
) -> tuple[list[str], int]:
    """The key plus the first three distinct mistakes, shuffled; returns (options, key index).

    `mistakes` come most-common first; any that happen to equal the key for this configuration
    (e.g. "batch and time swapped" when B == T) are skipped, so no distractor is also right.
    `fallback` is drawn on only when fewer than three distinct mistakes remain (sizes of 1).
    """
    chosen: list[str] = []
    for wrong in itertools.chain(mistakes, fallback):
        if wrong != key and wrong not in chosen:
            chosen.append(wrong)
        if len(chosen) == 3:
            break
    if len(chosen) < 3:
        raise QuizBug(f"only {len(chosen)} distinct distractors for key {key!r}: {chosen}")
    options = [key, *chosen]
    rng.shuffle(options)
    return options, options.index(key)


def steps(*lines: str, final: str) -> list[str]:
    """Number worked-solution lines "Step 1: …" and close with "Final answer: …"."""
    return [f"Step {i}: {line}" for i, line in enumerate(lines, start=1)] + [
        f"Final answer: {final}"
    ]
