"""Plain-language observations of training, written from the numbers of the history alone."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rnntrace.records import EpochRecord

# Thresholds, chosen to flag what a person watching the table would call out.
PLATEAU = 0.01  # relative change of training loss below this: a plateau
DIVERGING = 0.05  # relative rise of training loss above this: diverging, if it is not noise
# ...and the rise must also exceed this fraction of the first epoch's loss. Shuffled mini-batches
# make each epoch's mean loss wobble; once the loss is far below where it started, a wobble of
# 0.001 is a large relative change (0.009 → 0.010 is +8 %) but 0.07 % of a 4-class start of 1.39.
# A diverging run climbs back towards where it began, so 2 % of that start still catches it early
# (0.30 → 0.40 is 7 % of 1.39) while staying well above a converged run's wobble.
NOISE = 0.02
OVERFITTING = 0.02  # relative rise of held-out loss (with training loss falling): overfitting
# ...unless held-out accuracy fell by fewer than this many sequences (and the loss rise is small
# against its start). If only the k sequences that flipped changed, all for the worse, a sign
# test gives p = 0.5^k: 4 is 0.06, 5 is 0.03. So a fall of at most 4 held-out sequences cannot
# be told from chance between two epochs, whatever the held-out size (4 of 201 is 2 %).
SIGN_TEST = 5
# A plateau at a training loss below this with every training sequence right is convergence,
# not a stall: the mean loss of 0.01 is a probability of 0.99 on the true class on average.
CONVERGED_LOSS = 0.01
EXPLODING_NORM = 100.0  # mean gradient norm above this, or a 10× jump past 10: exploding
VANISHING_NORM = 1e-4  # mean gradient norm below this: vanishing


def _finite(*values: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


def _change(before: float, after: float) -> float:
    return (after - before) / abs(before) if before else 0.0


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _loss(x: float, smallest: float | None = None) -> str:
    """Three decimals, or more where they would hide a loss near zero (two significant digits
    of `smallest`, so that values compared side by side share one format)."""
    low = abs(x if smallest is None else smallest)
    places = 3 if low >= 0.01 or low == 0 else 1 - math.floor(math.log10(low))
    return f"{x:.{places}f}"


def _from_to(before: float, after: float) -> str:
    low = min(abs(before), abs(after))
    return f"{_loss(before, low)} → {_loss(after, low)}"


def _scale(history: Sequence[EpochRecord], before: EpochRecord) -> float:
    """The loss training started from, against which a rise is judged large or small."""
    first = history[0].loss
    return first if math.isfinite(first) and first > 0 else abs(before.loss)


def _sequences_lost(before: EpochRecord, now: EpochRecord, n_held_out: int | None) -> int:
    """Held-out sequences fewer classified right than the epoch before (accuracy × size);
    without the size, any fall counts as more than chance would move."""
    fall = (before.val_accuracy or 0.0) - (now.val_accuracy or 0.0)
    if n_held_out is None:
        return SIGN_TEST if fall > 0 else 0
    return round(fall * n_held_out)


def _held_out_wobble(
    history: Sequence[EpochRecord], before: EpochRecord, now: EpochRecord,
    n_held_out: int | None,
) -> bool:
    if now.val_loss is None or before.val_loss is None:
        return False
    small = now.val_loss - before.val_loss <= NOISE * _val_scale(history, before)
    return small and _sequences_lost(before, now, n_held_out) < SIGN_TEST


def _val_scale(history: Sequence[EpochRecord], before: EpochRecord) -> float:
    first = history[0].val_loss
    if first is not None and math.isfinite(first) and first > 0:
        return first
    return abs(before.val_loss or 0.0)


def _accuracy_change(before: EpochRecord, now: EpochRecord) -> str:
    parts = []
    for name, was, is_ in (
        ("train accuracy", before.accuracy, now.accuracy),
        ("held-out accuracy", before.val_accuracy, now.val_accuracy),
    ):
        if was is None or is_ is None:
            continue
        if abs(is_ - was) < 0.005:
            parts.append(f"{name} unchanged at {_pct(is_)}")
        else:
            parts.append(f"{name} {'rose' if is_ > was else 'fell'} {_pct(was)} → {_pct(is_)}")
    return "; ".join(parts)


def observe_epoch(
    history: Sequence[EpochRecord], index: int, n_classes: int | None = None,
    n_held_out: int | None = None, *, task: str = "classify",
) -> str:
    """One sentence about epoch `index` of `history`, from its numbers and those before it.

    `n_held_out`, the number of held-out sequences, tells how many sequences a fall of held-out
    accuracy means (see SIGN_TEST); without it any fall counts. `task` (task.py): for a
    regression or per-step model, the record's accuracy is that task's score, and the sentence
    says so (observe_task_epoch) once the gradients are known to be sound.
    """
    now = history[index]
    before = history[index - 1] if index > 0 else None

    trouble = _gradient_trouble(before, now)
    if trouble is not None:
        return trouble

    if task != "classify":
        return observe_task_epoch(history, index, task)
    val = f", held-out accuracy {_pct(now.val_accuracy)}" if now.val_accuracy is not None else ""
    if before is None:
        return _first_epoch(now, n_classes, val)

    d_loss = _change(before.loss, now.loss)
    scale = _scale(history, before)
    rise = now.loss - before.loss
    if d_loss > DIVERGING and rise > NOISE * scale:
        return (
            f"Loss rose {_pct(d_loss)} ({_from_to(before.loss, now.loss)}, "
            f"{rise / scale:.0%} of the first epoch's {_loss(scale)}): training is "
            f"diverging; the learning rate ({now.lr:g}) may be too high."
        )
    if (
        now.val_loss is not None
        and before.val_loss is not None
        and d_loss < 0
        and _change(before.val_loss, now.val_loss) > OVERFITTING
    ):
        # A converged model's held-out loss wobbles by a large share of a tiny value: a rise
        # that is small against where held-out loss started, with held-out accuracy falling by
        # no more than chance moves it, is that wobble, not overfitting.
        if _held_out_wobble(history, before, now, n_held_out):
            return _wobble(history, before, now, d_loss, n_held_out)
        return (
            f"Held-out loss rose ({_from_to(before.val_loss, now.val_loss)}) while training "
            f"loss fell ({_from_to(before.loss, now.loss)}): the model may be starting to "
            f"memorise the training set (overfitting). Early stopping, dropout or more data "
            f"would help."
        )
    if abs(d_loss) < PLATEAU and now.loss < CONVERGED_LOSS and now.accuracy >= 1.0:
        return _converged(before, now, d_loss)
    if abs(d_loss) < PLATEAU:
        return (
            f"Loss barely moved ({_from_to(before.loss, now.loss)}, {d_loss:+.1%}): a plateau"
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
        return f"Loss fell {_pct(-d_loss)} ({_from_to(before.loss, now.loss)}){trend}: learning."
    return _rose_slightly(before, now, d_loss, rise, scale)


def _gradient_trouble(before: EpochRecord | None, now: EpochRecord) -> str | None:
    """The sentence when the updates themselves went wrong (a non-finite loss, exploding or
    vanishing gradients), whatever the task; None when they are sound."""
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
    return None


def _first_epoch(now: EpochRecord, n_classes: int | None, val: str) -> str:
    """The first epoch's numbers beside chance: accuracy 1/C, and the loss ln C of guessing."""
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


def _rose_slightly(before: EpochRecord, now: EpochRecord, d_loss: float, rise: float,
                   scale: float) -> str:
    """A small rise of the training loss: within mini-batch noise, or worth watching."""
    accuracy = _accuracy_change(before, now)
    if rise <= NOISE * scale:
        return (
            f"Loss rose slightly ({_from_to(before.loss, now.loss)}, {d_loss:+.0%}), by "
            f"{rise / scale:.1%} of the first epoch's {_loss(scale)}: within mini-batch noise"
            + (f"; {accuracy}." if accuracy else ".")
        )
    return (
        f"Loss rose slightly ({_from_to(before.loss, now.loss)}, {d_loss:+.1%})"
        + (f"; {accuracy}" if accuracy else "")
        + ": noise in the updates, worth watching if it continues."
    )


def _converged(before: EpochRecord, now: EpochRecord, d_loss: float) -> str:
    moved = f"Loss barely moved ({_from_to(before.loss, now.loss)}, {d_loss:+.1%})"
    if now.val_accuracy is None:
        return (f"{moved} at train accuracy 100%: training has converged, every training "
                "sequence is classified right. How well the model generalises cannot be judged "
                "without held-out data: score it on sequences it has not seen.")
    return (f"{moved} at train accuracy 100%: training has converged; held-out accuracy "
            f"{_pct(now.val_accuracy)} says how well it generalises.")


BARELY = 0.1  # R² against the training mean below this: barely better than predicting the mean


def _against_mean(r2: float) -> str:
    """A regression score in words: the model's RMSE as a share of the mean predictor's.

    R² = 1 − SSE/SST, with SST the squared distance from the training mean, so the model's RMSE
    is √(1 − R²) times the RMSE of always predicting that mean (on the same sequences).
    """
    if r2 <= 0:
        return (f"R² {r2:.2f}: no better than always predicting the training mean "
                f"(RMSE {math.sqrt(1 - r2):.2f}× the mean predictor's)")
    share = math.sqrt(max(0.0, 1 - r2))
    verdict = "barely learning" if r2 < BARELY else "learning"
    return (f"R² {r2:.2f}, RMSE {share:.2f}× that of always predicting the training mean: "
            f"{verdict}")


def observe_task_epoch(history: Sequence[EpochRecord], index: int, task: str) -> str:
    """The sentence for a regression or per-step model's epoch (see observe_epoch)."""
    now = history[index]
    before = history[index - 1] if index > 0 else None
    regress = task == "regress"
    score = now.val_accuracy if now.val_accuracy is not None else now.accuracy
    where = "held-out" if now.val_accuracy is not None else "train"
    said = (f"{where} {_against_mean(score)}" if regress
            else f"{where} frame accuracy {_pct(score)} of the real steps")
    if before is None:
        return f"First epoch: loss {now.loss:.3f}; {said}."
    d_loss = _change(before.loss, now.loss)
    if d_loss > DIVERGING and now.loss - before.loss > NOISE * _scale(history, before):
        return (f"Loss rose {_pct(d_loss)} ({_from_to(before.loss, now.loss)}): training is "
                f"diverging; the learning rate ({now.lr:g}) may be too high.")
    if (now.val_loss is not None and before.val_loss is not None and d_loss < 0
            and _change(before.val_loss, now.val_loss) > OVERFITTING
            and now.val_loss - before.val_loss > NOISE * _val_scale(history, before)):
        return (f"Held-out loss rose ({_from_to(before.val_loss, now.val_loss)}) while training "
                f"loss fell ({_from_to(before.loss, now.loss)}): the model may be starting to "
                f"memorise the training set; {said}.")
    if abs(d_loss) < PLATEAU:
        return f"Loss barely moved ({_from_to(before.loss, now.loss)}): a plateau; {said}."
    verb = "fell" if d_loss < 0 else "rose"
    return f"Loss {verb} {_pct(abs(d_loss))} ({_from_to(before.loss, now.loss)}); {said}."


def _wobble(
    history: Sequence[EpochRecord], before: EpochRecord, now: EpochRecord, d_loss: float,
    n_held_out: int | None,
) -> str:
    assert now.val_loss is not None and before.val_loss is not None
    start = _val_scale(history, before)
    lost = _sequences_lost(before, now, n_held_out)
    if lost > 0:
        accuracy = (f"held-out accuracy fell by {lost} of {n_held_out} sequences "
                    f"({_pct(before.val_accuracy or 0.0)} → {_pct(now.val_accuracy or 0.0)}), "
                    f"fewer than the {SIGN_TEST} that would be more than chance")
    else:
        accuracy = f"held-out accuracy held at {_pct(now.val_accuracy or 0.0)}"
    return (
        f"Loss fell {_pct(-d_loss)} ({_from_to(before.loss, now.loss)}): learning. Held-out "
        f"loss rose slightly ({_from_to(before.val_loss, now.val_loss)}, "
        f"{(now.val_loss - before.val_loss) / start:.1%} of its first {_loss(start)}) and "
        f"{accuracy}: a wobble after convergence, worth watching if it continues."
    )


def observe(
    history: Sequence[EpochRecord], n_classes: int | None = None, n_held_out: int | None = None
) -> list[str]:
    """One observation per epoch."""
    return [observe_epoch(history, i, n_classes, n_held_out) for i in range(len(history))]


FORGETTING_RATIO = 1e-2  # ∂loss/∂h_1 below this share of ∂loss/∂h_T: the start is out of reach
CHANCE_MARGIN = 1.5  # held-out accuracy at most this many times chance counts as chance


def observe_forgetting(
    history: Sequence[EpochRecord],
    grad_norm: Sequence[float],
    n_classes: int,
    summary: str = "last",
) -> str | None:
    """The last state forgetting the start of long sequences, when the numbers say so.

    `grad_norm` is ‖∂loss/∂h_t‖ per step of the forward direction (tracing/dynamics.py). Said
    only when held-out accuracy is at chance and the gradient reaching step 1 is orders of
    magnitude below the last step's: a model that learned nothing and could not have learned
    from the start of its sequences.
    """
    if summary != "last" or len(grad_norm) < 2 or not history:
        return None
    accuracy = history[-1].val_accuracy
    first, last = grad_norm[0], grad_norm[-1]
    if accuracy is None or last <= 0 or accuracy > CHANCE_MARGIN / n_classes:
        return None
    ratio = first / last
    if ratio >= FORGETTING_RATIO:
        return None
    steps = len(grad_norm)
    return (
        f"Held-out accuracy {_pct(accuracy)} is at chance ({_pct(1 / n_classes)}), and the "
        f"gradient reaching step 1 is {ratio:.1e} of the last step's ({first:.2g} against "
        f"{last:.2g}): the last state forgets the start of these {steps}-step sequences. A "
        f"summary over every step (--summary max or mean) or a front end that shortens them "
        f"(--front-end conv --window {max(2, steps // 128)}) would help; `rnntrace train` "
        f"without --preset lesson chooses such settings itself."
    )
