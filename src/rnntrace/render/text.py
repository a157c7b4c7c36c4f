"""The terminal view of a Trace: rich tables, an ASCII loss chart and a progress bar."""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from rnntrace._deprecated import renamed_getattr
from rnntrace.render.choice_text import summary_rows
from rnntrace.render.dataflow_text import dynamics_table, steps_view
from rnntrace.render.formatting import fmt_shape, fmt_values, recurrent_reads

if TYPE_CHECKING:
    from rnntrace.records import EpochEnd, EpochRecord, PredictionTrace, Stage, TestReport, Trace

CHART_WIDTH = 40


def console(**kwargs: Any) -> Console:
    return Console(highlight=False, **kwargs)


def _sample_lines(sample: Any) -> str:
    """A 2-D sample one row per line, so rows stay readable in a narrow column."""
    if isinstance(sample, list) and sample and isinstance(sample[0], list):
        return "\n".join(fmt_values(row) for row in sample)
    return fmt_values(sample)


def _metric(value: float | None, fmt: str = ".3f") -> str:
    if value is None:
        return "–"
    return format(value, fmt) if math.isfinite(value) else str(value)


def stages_table(stages: Sequence[Stage]) -> Table:
    table = Table(title="Data Flow", title_justify="left", show_lines=True, expand=True)
    table.add_column("Stage", style="bold", ratio=2)
    table.add_column("In → out", no_wrap=True)
    table.add_column("What it does", ratio=4)
    table.add_column("Sample values", ratio=3)
    for stage in stages:
        shapes = f"{fmt_shape(stage.input_shape)}\n→ {fmt_shape(stage.output_shape)}"
        for name, extra in stage.extra_shapes.items():
            shapes += f"\n{name} {fmt_shape(extra)}"
        table.add_row(
            escape(stage.name), shapes, escape(stage.description), _sample_lines(stage.sample)
        )
    return table


def training_table(records: Sequence[EpochRecord], score: str = "acc") -> Table:
    """One row per epoch; `score` heads the accuracy columns (R² or frame acc for the task)."""
    table = Table(title="Training Trace", title_justify="left")
    for name in ("Epoch", "Loss", score.capitalize(), "Val loss", f"Val {score}", "Grad norm"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in records:
        table.add_row(
            str(r.epoch),
            _metric(r.loss),
            _metric(r.accuracy, ".2f"),
            _metric(r.val_loss),
            _metric(r.val_accuracy, ".2f"),
            _metric(r.grad_norm),
        )
    return table


def observations(records: Sequence[EpochRecord]) -> Table:
    """Each epoch's observation on its own line, where a sentence has room to read."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", style="bold", no_wrap=True)
    grid.add_column()
    for r in records:
        grid.add_row(f"{r.epoch}.", escape(r.observation))
    return grid


def loss_chart(records: Sequence[EpochRecord], width: int = CHART_WIDTH) -> str:
    """One bar per epoch, as long as the loss relative to the largest: `1  0.829 |*****`."""
    finite = [r.loss for r in records if math.isfinite(r.loss)]
    top = max(finite, default=0.0) or 1.0
    lines = ["Loss per epoch"]
    for r in records:
        bar = "*" * max(1, round(width * r.loss / top)) if math.isfinite(r.loss) else f"({r.loss})"
        lines.append(f"{r.epoch:>3} {r.loss:>7.3f} |{bar}")
    return "\n".join(lines)


_MOST_CLASSES = 12  # classes given a probability row each; a vocabulary shows its most probable


def prediction_table(
    p: PredictionTrace, window: int | None = None, resampled: bool = False
) -> Group:
    """The traced sequence step by step, then its summary, logits and probabilities.

    With a front end each row is one recurrent step, beside the input steps it read: `window`
    of them, or (`resampled`, or a window not known) the stretch of the input its share of the
    time covers.
    """
    steps = Table(title="Prediction Trace", title_justify="left", expand=True)
    steps.add_column("t", justify="right")
    features = escape(", ".join(p.feature_names[:6]))
    if len(p.inputs) == len(p.hidden_states) and not resampled and (window or 1) == 1:
        steps.add_column(f"x_t ({features})", ratio=1)
        steps.add_column("h_t (hidden state after step t)", ratio=1)
        # Steps count from 1, as in the equations (h_0 is the initial state).
        for t, (x, h) in enumerate(zip(p.inputs, p.hidden_states, strict=True), start=1):
            shown = (f"{escape(repr(p.tokens[t - 1]))} (id {int(x[0])})" if p.tokens
                     else fmt_values(x, 2, limit=6))  # text: the letter read at step t
            steps.add_row(str(t), shown, fmt_values(h, 2))
    else:
        n, m = len(p.inputs), len(p.hidden_states)
        steps.add_column(f"input steps read ({features})", ratio=1)
        steps.add_column("h_t (hidden state after recurrent step t)", ratio=1)
        for t, h in enumerate(p.hidden_states, start=1):
            if window and not resampled:
                first, last = (t - 1) * window + 1, min(t * window, n)
            else:  # the stretch of the input this step's share of the time covers
                first = min(n, (t - 1) * n // m + 1)
                last = max(first, min(n, -(-t * n // m)))
            read = p.inputs[first - 1 : last]
            span = f"{first}" if first == last else f"{first}–{last}"
            steps.add_row(str(t), f"{span}: {fmt_values(read, 2, limit=3)}",
                          fmt_values(h, 2))

    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    true = f"  (true class: {escape(str(p.true_label))})" if p.true_class is not None else ""
    summary.add_row("Sequence", f"{escape(p.sequence_id)}, {p.length} steps{true}")
    if p.summary is None:
        if p.last_hidden:
            summary.add_row("Last hidden state", fmt_values(p.last_hidden))
    else:
        summary.add_row(f"Summary ({p.summary.kind})", fmt_values(p.last_hidden))
        for name, value in summary_rows(p.summary):
            summary.add_row(name, value)
    if p.head:
        summary.add_row("Output", escape(p.head))
    if p.step_probabilities:  # one prediction per step: each step's class and its P
        chosen = [max(range(len(row)), key=row.__getitem__) for row in p.step_probabilities]
        summary.add_row("Per step", escape(", ".join(
            f"{t}: {p.class_names[c]} ({row[c]:.2f})"
            for t, (c, row) in enumerate(zip(chosen, p.step_probabilities, strict=True), 1)
        )))
    summary.add_row("Logits" if not p.head else "Output values", fmt_values(p.logits))
    listed = sorted(range(len(p.class_names)), key=lambda c: -p.probabilities[c])[:_MOST_CLASSES]
    if len(p.class_names) > _MOST_CLASSES:
        summary.add_row("Classes", f"the {_MOST_CLASSES} most probable of {len(p.class_names)}")
    for c in sorted(listed) if len(listed) == len(p.class_names) else listed:
        name, prob = p.class_names[c], p.probabilities[c]
        bar = "█" * round(prob * 30)
        marker = "  ← predicted" if name == p.predicted_label else ""
        summary.add_row(f"P({escape(name)})", f"{prob:.3f} {bar}{marker}")
    verdict = ""
    if p.true_class is not None:
        verdict = (" ✓ correct" if p.true_class == p.predicted
                   else f" ✗ wrong, it is {p.true_label}")
    summary.add_row("Predicted", escape(f"{p.predicted_label}{verdict}"))
    return Group(steps, summary)


def test_tables(report: TestReport) -> Group:
    """Per-class scores and the confusion matrix of the test set."""
    scores = Table(
        title=f"Test set: {report.n_sequences} sequences, accuracy {report.accuracy:.1%}",
        title_justify="left",
    )
    scores.add_column("Class")
    for name in ("Precision", "Recall", "F1", "Support"):
        scores.add_column(name, justify="right")
    for c in report.per_class:
        scores.add_row(
            escape(c.label), f"{c.precision:.2f}", f"{c.recall:.2f}", f"{c.f1:.2f}",
            str(c.support),
        )
    matrix = Table(title="Confusion matrix (rows: true, columns: predicted)", title_justify="left")
    matrix.add_column("")
    for label in report.labels:
        matrix.add_column(escape(label), justify="right")
    for label, row in zip(report.labels, report.confusion_matrix, strict=True):
        matrix.add_row(escape(label), *(str(v) for v in row))
    return Group(scores, matrix)


def recomputation_section(trace: Trace) -> Group:
    """The first and last step's equation with its numbers, and the check against PyTorch."""
    parts: list[Any] = []
    steps = trace.steps
    if steps:
        s = steps[0]
        # rnntrace's own model standardises (or embeds) its inputs; a user's model's first
        # recurrence reads whatever its forward handed it
        what = (recurrent_reads(trace.config.model, len(s.x)) if trace.config is not None
                else "what the model fed its first recurrent layer")
        parts.append(Text(f"Step by step (layer {s.layer}, {s.direction}; x_t are {what})",
                          style="bold"))
        parts.append(steps_view([steps[0], steps[-1]] if len(steps) > 1 else steps))
    r = trace.recomputation
    largest = trace.largest_difference
    if r is not None and largest is not None:
        ok = "✓ matches" if largest <= r.tolerance else "✗ DIFFERS from"
        compared = "output, h_n" + (", c_n" if r.diff_c_n is not None else "")
        parts.append(Text(
            f"Every step of every layer recomputed by hand from the layer's weights: largest "
            f"difference from PyTorch {largest:.1e} over {compared} and the step table "
            f"({ok} PyTorch within {r.tolerance:g})"
        ))
    d = trace.dynamics
    if d is not None and d.grad_norm and d.steps > 1:
        parts.append(dynamics_table(d))
        forward = d.grad_norm[0]
        first, last = forward[0], forward[-1]
        if 0 < first < last:
            fade = f"{last / first:.1f}× weaker at step 1: it fades going back in time"
        else:
            fade = "no weaker at step 1: it does not vanish over these steps"
        parts.append(Text(
            f"Gradient of the loss reaching each step's hidden state: {last:.2e} at step "
            f"{d.steps}, {first:.2e} at step 1, {fade}. Saturated units ({d.measure}): "
            f"{d.saturated[0]:.0%} at step 1, {d.saturated[-1]:.0%} at step {d.steps}."
        ))
    return Group(*parts)


def front_end_reading(trace: Trace) -> dict[str, Any]:
    """prediction_table's keywords for how an rnntrace model's front end read the input steps
    (none for a user's model, whose front end is not known)."""
    if trace.config is None:
        return {}
    return {"window": trace.config.model.window, "resampled": bool(trace.config.model.resample)}


class EpochProgress:
    """A progress bar over epochs for the terminal; silent when output is not a terminal."""

    def __init__(self, out: Console, enabled: bool = True) -> None:
        self._progress: Progress | None = None
        if enabled and out.is_terminal:
            self._progress = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=out,
                transient=True,
            )
        self._task: Any = None

    def __enter__(self) -> EpochProgress:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(kind, exc, tb)

    def update(self, end: EpochEnd) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task("train", total=end.epochs, status="")
        r = end.record
        status = f"loss {r.loss:.3f}" + (
            f", held-out acc {r.val_accuracy:.2f}" if r.val_accuracy is not None else ""
        )
        self._progress.update(self._task, completed=r.epoch, status=status)


__getattr__ = renamed_getattr(__name__, {"data_flow_table": "stages_table"}, globals())
