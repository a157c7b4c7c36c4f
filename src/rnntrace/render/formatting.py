"""Numbers, shapes, sampled values and record summaries as short text, shared by the terminal
and HTML views."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnntrace.config.settings import ModelConfig
    from rnntrace.records import Averaging, ModuleCall


def short(label: str, limit: int = 24) -> str:
    """A label cut to fit a figure; the tables beside the figures carry it in full."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def unit_names(width: int, bidirectional: bool) -> list[str]:
    """h1…hH, or fwd h1…/bwd h1… when the top layer reads both directions (width = 2H)."""
    if not bidirectional:
        return [f"h{i + 1}" for i in range(width)]
    half = width // 2
    return [f"fwd h{i + 1}" for i in range(half)] + [f"bwd h{i + 1}" for i in range(half)]


def fmt_number(value: Any, digits: int = 3) -> str:
    """A float to `digits` decimals; None as a dash; NaN and inf spelled out."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return str(value)


def apart(*values: float, least: int = 4, most: int = 10) -> list[str]:
    """Each value to the fewest significant digits (at least `least`) at which every printed
    value is within 5 % of the smallest difference between two of them: a prediction of
    -5.00021 beside a truth of -4.99998 reads -5.0002 and -4.99998, not -5 and -5."""
    gaps = [abs(a - b) for i, a in enumerate(values) for b in values[i + 1:] if a != b]
    allowed = 0.05 * min(gaps, default=math.inf)
    for digits in range(least, most + 1):
        shown = [f"{v:.{digits}g}" for v in values]
        if all(abs(float(s) - v) <= allowed for s, v in zip(shown, values, strict=True)):
            return shown
    return [f"{v:.{most}g}" for v in values]


def averaging_sentence(averaging: Averaging, task: str = "classify") -> str:
    """What the epochs after training did, and what the model ended on; `task` (task.py)
    names the score the record's accuracy holds."""
    records = averaging.records
    span = (f"{len(records)} more epochs ({records[0].epoch}–{records[-1].epoch}) at a constant "
            f"lr {averaging.lr:g}, each epoch's weights kept (training loss "
            f"{records[0].loss:.3f} → {records[-1].loss:.3f})") if records else "more epochs"
    score = {"regress": f"R² {averaging.accuracy:.3f}",
             "steps": f"frame accuracy {averaging.accuracy:.1%}"}.get(
                 task, f"accuracy {averaging.accuracy:.1%}")
    return (f"Then {span}. The model ends on their mean (weight averaging): loss "
            f"{averaging.loss:.3f}, {score} on the training data.")


def fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def fmt_values(values: Any, digits: int = 3, limit: int = 8) -> str:
    """Nested lists of numbers as short text, at most `limit` items a level: [0.12, -0.53, …]."""
    if isinstance(values, list):
        items = [fmt_values(v, digits, limit) for v in values[:limit]]
        if len(values) > limit:
            items.append("…")
        return "[" + ", ".join(items) + "]"
    return fmt_number(values, digits)


def term_lines(equation: str) -> list[str]:
    """An equation with its numbers broken into one term per line, aligned to be read down.

    `h = tanh(A [..] + B [..]) = tanh([..]) = [..]` becomes

        h = tanh(A [..]
               + B [..])
          = tanh([..])
          = [..]

    Only the outer sum of each side breaks (inside `f(…)` when the side is a call): a sum
    nested deeper, like GRU's `r ⊙ (W_hn·h + b_hn)`, stays on its line.
    """
    head, sep, rest = equation.partition(" = ")
    if not sep:
        return [equation]
    indent = len(head) + 1  # the column of the first "="
    lines = [f"{head} = "]
    depth, i = 0, 0
    sum_depth, term_at = _side(rest, indent + 2)
    while i < len(rest):
        char = rest[i]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and rest.startswith(" = ", i):
            lines.append(" " * indent + "= ")
            sum_depth, term_at = _side(rest[i + 3 :], indent + 2)
            i += 3
            continue
        elif depth == sum_depth and rest.startswith(" + ", i):
            lines.append(" " * (term_at - 2) + "+ ")
            i += 3
            continue
        lines[-1] += char
        i += 1
    return lines


def _side(text: str, column: int) -> tuple[int, int]:
    """At which bracket depth a right-hand side's sum sits, and the column its terms start at."""
    name, paren, _ = text.partition("(")
    if paren and name.isidentifier():  # tanh( … ), σ( … ): the sum is the call's argument
        return 1, column + len(name) + 1
    return 0, column


def grouped_calls(calls: list[ModuleCall]) -> list[tuple[ModuleCall, int]]:
    """Each distinct module call once, with how many times it was made.

    Calls of one module with the same depth and the same input and output shapes are one row
    (the first), so a loop's body of T steps reads as its first step, "called T times".
    """
    counts: dict[tuple[Any, ...], int] = {}
    first: dict[tuple[Any, ...], ModuleCall] = {}
    for call in calls:
        key = (call.name, call.type, call.depth,
               tuple((i.name, tuple(i.shape)) for i in call.inputs),
               tuple((o.name, tuple(o.shape)) for o in call.outputs))
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, call)
    return [(first[key], n) for key, n in counts.items()]


def recurrent_reads(model: ModelConfig, width: int) -> str:
    """What x_t, the first recurrent layer's input at step t, holds for an rnntrace model whose
    layer reads `width` values per step: the standardised inputs, or what a front end made."""
    if model.vocab_size:
        return "the embedding vectors of the tokens read"
    k = model.window if model.front_end_in_use != "none" else 1
    spans = (f"recurrent step t reads input steps (t−1)·{k}+1 to t·{k}" if k > 1 else "")
    resampled = (f"each sequence resampled to {model.resample} steps, then "
                 if model.resample else "")
    if model.front_end_in_use == "conv":
        return (f"{resampled}the conv front end's {width} channels"
                + (f", one vector per window of {k} input steps ({spans})" if k > 1
                   else ", one vector per input step"))
    if k > 1:
        return (f"{resampled}windows of {k} standardised input steps side by side ({k}·"
                f"{model.n_features} = {width} values; {spans})")
    if model.resample:
        return f"the standardised inputs, each sequence resampled to {model.resample} steps"
    return "the standardised inputs"
