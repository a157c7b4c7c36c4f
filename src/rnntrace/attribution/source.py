"""A run's explanation from its directory: the held-out sequences found again, explained, saved.

A run directory keeps no copy of its data. The held-out set is rebuilt the way the run built
it (the lesson from its seed, a file read again with the run's read options, then the same
seeded split) and accepted only if its training split gives the standardisation statistics the
run stored: otherwise the data has changed, and the user is asked for it with --data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnntrace.attribution.explanation import explain, explained_limit
from rnntrace.config.settings import RunConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError, RunError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records.explanation import Explanation
from rnntrace.run.files import load_explanation, save_explanation

__all__ = ["explain_run", "held_out_of", "load_explanation", "save_explanation", "target_index"]

LESSON = "synthetic:lesson"
LONG_LESSON = "synthetic:long-lesson"


def held_out_of(config: RunConfig) -> SequenceSet:
    """The held-out sequences of a run (the first MAX_SEQUENCES), rebuilt and checked; the
    training set when the run held none out, as its trace did."""
    return split_of(config)[1]


def split_of(config: RunConfig) -> tuple[SequenceSet, SequenceSet]:
    """The run's training sequences (a memory-mapped set's first rows, as many as an
    explanation reads) and what held_out_of returns."""
    from rnntrace.data.streaming import feature_stats
    from rnntrace.train.split import shown_part, split_validation

    source = config.data.source
    if source == LESSON:
        from rnntrace.data.synthetic import lesson

        data = lesson(config.data.n_sequences, config.data.max_length, config.data.n_features,
                      seed=config.train.seed)
    elif source == LONG_LESSON:
        from rnntrace.data.synthetic import long_lesson

        data = long_lesson(config.data.n_sequences, config.data.max_length,
                           config.data.n_features, seed=config.train.seed)
    elif Path(source).is_file():
        from rnntrace.data.readers import read

        data = read(source, **config.data.read_options)
    else:
        raise RunError(f"the run's data {source!r} cannot be found again: give the sequences "
                       "to explain with --data FILE (data= in Python)")
    train, held_out = split_validation(data, None, config.train)
    mean, _ = feature_stats(train)
    if not np.allclose(mean, config.data.feature_mean, rtol=1e-4, atol=1e-5):
        raise RunError(f"{source} does not give the run's held-out split again (other data, or "
                       "a separate validation file): give the sequences with --data FILE")
    limit = explained_limit(config.train.batch_size)
    return shown_part(train, None, limit), shown_part(train, held_out, limit)


def explain_run(
    path: Path,
    *,
    sequence: int | str | None = None,
    data: SequenceSet | None = None,
    hard_cases: int = 5,
    target: int | str | None = None,
) -> Explanation:
    """Explain a saved run on its held-out sequences (or on `data`); nothing is written.

    `target` is what is attributed: a classifier's class (its name, or its index; default the
    predicted class), a regression run's number (its name, or its index; default the first).
    """
    from rnntrace.run.directory import load_run

    saved = load_run(path)
    which = None if target is None else target_index(saved.config, target)
    if saved.config.model.task == "regress":
        return _explain_regression(saved.model, saved.config, sequence, data, hard_cases,
                                   which or 0)
    if data is not None:  # the user's sequences: the baselines are drawn from them
        return explain(saved.model, data, sequence=sequence, hard_cases=hard_cases,
                       target=which)
    train, sequences = split_of(saved.config)
    return explain(saved.model, sequences, sequence=sequence, hard_cases=hard_cases,
                   baselines=train, target=which)


def target_index(config: RunConfig, target: int | str) -> int:
    """The index of a classifier's class or a regression run's number, given by name or by
    index (a name wins: class names are often digits)."""
    regression = config.model.task == "regress"
    names = config.data.target_names if regression else config.data.class_names
    count = config.model.n_targets if regression else config.model.n_classes
    if not names:
        names = [str(i) for i in range(count)]
    if isinstance(target, str) and target in names:
        return names.index(target)
    if (isinstance(target, int) or target.lstrip("-").isdigit()) and 0 <= int(target) < count:
        return int(target)
    what = "numbers" if regression else "classes"
    shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
    raise ConfigError(f"no target {target!r}: this run's {what} are {shown} "
                      f"(or their index, 0..{count - 1})")


def _explain_regression(model: SequenceClassifier, config: RunConfig, sequence: int | str | None,
                        data: SequenceSet | None, largest: int, target: int = 0) -> Explanation:
    """A regression run's explanation (attribution/targets.py), on the sequences given or on
    the run's held-out ones (its training ones when it held none out), said as such."""
    from rnntrace.attribution.targets import explain_targets

    if data is not None:
        scored_on = f"{len(data)} sequences of {data.source or 'the given data'}"
    else:
        _, data = split_of(config)
        scored_on = (f"{len(data)} held-out sequences" if config.train.val_fraction > 0 else
                     f"{len(data)} training sequences (the run held none out: the model was "
                     "trained on them)")
    found = explain_targets(model, data, sequence=sequence, target=target, largest=largest,
                            scored_on=scored_on)
    return Explanation(attribution=None, terms=[], units=None, regression=found,
                       n_scored=found.n_scored)
