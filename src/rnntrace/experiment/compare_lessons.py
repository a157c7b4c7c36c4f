"""`rnntrace demo --compare`: the lesson trained as RNN, GRU and LSTM, and the long lesson
(its shapes first, then only noise to carry them through), each set compared.

The answer to "which cell, and why?" in the learner's own numbers: scores beside costs, when
each model decided, how far back its gradient reaches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.synthetic import lesson, long_lesson
from rnntrace.experiment.comparison import compare, write_compare_page
from rnntrace.experiment.pipeline import run_experiment
from rnntrace.records.comparison import Comparison
from rnntrace.run.directory import new_run_path

CELLS = ("rnn", "gru", "lstm")
LONG_EPOCHS = 10  # the long lesson's models need more epochs than the lesson's 5


@dataclass
class LessonComparison:
    """One lesson's three runs compared, and where its page was written."""

    name: str  # lesson | long
    comparison: Comparison
    page: Path


def compare_lessons(
    out: Path | None = None,
    epochs: int = 5,
    seed: int = 0,
    on_run: Callable[[str], Any] | None = None,
    long_epochs: int = LONG_EPOCHS,
    **train_options: Any,
) -> list[LessonComparison]:
    """Train both lessons with each cell under `out` (default runs/compare-<time>), compare
    each set, write lesson.html and long.html there; `on_run(name)` before each training."""
    root = new_run_path(out, "compare")
    sets = {"lesson": (lesson(seed=seed), epochs),
            "long": (long_lesson(seed=seed), long_epochs)}
    results = []
    for name, (data, count) in sets.items():
        paths = []
        for cell in CELLS:
            if on_run is not None:
                on_run(f"{name}-{cell}")
            run = run_experiment(data, ModelConfig(cell=cell),
                                 TrainConfig(epochs=count, seed=seed, **train_options),
                                 out=root / f"{name}-{cell}", command="demo")
            paths.append(run.path)
        comparison = compare(paths)
        results.append(LessonComparison(name, comparison,
                                        write_compare_page(comparison, root / f"{name}.html")))
    return results
