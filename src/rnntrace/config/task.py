"""What a model is asked to do, as one value: a class per sequence, numbers per sequence, or a
label per step.

Everything that depends on the task reads its TaskSpec: the head's width and where it reads
(the summary of a sequence, or every step's output), the loss, the score kept per epoch, the
names of the test metrics and of the chance line they stand beside, the words the views use.
A new task is one more constant here and one branch in each `objectives` function.

    classify   h (B, D·H) summary ─► Linear ─► logits (B, C)      ─► cross-entropy
    regress    h (B, D·H) summary ─► Linear ─► z-scores (B, K)    ─► MSE on standardised y
    steps      out (B, T, D·H)    ─► Linear ─► logits (B, T, C)   ─► cross-entropy on real steps
               (windows of k steps: out (B, T/k, D·H) ─► Linear ─► each window's logits
               repeated to its k steps ─► (B, T, C))

No torch (and no numpy) here, so configs, records and views can read a spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnntrace.errors import ConfigError

# What a reader puts in a per-step label array past each sequence's end; torch's cross-entropy
# skips it (its default ignore_index), so no padding step is ever scored.
PADDING_LABEL = -100


@dataclass(frozen=True)
class TaskSpec:
    """What rnntrace knows about one task."""

    name: str  # as configs and the CLI spell it: classify | regress | steps
    title: str  # "one class per sequence"
    per_step: bool  # the head reads every step's output, not one summary of the sequence
    numeric: bool  # the head predicts numbers (no softmax, no classes)
    loss: str  # the training loss, in words
    score: str  # what EpochRecord.accuracy holds for this task
    score_short: str  # its column heading
    head: str  # the head, in words, with {width} and {out} to fill in
    metrics: tuple[str, ...]  # the test report's figures, in the order views show them
    chance: str  # the line the metrics stand beside

    def head_width(self, n_classes: int, n_targets: int) -> int:
        """How many numbers the Linear head gives per sequence (or per step)."""
        return n_targets if self.numeric else n_classes

    def check(self, n_classes: int, n_targets: int) -> None:
        """A ConfigError when the sizes cannot make this task's head."""
        if self.numeric:
            if n_targets < 1:
                raise ConfigError(f"a regression head predicts at least one number, "
                                  f"got n_targets={n_targets}")
        elif n_classes < 2:
            raise ConfigError(f"n_classes must be at least 2, got {n_classes}")


CLASSIFY = TaskSpec(
    name="classify",
    title="one class per sequence",
    per_step=False,
    numeric=False,
    loss="cross-entropy",
    score="accuracy: the share of sequences whose class is predicted",
    score_short="acc",
    head="Linear({width} → {out}) on the sequence's summary, softmax over the classes",
    metrics=("accuracy", "macro-F1"),
    chance="the most frequent training class",
)
REGRESS = TaskSpec(
    name="regress",
    title="one number (or several) per sequence",
    per_step=False,
    numeric=True,
    loss="mean squared error on the target standardised with the training statistics",
    score="R²: 1 − squared error / squared distance from the training mean",
    score_short="R²",
    head="Linear({width} → {out}) on the sequence's summary: the standardised target",
    metrics=("MAE", "RMSE", "R²"),
    chance="always predicting the training mean",
)
STEPS = TaskSpec(
    name="steps",
    title="one label per time step",
    per_step=True,
    numeric=False,
    loss="cross-entropy averaged over the real steps (padding is never scored)",
    score="frame accuracy: the share of real steps whose label is predicted",
    score_short="frame acc",
    head=("Linear({width} → {out}) on every recurrent step's output (a window's, repeated to "
          "its steps, with a window front end), softmax over the labels per step"),
    metrics=("frame accuracy", "macro-F1", "F1@10", "F1@25", "F1@50", "edit score"),
    chance="the most frequent training label at every step",
)
TASK_SPECS: tuple[TaskSpec, ...] = (CLASSIFY, REGRESS, STEPS)
TASKS = tuple(spec.name for spec in TASK_SPECS)
# What users may type for each; the first spelling is the canonical one.
_ALIASES = {"classification": "classify", "class": "classify", "regression": "regress",
            "step": "steps", "per-step": "steps", "tagging": "steps", "segmentation": "steps"}


def task_spec(name: str) -> TaskSpec:
    """The spec for a task name (or a common spelling of it); a ConfigError names the choices."""
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    for spec in TASK_SPECS:
        if spec.name == key:
            return spec
    raise ConfigError(f"unknown task {name!r}: choose one of {', '.join(TASKS)} "
                      "(classify: a class per sequence, regress: a number per sequence, "
                      "steps: a label per step)")


def direction_note(spec: TaskSpec, bidirectional: bool, window: int = 1, ahead: int = 0) -> str:
    """Whether the model may be used online; true of a model with these settings (`window`:
    the input steps each recurrent step reads, whose labels all come from that step; `ahead`:
    the recurrent steps past its own that a front end's centred convolutions read)."""
    if not spec.per_step:
        return ""
    if bidirectional:
        return ("bidirectional: each step's label reads the steps after it too, so the model "
                "labels whole recorded sequences (offline segmentation), not a stream as it "
                "arrives")
    late = steps_ahead(window, ahead)
    if ahead:
        over = f" over windows of {window} steps" if window > 1 else ""
        return (f"one direction{over}, after convolutions that read {ahead} "
                f"{'windows' if window > 1 else 'steps'} ahead: each step's label reads the "
                f"steps before it and up to {late} after it, so the model could label a stream "
                f"as it arrives only {late} steps late")
    if window > 1:
        return (f"one direction over windows of {window} steps: each step's label reads the "
                f"steps before it and the rest of its window (up to {window - 1} steps ahead), "
                f"so the model can label a stream as it arrives, a window ({window} steps) "
                "at a time")
    return ("one direction: each step's label reads only that step and the ones before it, so "
            "the model can label a stream as it arrives (online)")


def steps_ahead(window: int, ahead: int) -> int:
    """Input steps past its own that a one-direction model's label of a step may read: the
    rest of its window, and the `ahead` windows its front end's convolutions reach."""
    return (ahead + 1) * window - 1
