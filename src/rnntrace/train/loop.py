"""The training loop, its metrics and the guards an RNN needs (clipping, NaN stop, early
stopping, checkpoints and resume, data parallelism under torchrun). `fit` (fit.py) drives it."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.config.settings import TrainConfig
from rnntrace.data.batching import BatchSource, batch_order
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset, batch_source
from rnntrace.errors import RunError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.frontends import statistics_across_ranks
from rnntrace.model.modes import eval_mode
from rnntrace.model.objectives import loss_sum, score_sums
from rnntrace.records import EpochEnd, EpochRecord, History
from rnntrace.train import checkpoint, distributed
from rnntrace.train.checkpoint import Checkpoint
from rnntrace.train.distributed import World
from rnntrace.train.observations import observe_epoch
from rnntrace.train.resources import choose_threads, intra_op_threads, resolve_device

__all__ = [
    "Data",
    "EpochEnd",
    "History",
    "choose_threads",
    "evaluate",
    "intra_op_threads",
    "predict_logits",
    "resolve_device",
    "train_epochs",
]


Data = SequenceSet | RowSubset | BatchSource  # what fit, evaluate and predict accept


def _source(data: Data, device: torch.device) -> BatchSource:
    return batch_source(data, device) if isinstance(data, SequenceSet | RowSubset) else data


@torch.inference_mode()
def _eval_sums(
    model: SequenceClassifier, data: BatchSource, batch_size: int, world: World
) -> tuple[float, float]:
    device = next(model.parameters()).device
    if model.config.task != "classify":
        return _task_eval_sums(model, data, batch_size, world)
    sums = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, correct count
    for group in batch_order(data, batch_size):
        index = distributed.shard(group, world)
        if len(index) == 0:
            continue
        batch = data.take(index, model.config.batch_first)
        logits = model(batch.x, batch.lengths)  # (B, C)
        sums[0] += nn.functional.cross_entropy(logits, batch.y, reduction="sum")
        sums[1] += (logits.argmax(1) == batch.y).sum()
    distributed.all_sum(sums, world)
    n = len(data)
    return float(sums[0]) / n, float(sums[1]) / n


def _task_eval_sums(
    model: SequenceClassifier, data: BatchSource, batch_size: int, world: World
) -> tuple[float, float]:
    """Mean loss and the task's score (objectives.py) of a regression or per-step model."""
    device = next(model.parameters()).device
    # loss sum, loss terms, score numerator, score denominator
    sums = torch.zeros(4, dtype=torch.float64, device=device)
    for group in batch_order(data, batch_size):
        index = distributed.shard(group, world)
        if len(index) == 0:
            continue
        batch = data.take(index, model.config.batch_first)
        out = model(batch.x, batch.lengths)
        total, terms = loss_sum(model, out, batch.y)
        num, den = score_sums(model, out, batch.y)
        sums += torch.stack([total.double(), terms.double().to(device), num.double(),
                             den.double().to(device)])
    distributed.all_sum(sums, world)
    return float(sums[0] / sums[1].clamp(min=1)), _ratio(float(sums[2]), float(sums[3]))


def _ratio(num: float, den: float) -> float:
    """A score's numerator over its denominator; 0 when nothing was scored (no spread)."""
    return num / den if den > 0 else 0.0


def evaluate(
    model: SequenceClassifier,
    data: Data,
    batch_size: int = 256,
    world: World | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy over a data set (shared across ranks under DDP)."""
    with eval_mode(model):
        device = next(model.parameters()).device
        return _eval_sums(model, _source(data, device), batch_size, world or World())


def train_epochs(
    model: SequenceClassifier,
    train: Data,
    val: Data | None,
    config: TrainConfig,
    *,
    on_epoch_end: Callable[[EpochEnd], Any] | None = None,
    checkpoints: Path | None = None,
    resume: Checkpoint | None = None,
) -> History:
    """The training loop: `config.epochs` epochs of `train`, scoring `val` after each.

    `fit` (fit.py) calls it with the split and statistics it took; this runs the epochs only.
    A non-finite loss stops training and restores the weights from before that epoch. With
    `checkpoints`, the state after each epoch is saved there (rank 0 only); `resume` continues
    from such a checkpoint and ends with the weights an uninterrupted run would have. Under
    torchrun (WORLD_SIZE > 1) the ranks train one model together with DDP.
    """
    device = resolve_device(config.device)
    with distributed.process_group(device) as world:
        if world.distributed and device.type == "cuda":
            device = torch.device("cuda", world.local_rank)
        model.to(device)
        loop = _Loop(model, config, device, world, checkpoints)
        with intra_op_threads(loop.history.threads), \
                statistics_across_ranks(model, world.distributed):
            if resume is not None:
                try:
                    loop.restore(resume)
                except (RuntimeError, ValueError, KeyError, TypeError, IndexError,
                        AttributeError) as exc:
                    # Only the file's contents are read here: any failure means a damaged one.
                    raise RunError(f"--resume: the checkpoint's training state is damaged "
                                   f"({type(exc).__name__}); start the run again") from None
            loop.run(
                _source(train, device),
                _source(val, device) if val is not None else None,
                on_epoch_end,
            )
        history = loop.history
        del loop  # its DDP wrapper must be gone before the process group is left (at exit)
        return history


def _no_buffer_sync() -> dict[str, Any]:
    """DDP's option not to broadcast buffers at every forward, under its old or new name.

    The standardisation buffers are equal on every rank (the same training statistics), so
    broadcasting them each step would be a wasted collective.
    """
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters:
        return {"forward_sync_buffers": False}
    return {"broadcast_buffers": False}


class _Loop:
    """The state of one fit: optimizer, schedule, generators, early stopping, history."""

    def __init__(
        self,
        model: SequenceClassifier,
        config: TrainConfig,
        device: torch.device,
        world: World,
        checkpoints: Path | None,
    ) -> None:
        self.model, self.config, self.device, self.world = model, config, device, world
        self.checkpoints = checkpoints if world.is_main and config.checkpoint else None
        self.history = History(
            threads=choose_threads(config, model.config), device=str(device), world_size=world.size
        )
        # One seed drives shuffling (its own generator) and dropout (torch's global generator);
        # every rank draws the same permutation and takes its own share of each batch.
        torch.manual_seed(config.seed)
        self.shuffle = torch.Generator().manual_seed(config.seed)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = _adam(self.params, config)
        self.scheduler: Any = None
        if config.lr_schedule == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=0.5, patience=1
            )
        elif config.lr_schedule == "cosine":  # lr falls to 0 along a half cosine over the epochs
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.optimizer, T_max=config.epochs
            )
        self.net: nn.Module = model
        if world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [device.index] if device.type == "cuda" else None
            self.net = DistributedDataParallel(model, device_ids=ids, **_no_buffer_sync())
        self.start_epoch = 1
        self.best_loss = math.inf
        self.bad_epochs = 0
        self.best_weights: dict[str, Tensor] | None = None

    def restore(self, state: Checkpoint) -> None:
        """Continue from a checkpoint: weights, optimizer, schedule, generators and history."""
        mine = {"model": dataclasses.asdict(self.model.config), "train": self._comparable()}
        theirs = {"model": state.config.get("model"), "train": _comparable(state.config["train"])}
        if mine != theirs:
            raise RunError("--resume: the checkpoint was written by a run with other settings")
        self.model.load_state_dict(state.model)
        self.optimizer.load_state_dict(state.optimizer)
        if self.scheduler is not None and state.scheduler is not None:
            self.scheduler.load_state_dict(state.scheduler)
        torch.set_rng_state(state.rng["torch"])
        self.shuffle.set_state(state.rng["shuffle"])
        if self.device.type == "cuda" and state.rng.get("cuda"):
            torch.cuda.set_rng_state_all(state.rng["cuda"])
        threads, device = self.history.threads, self.history.device
        self.history = History.from_dict(state.history)
        self.history.threads, self.history.device = threads, device
        self.history.world_size = self.world.size
        self.best_loss = state.early_stop["best_loss"]
        self.bad_epochs = state.early_stop["bad_epochs"]
        self.best_weights = state.early_stop["best_weights"]
        self.start_epoch = state.epoch + 1

    def _comparable(self) -> dict[str, Any]:
        return _comparable(dataclasses.asdict(self.config))

    def run(
        self,
        train: BatchSource,
        val: BatchSource | None,
        on_epoch_end: Callable[[EpochEnd], Any] | None,
    ) -> None:
        if self.history.stop_reason is not None:
            return  # the checkpoint is of a run that had already stopped
        for epoch in range(self.start_epoch, self.config.epochs + 1):
            last_good = _clone(self.model.state_dict())
            if self.model.config.task == "classify":
                seconds, sums, steps = self._train_epoch(train)
                n = len(train)
                loss, score = float(sums[0]) / n, float(sums[1]) / n
            else:
                seconds, sums, steps = self._train_task_epoch(train)
                loss = float(sums[0]) / max(float(sums[3]), 1.0)
                score = _ratio(float(sums[1]), float(sums[4]))
                n = len(train)
            val_loss, val_acc = self._score_held_out(val) if val is not None else (None, None)
            record = EpochRecord(
                epoch=epoch,
                loss=loss,
                accuracy=score,
                val_loss=val_loss,
                val_accuracy=val_acc,
                grad_norm=float(sums[2]) / max(steps, 1),
                lr=self.optimizer.param_groups[0]["lr"],
            )
            history = self.history
            history.records.append(record)
            record.observation = observe_epoch(
                history.records, len(history.records) - 1, self.model.config.n_classes,
                len(val) if val is not None else None, task=self.model.config.task,
            )
            history.train_seconds.append(seconds)
            history.seqs_per_s.append(n / seconds if seconds > 0 else float("inf"))
            if on_epoch_end is not None:
                on_epoch_end(EpochEnd(record, self.config.epochs, seconds, history.seqs_per_s[-1]))
            if not _all_finite(record.loss, record.grad_norm, record.val_loss):
                self.model.load_state_dict(last_good)
                history.stop_reason = f"non-finite loss in epoch {epoch}"
                return
            self._after_epoch(record)
            self._save(epoch)
            if history.stop_reason is not None:
                return
        self._keep_best()

    def _score_held_out(self, val: BatchSource) -> tuple[float, float]:
        # In eval mode, as the model will be used: in training mode dropout would perturb the
        # score and BatchNorm would normalise by the held-out batch and fold it into its
        # running statistics.
        with eval_mode(self.model):
            return _eval_sums(self.model, val, 256, self.world)

    def _keep_best(self) -> None:
        """With early stopping, end on the best held-out weights even when every epoch ran."""
        if self.config.patience is None or self.best_weights is None or self.bad_epochs == 0:
            return
        self.model.load_state_dict(self.best_weights)
        best = self.history.records[-1].epoch - self.bad_epochs
        self.history.stop_reason = (
            f"all {self.config.epochs} epochs ran; kept the weights of epoch {best}, "
            "the best held-out loss"
        )

    def _train_epoch(self, data: BatchSource) -> tuple[float, Tensor, int]:
        """One pass over the data; returns seconds, [loss sum, correct, grad-norm sum], steps."""
        model, world, config = self.model, self.world, self.config
        model.train()
        max_norm = config.clip_grad_norm if config.clip_grad_norm is not None else math.inf
        batch_first = model.config.batch_first
        # Accumulated in place on the device: no host sync, and nothing kept per step (a list
        # of small per-step tensors fragmented the heap: +70 MB per 300 steps, measured).
        loss_sum = torch.zeros((), device=self.device)
        norm_sum = torch.zeros((), device=self.device)
        predicted = torch.empty(len(data), dtype=torch.long, device=self.device)
        used: list[Tensor] = []  # the indices trained on, to compare `predicted` with at the end
        filled = 0
        start = time.perf_counter()
        order = batch_order(data, config.batch_size, generator=self.shuffle, bucket=config.bucket)
        for group in order:
            if len(group) < world.size:
                continue  # too small to give every rank a sequence (only a last, tiny batch)
            index = distributed.shard(group, world)
            batch = data.take(index, batch_first)
            self.optimizer.zero_grad(set_to_none=True)
            logits = self.net(batch.x, batch.lengths)  # (B, C)
            if world.distributed:
                # DDP averages gradients over ranks; scaling each rank's summed loss this way
                # makes that average the gradient of the whole global batch's mean loss.
                ce_sum = nn.functional.cross_entropy(logits, batch.y, reduction="sum")
                (ce_sum * (world.size / len(group))).backward()  # type: ignore[no-untyped-call]
                loss_sum.add_(ce_sum.detach())
            else:
                loss = nn.functional.cross_entropy(logits, batch.y)
                loss.backward()  # type: ignore[no-untyped-call]
                loss_sum.add_(loss.detach(), alpha=len(batch))
            # The norm before clipping: the honest measure of exploding gradients.
            norm_sum.add_(nn.utils.clip_grad_norm_(self.params, max_norm, foreach=True))
            self.optimizer.step()
            predicted[filled : filled + len(batch)] = logits.detach().argmax(1)
            filled += len(batch)
            used.append(index)
        steps = len(used)
        targets = data.y[torch.cat(used)] if used else predicted[:0]
        correct = (predicted[:filled] == targets.to(self.device)).sum()
        sums = torch.stack([loss_sum, correct.to(loss_sum.dtype), norm_sum]).double()
        distributed.all_sum(sums, world)
        if world.distributed:
            sums[2] /= world.size  # every rank saw the same (all-reduced) gradients
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter() - start, sums.cpu(), steps

    def _train_task_epoch(self, data: BatchSource) -> tuple[float, Tensor, int]:
        """One pass of a regression or per-step model (objectives.py); returns seconds,
        [loss sum, score numerator, grad-norm sum, loss terms, score denominator], steps."""
        model, world, config = self.model, self.world, self.config
        model.train()
        max_norm = config.clip_grad_norm if config.clip_grad_norm is not None else math.inf
        sums = torch.zeros(5, dtype=torch.float64, device=self.device)
        steps = 0
        start = time.perf_counter()
        order = batch_order(data, config.batch_size, generator=self.shuffle, bucket=config.bucket)
        for group in order:
            if len(group) < world.size:
                continue
            batch = data.take(distributed.shard(group, world), model.config.batch_first)
            self.optimizer.zero_grad(set_to_none=True)
            out = self.net(batch.x, batch.lengths)
            total, terms = loss_sum(model, out, batch.y)
            # The mean over this batch's terms (its real steps, for a per-step task); under
            # DDP the ranks' gradients are then averaged, as for the classifier.
            (total / terms.clamp(min=1).to(total.device)).backward()  # type: ignore[no-untyped-call]
            norm = nn.utils.clip_grad_norm_(self.params, max_norm, foreach=True)
            self.optimizer.step()
            num, den = score_sums(model, out.detach(), batch.y)
            sums += torch.stack([total.detach().double(), num.double(), norm.double(),
                                 terms.double().to(self.device), den.double().to(self.device)])
            steps += 1
        distributed.all_sum(sums, world)
        if world.distributed:
            sums[2] /= world.size
        return time.perf_counter() - start, sums.cpu(), steps

    def _after_epoch(self, record: EpochRecord) -> None:
        """Learning-rate schedule and early stopping, on held-out loss (training loss if none)."""
        watched = record.val_loss if record.val_loss is not None else record.loss
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(watched)
        elif self.scheduler is not None:
            self.scheduler.step()
        if self.config.patience is None:
            return
        if watched < self.best_loss:
            self.best_loss, self.bad_epochs = watched, 0
            self.best_weights = _clone(self.model.state_dict())
        else:
            self.bad_epochs += 1
        if self.bad_epochs >= self.config.patience and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            best = record.epoch - self.bad_epochs
            self.history.stop_reason = (
                f"early stop: held-out loss did not improve for {self.bad_epochs} epochs; "
                f"kept the weights of epoch {best}"
            )

    def _save(self, epoch: int) -> None:
        if self.checkpoints is None:
            return
        rng: dict[str, Any] = {"torch": torch.get_rng_state(), "shuffle": self.shuffle.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        state = Checkpoint(
            epoch=epoch,
            model=_clone(self.model.state_dict(), "cpu"),
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            rng=rng,
            history=self.history.to_dict(),
            early_stop={
                "best_loss": self.best_loss,
                "bad_epochs": self.bad_epochs,
                "best_weights": self.best_weights,
            },
            config={
                "model": dataclasses.asdict(self.model.config),
                "train": self._comparable(),
                "epochs": self.config.epochs,
            },
        )
        checkpoint.save(self.checkpoints / checkpoint.LAST, state)


def _adam(params: list[nn.Parameter], config: TrainConfig) -> torch.optim.Adam:
    """Adam with its fused kernel: one kernel per update instead of several small ops per
    parameter (measured 1.15× the whole lesson step on CPU); the same update rule."""
    try:
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    except (RuntimeError, ValueError):  # a device or an older torch without a fused kernel
        return torch.optim.Adam(
            params, lr=config.lr, weight_decay=config.weight_decay, foreach=True
        )


def _comparable(train: dict[str, Any]) -> dict[str, Any]:
    """Training settings a resumed run must share; epochs may grow."""
    return {k: v for k, v in train.items() if k != "epochs"}


def _clone(state: dict[str, Tensor], device: str | None = None) -> dict[str, Tensor]:
    return {
        k: v.detach().to(device).clone() if device else v.detach().clone() for k, v in state.items()
    }


def _all_finite(*values: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


def predict_logits(model: SequenceClassifier, data: Data, batch_size: int = 256) -> Tensor:
    """Logits for every sequence of `data`, in order, (N, C)."""
    device = next(model.parameters()).device
    source = _source(data, device)
    with eval_mode(model), torch.inference_mode():
        out = [
            model(b.x, b.lengths)
            for b in (
                source.take(index, model.config.batch_first)
                for index in batch_order(source, batch_size, bucket=False)
            )
        ]
        return torch.cat(out).cpu()
