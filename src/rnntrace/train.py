"""fit(): the training loop, its metrics and the guards an RNN needs (clipping, NaN stop)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.config import TrainConfig
from rnntrace.data.batching import TensorSet, batches
from rnntrace.data.sequences import SequenceSet
from rnntrace.model import SequenceClassifier
from rnntrace.observe import observe_epoch
from rnntrace.records import EpochRecord


@dataclass
class EpochEnd:
    """What `on_epoch_end` receives after each epoch."""

    record: EpochRecord
    epochs: int  # planned in total
    train_seconds: float
    seqs_per_s: float


@dataclass
class History:
    """Per-epoch records of a fit, plus their timings and why training stopped."""

    records: list[EpochRecord] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    seqs_per_s: list[float] = field(default_factory=list)
    stop_reason: str | None = None  # None: all epochs ran
    threads: int = 1
    device: str = "cpu"


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when there is a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from rnntrace.errors import ConfigError

        raise ConfigError("--device cuda asked for, but PyTorch sees no CUDA GPU; use cpu or auto")
    return torch.device(name)


def choose_threads(config: TrainConfig, model: SequenceClassifier) -> int:
    """Intra-op threads: one for small steps, where thread hand-offs cost more than they save.

    On a busy 2-core machine a small GRU was measured 100× slower with PyTorch's default threads
    than with one, as OpenMP threads stalled each other; threads pay off only for large matmuls.
    """
    if config.threads is not None:
        return config.threads
    cfg = model.config
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[cfg.cell]
    work = config.batch_size * cfg.hidden_size * gates * cfg.hidden_size
    return 1 if work < 256 * 64 * 64 else max(1, min(4, os.cpu_count() or 1))


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Use n intra-op threads inside the block and restore the caller's setting after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.inference_mode()
def evaluate(
    model: SequenceClassifier, data: TensorSet, batch_size: int = 256
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy over a data set."""
    was_training = model.training
    model.eval()
    try:
        total_loss = torch.zeros((), device=data.x.device)
        correct = torch.zeros((), dtype=torch.long, device=data.x.device)
        for batch in batches(data, batch_size, batch_first=model.config.batch_first):
            logits = model(batch.x, batch.lengths)
            total_loss += nn.functional.cross_entropy(logits, batch.y, reduction="sum")
            correct += (logits.argmax(1) == batch.y).sum()
        n = len(data)
        return float(total_loss) / n, float(correct) / n
    finally:
        model.train(was_training)


def fit(
    model: SequenceClassifier,
    train: SequenceSet,
    val: SequenceSet | None = None,
    config: TrainConfig | None = None,
    *,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    **overrides: Any,
) -> History:
    """Train `model` on `train`, scoring `val` after each epoch; keyword overrides patch `config`.

    A non-finite loss stops training and restores the weights from before that epoch.
    """
    config = replace(config or TrainConfig(), **overrides)
    device = resolve_device(config.device)
    model.to(device)
    history = History(threads=choose_threads(config, model), device=str(device))
    train_t = TensorSet.from_sequences(train, device)
    val_t = TensorSet.from_sequences(val, device) if val is not None else None

    # One seed drives shuffling (its own generator) and dropout (torch's global generator).
    torch.manual_seed(config.seed)
    shuffle = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    params = [p for p in model.parameters() if p.requires_grad]
    max_norm = config.clip_grad_norm if config.clip_grad_norm is not None else math.inf
    batch_first = model.config.batch_first

    with intra_op_threads(history.threads):
        for epoch in range(1, config.epochs + 1):
            last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            model.train()
            start = time.perf_counter()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), dtype=torch.long, device=device)
            norm_sum = torch.zeros((), device=device)
            steps = 0
            for batch in batches(
                train_t, config.batch_size, batch_first=batch_first, generator=shuffle
            ):
                optimizer.zero_grad(set_to_none=True)
                logits = model(batch.x, batch.lengths)  # (B, C)
                loss = nn.functional.cross_entropy(logits, batch.y)
                loss.backward()  # type: ignore[no-untyped-call]
                # The norm before clipping: the honest measure of exploding gradients.
                norm_sum += nn.utils.clip_grad_norm_(params, max_norm)
                optimizer.step()
                loss_sum += loss.detach() * len(batch)
                correct += (logits.detach().argmax(1) == batch.y).sum()
                steps += 1
            seconds = time.perf_counter() - start
            n = len(train_t)
            loss_value = float(loss_sum) / n
            val_loss, val_acc = evaluate(model, val_t) if val_t is not None else (None, None)
            record = EpochRecord(
                epoch=epoch,
                loss=loss_value,
                accuracy=float(correct) / n,
                val_loss=val_loss,
                val_accuracy=val_acc,
                grad_norm=float(norm_sum) / max(steps, 1),
                lr=optimizer.param_groups[0]["lr"],
            )
            history.records.append(record)
            record.observation = observe_epoch(
                history.records, len(history.records) - 1, model.config.n_classes
            )
            history.train_seconds.append(seconds)
            history.seqs_per_s.append(n / seconds if seconds > 0 else float("inf"))
            if on_epoch_end is not None:
                on_epoch_end(EpochEnd(record, config.epochs, seconds, history.seqs_per_s[-1]))
            if not _all_finite(record.loss, record.grad_norm, record.val_loss):
                model.load_state_dict(last_good)
                history.stop_reason = f"non-finite loss in epoch {epoch}"
                break
    return history


def _all_finite(*values: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


def predict_logits(model: SequenceClassifier, data: SequenceSet, batch_size: int = 256) -> Tensor:
    """Logits for every sequence of `data`, in order, (N, C)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    tensors = TensorSet.from_sequences(data, device)
    try:
        with torch.inference_mode():
            out = [
                model(b.x, b.lengths)
                for b in batches(
                    tensors, batch_size, batch_first=model.config.batch_first, bucket=False
                )
            ]
        return torch.cat(out).cpu()
    finally:
        model.train(was_training)
