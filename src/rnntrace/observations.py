"""Plain-language observations of training, written from the numbers of the history alone."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rnntrace.records import EpochRecord

# Thresholds, chosen to flag what a person watching the table would call out.
PLATEAU = 0.01  # relative change of training loss below this: a plateau
DIVERGING = 0.05  # relative rise of training loss above this: diverging
OVERFITTING = 0.02  # relative rise of held-out loss (with training loss falling): overfitting
EXPLODING_NORM = 100.0  # mean gradient norm above this, or a 10× jump past 10: exploding
VANISHING_NORM = 1e-4  # mean gradient norm below this: vanishing


def _finite(*values: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


def _change(before: float, after: float) -> float:
    return (after - before) / abs(before) if before else 0.0


def _pct(x: float) -> str:
    return f"{x:.0%}"


def observe_epoch(history: Sequence[EpochRecord], index: int, n_classes: int | None = None) -> str:
    """One sentence about epoch `index` of `history`, from its numbers and those before it."""
    now = history[index]
    before = history[index - 1] if index > 0 else None

    if not _finite(now.loss, now.grad_norm, now.val_loss):
        what = (
            "NaN"
            if any(v is not None and math.isnan(v) for v in (now.loss, now.grad_norm, now.val_loss))
            else "infinite"
        )
        kept = (
            f"Training stopped and kept the weights of epoch {now.epoch - 1}"
            if now.epoch > 1
            else "Training stopped before any epoch ended well"
        )
        return (
            f"Loss became {what} in epoch {now.epoch}: the updates blew the weights up "
            f"(last gradient norm {now.grad_norm:.3g}). {kept}; lower the learning rate "
            f"(now {now.lr:g}) or clip gradients harder."
        )
    if now.grad_norm > EXPLODING_NORM or (
        before is not None and now.grad_norm > 10.0 and now.grad_norm > 10 * before.grad_norm
    ):
        was = f" (from {before.grad_norm:.3g})" if before is not None else ""
        return (
            f"Gradients are exploding: the mean gradient norm reached {now.grad_norm:.3g}{was}. "
            f"Clipping keeps each step bounded, but a lower learning rate (now {now.lr:g}) "
            f"or a GRU/LSTM cell may be needed."
        )
    if now.grad_norm < VANISHING_NORM:
        return (
            f"Gradients are vanishing (mean norm {now.grad_norm:.2g}): the weights hardly move and "
            f"early time steps barely influence learning. An LSTM or GRU cell, a larger learning "
            f"rate or fewer saturated units (smaller inputs) help."
        )

    val = f", held-out accuracy {_pct(now.val_accuracy)}" if now.val_accuracy is not None else ""
    if before is None:
        chance = ""
        if n_classes:
            guess = math.log(n_classes)
            side = "below" if now.loss < guess else "not yet below"
            chance = (
                f" Chance is {_pct(1 / n_classes)}; the loss is {side} the {guess:.2f} "
                f"of guessing uniformly."
            )
        return (
            f"First epoch: loss {now.loss:.3f}, train accuracy {_pct(now.accuracy)}{val}." + chance
        )

    d_loss = _change(before.loss, now.loss)
    if d_loss > DIVERGING:
        return (
            f"Loss rose {_pct(d_loss)} ({before.loss:.3f} → {now.loss:.3f}): training is "
            f"diverging; the learning rate ({now.lr:g}) may be too high."
        )
    if (
        now.val_loss is not None
        and before.val_loss is not None
        and d_loss < 0
        and _change(before.val_loss, now.val_loss) > OVERFITTING
    ):
        return (
            f"Held-out loss rose ({before.val_loss:.3f} → {now.val_loss:.3f}) while training "
            f"loss fell ({before.loss:.3f} → {now.loss:.3f}): the model may be starting to "
            f"memorise the training set (overfitting). Early stopping, dropout or more data "
            f"would help."
        )
    if abs(d_loss) < PLATEAU:
        return (
            f"Loss barely moved ({before.loss:.3f} → {now.loss:.3f}, {d_loss:+.1%}): a plateau"
            f"{val}. A different learning rate or more capacity may get it moving again."
        )
    if d_loss < 0:
        trend = ""
        if now.val_accuracy is not None and before.val_accuracy is not None:
            delta = now.val_accuracy - before.val_accuracy
            verb = "rose" if delta > 0.005 else "fell" if delta < -0.005 else "held"
            trend = f"; held-out accuracy {verb} to {_pct(now.val_accuracy)}"
        else:
            trend = f"; train accuracy is {_pct(now.accuracy)}"
        return f"Loss fell {_pct(-d_loss)} ({before.loss:.3f} → {now.loss:.3f}){trend}: learning."
    return (
        f"Loss rose slightly ({before.loss:.3f} → {now.loss:.3f}){val}: noise in the updates, "
        f"worth watching if it continues."
    )


def observe(history: Sequence[EpochRecord], n_classes: int | None = None) -> list[str]:
    """One observation per epoch."""
    return [observe_epoch(history, i, n_classes) for i in range(len(history))]
