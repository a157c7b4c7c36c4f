"""The no-flag defaults for text: settings chosen from the training file alone.

The same rule as the numeric defaults (search.py), with candidates that differ where text
needs it. A character-level classifier of short texts (names, words, titles) decides from
letters anywhere in the text, often from a few at its start (prefixes) as much as its end
(suffixes); a last state read after the final letter weighs the end most. So the candidates
read the text in both directions and summarise every step (max or attention), with wider
embeddings:

    gru+last            Embedding 32 → GRU 128 → last state      the plain script's model
    bigru+max           Embedding 64 → BiGRU 128 → max over steps
    bigru+attention     Embedding 64 → BiGRU 128 → attention over steps

Each candidate trains on a stratified 80 % of the training file with early stopping on the
other 20 %, then SWA_EPOCHS more epochs at a constant small lr ending on the mean of their
weights (averaging.py), and is scored on the held-out 20 % as the averaged model it would
become. The best held-out accuracy wins (a tie: the earlier candidate). The final model trains
on all the training data for the winner's best epoch count (refit.py), and ends averaged too.

The budget is deterministic, not measured on the clock (a shared machine's wall time would make
the same seed choose differently): a set whose candidates would cost more than WORK_BUDGET
letter-epochs keeps only the first candidates that fit.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.records import CandidateScore, Choice, EpochEnd
from rnntrace.train.averaging import SWA_EPOCHS, SWA_LR
from rnntrace.train.loop import evaluate
from rnntrace.train.refit import best_epoch, held_out_pass
from rnntrace.train.search import SearchProgress
from rnntrace.train.split import split

_BASE: dict[str, Any] = {"cell": "gru", "hidden_size": 128, "embedding_dropout": 0.3}
# In order of preference on a tie: the plain script's model first, so that a set on which the
# richer readers bring nothing keeps the simplest.
TEXT_CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("gru+last", {"embedding_dim": 32, "summary": "last"}),
    ("bigru+max", {"embedding_dim": 64, "summary": "max", "bidirectional": True}),
    ("bigru+attention", {"embedding_dim": 64, "summary": "attention", "bidirectional": True}),
)
TEXT_MODEL_KEYS = ("cell", "hidden_size", "embedding_dim", "embedding_dropout", "summary",
                   "bidirectional", "num_layers", "dropout", "nonlinearity", "proj_size")
TEXT_TRAIN_KEYS = ("lr", "batch_size", "epochs", "lr_schedule")
LR = 3e-3
MAX_EPOCHS = 30  # per candidate; early stopping usually ends sooner
PATIENCE = 5  # epochs without a better held-out loss before a candidate stops
MIN_FINAL_EPOCHS = 3
# Letters read per epoch × epochs, summed over candidates (a bidirectional one reads twice):
# 3 candidates on 2,400 surnames of ~7 letters for ~30 + 20 epochs are ~5e6; a set whose cost
# would pass this keeps the first candidates that fit.
WORK_BUDGET = 2.5e7


def _work(data: SequenceSet, settings: dict[str, Any]) -> float:
    letters = float(data.lengths.sum())
    return letters * (MAX_EPOCHS + SWA_EPOCHS) * (2 if settings.get("bidirectional") else 1)


def choose_text(
    data: SequenceSet,
    user: dict[str, Any],
    *,
    vocab_size: int,
    seed: int = 0,
    val: SequenceSet | None = None,
    val_fraction: float = 0.2,
    on_progress: Callable[[SearchProgress], Any] | None = None,
    budget: float = WORK_BUDGET,
    **engine: Any,
) -> tuple[ModelConfig, TrainConfig, Choice]:
    """The final model and training settings for a text set, and how they were chosen.

    `user` holds the settings the user set (ModelConfig/TrainConfig field names); they override
    every candidate. `data` holds token ids (n_features 1) of a vocabulary of `vocab_size`.
    """
    started = time.perf_counter()
    fixed_model = {k: v for k, v in user.items() if k in TEXT_MODEL_KEYS} | {
        "vocab_size": vocab_size}
    fixed_train = {k: v for k, v in user.items() if k in TEXT_TRAIN_KEYS}
    lr = float(fixed_train.get("lr", LR))
    search_config = TrainConfig(
        epochs=int(fixed_train.get("epochs", MAX_EPOCHS)), seed=seed, val_fraction=val_fraction,
        patience=PATIENCE, checkpoint=False, lr=lr,
        batch_size=int(fixed_train.get("batch_size", TrainConfig.batch_size)),
        lr_schedule=str(fixed_train.get("lr_schedule", "none")), **engine,
    )
    parts = split(data, val, search_config)
    if parts.held_out is None:  # val_fraction 0: score on the training data itself
        parts = dataclasses.replace(parts, held_out=parts.train)
    held_out = parts.held_out
    assert held_out is not None

    candidates: list[tuple[str, dict[str, Any]]] = []
    spent = 0.0
    for name, options in TEXT_CANDIDATES:
        settings = {**_BASE, **options, **fixed_model}
        cost = _work(data, settings)
        if candidates and spent + cost > budget:
            break
        if all(settings != other for _, other in candidates):
            candidates.append((name, settings))
            spent += cost

    scores = [_score(data, parts, settings, search_config, i, len(candidates), name, on_progress)
              for i, (name, settings) in enumerate(candidates, start=1)]
    best = min(range(len(scores)), key=lambda i: (-scores[i].val_accuracy, i))
    winner = scores[best]
    model_config = ModelConfig(n_features=1, n_classes=data.n_classes, **candidates[best][1])
    epochs = int(fixed_train.get("epochs", max(winner.best_epoch, MIN_FINAL_EPOCHS)))
    refit = val is None
    train_config = dataclasses.replace(
        search_config, epochs=epochs, patience=None, checkpoint=True,
        val_fraction=0.0 if refit else val_fraction, average_epochs=SWA_EPOCHS)
    settings = {k: getattr(model_config, k) for k in TEXT_MODEL_KEYS} | {
        "vocab_size": vocab_size,
        "lr": lr, "batch_size": train_config.batch_size, "epochs": epochs,
        "averaged_epochs": SWA_EPOCHS, "averaging_lr": SWA_LR}
    choice = Choice(
        chosen=winner.name, settings=settings, user_settings=dict(user), candidates=scores,
        held_out=len(held_out), reason=_reason(scores, best, len(held_out), epochs, refit),
        seconds=round(time.perf_counter() - started, 2),
    )
    return model_config, train_config, choice


def _score(
    data: SequenceSet, parts: Any, settings: dict[str, Any], config: TrainConfig, index: int,
    total: int, name: str, on_progress: Callable[[SearchProgress], Any] | None,
) -> CandidateScore:
    started = time.perf_counter()

    def report(end: EpochEnd) -> None:
        if on_progress is not None:
            on_progress(SearchProgress(index, total, name, epoch=end))

    model_config = ModelConfig(n_features=1, n_classes=data.n_classes, **settings)
    model, history = held_out_pass(model_config, parts, config, report, average=True)
    val_loss, val_acc = evaluate(model, parts.held_out)
    score = CandidateScore(
        name=name,
        settings={k: getattr(model_config, k) for k in (
            "summary", "bidirectional", "embedding_dim", "cell", "hidden_size")} | {
            "lr": config.lr},
        val_accuracy=round(val_acc, 4), val_loss=round(val_loss, 4),
        best_epoch=best_epoch(history, "accuracy"), epochs_run=len(history.records),
        seconds=round(time.perf_counter() - started, 2),
    )
    if on_progress is not None:
        on_progress(SearchProgress(index, total, name, score=score))
    return score


def _reason(scores: list[CandidateScore], best: int, held_out: int, epochs: int,
            refit: bool) -> str:
    winner = scores[best]
    if len(scores) == 1:
        why = "the only candidate within the budget or your flags"
    else:
        runner = max((s for i, s in enumerate(scores) if i != best),
                     key=lambda s: s.val_accuracy)
        tie = runner.val_accuracy == winner.val_accuracy
        why = (f"best held-out accuracy {winner.val_accuracy:.3f} on {held_out} training texts "
               f"held out (next: {runner.name} {runner.val_accuracy:.3f}"
               f"{', a tie: the earlier candidate wins' if tie else ''})")
    where = "all the training data" if refit else "the training data"
    return (f"{winner.name}: {why}; then trained on {where} for {epochs} epochs (its best) "
            f"and {SWA_EPOCHS} more at lr {SWA_LR:g}, ending on their mean weights")
