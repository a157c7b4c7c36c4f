"""Terminal views of the settings search (train/search.py) and of the summary the model used."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rnntrace.records import Choice, SummaryTrace


_SHOWN_STEPS = 24  # attention weights listed in the terminal; the trace keeps them all


def search_progress(out: Console) -> Callable[[Any], None]:
    """An `on_progress` for choose.choose: one line as each candidate starts and ends."""

    folds_shown: set[int] = set()

    def show(progress: Any) -> None:
        folds = getattr(progress, "folds", 1)
        if folds > 1 and progress.fold not in folds_shown:
            folds_shown.add(progress.fold)  # each candidate trains again on every fold
            out.print(f" held-out fold {progress.fold} of {folds}:")
        if progress.score is not None:
            s = progress.score
            scored = getattr(progress, "scored", "held-out")
            out.print(f"  [{progress.index}/{progress.total}] {escape(s.name)}: {scored} "
                      f"{progress.score_name} {s.val_accuracy:.3f}, loss {s.val_loss:.3f}, "
                      "best epoch "
                      f"{s.best_epoch} of {s.epochs_run} ({s.seconds:.0f} s)")
        elif progress.epoch is not None and progress.epoch.record.epoch == 1:
            out.print(f"  [{progress.index}/{progress.total}] {escape(progress.name)} …")

    return show


def choice_table(choice: Choice) -> Table:
    # held_out 0: nothing was held out (val_fraction 0), the candidates scored on what they fit
    where = "held-out training data" if choice.held_out else "the training data (nothing held out)"
    scored = "held-out" if choice.held_out else "training"
    table = Table(title=f"Settings chosen on {where}", title_justify="left")
    score = {"accuracy": "acc"}.get(choice.score, choice.score)
    for column in ("candidate", f"{scored} {score}", f"{scored} loss", "best epoch", "seconds"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    for s in choice.candidates:
        mark = "  ← chosen" if s.name == choice.chosen else ""
        table.add_row(escape(s.name) + mark, f"{s.val_accuracy:.3f}", f"{s.val_loss:.3f}",
                      str(s.best_epoch), f"{s.seconds:.1f}")
    return table


def settings_line(choice: Choice) -> str:
    chosen = ", ".join(f"{k}={v}" for k, v in choice.settings.items())
    user = ", ".join(f"{k}={v}" for k, v in choice.user_settings.items()) or "none"
    return f"Settings: {chosen}\nFixed by {choice.fixed_by}: {user}"


def choice_renderables(choice: Choice) -> list[Any]:
    """How the settings were chosen: the candidates' table, the settings, why, a blank line."""
    return [choice_table(choice), Text(settings_line(choice)), Text(f"Why: {choice.reason}"),
            Text("")]


def print_choice(choice: Choice, out: Console) -> None:
    for part in choice_renderables(choice):
        out.print(part)


def summary_rows(s: SummaryTrace) -> list[tuple[str, str]]:
    """Rows for the prediction's summary: where each max came from, or each step's weight."""
    if s.argmax_steps is not None:
        steps = ", ".join(f"u{u}←t{t + 1}" for u, t in enumerate(s.argmax_steps))
        return [("Max taken at", f"{steps}  (unit ← step, of {s.steps} steps)")]
    if s.weights is not None:
        top = sorted(range(len(s.weights)), key=lambda t: -s.weights[t])[:5]  # type: ignore[index]
        head = ", ".join(f"t{t + 1}: {s.weights[t]:.3f}" for t in top)
        every = " ".join(f"{w:.2f}" for w in s.weights[:_SHOWN_STEPS])
        more = " …" if len(s.weights) > _SHOWN_STEPS else ""
        return [("Attention, top steps", head), ("Attention, every step", every + more)]
    return [("Mean over", f"all {s.steps} real steps, each weighted 1/{s.steps}")]
