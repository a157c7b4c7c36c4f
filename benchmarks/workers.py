"""One benchmark case, run in a fresh process: time it, read peak memory, print one JSON line.

    python benchmarks/workers.py '{"kind": "train", "who": "rnntrace", "n": 1000, ...}'

Kept apart from run.py so each case starts from a clean interpreter: peak resident memory
(ru_maxrss) is per process, and one case's allocations must not count against the next.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.batching import batch_order
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import batch_source
from rnntrace.model.classifier import SequenceClassifier, gather_last_step
from rnntrace.train.fit import fit
from rnntrace.train.loop import choose_threads, predict_logits

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def make_data(spec: dict[str, Any]) -> SequenceSet:
    """The case's sequences: the lesson itself, or seeded random values (speed ignores meaning)."""
    if spec.get("lesson"):
        from rnntrace.data.synthetic import lesson

        return lesson(seed=0)
    rng = np.random.default_rng(0)
    n, t, f = spec["n"], spec["t"], spec["f"]
    values = rng.standard_normal((n, t, f), dtype=np.float32)
    if spec.get("min_length"):
        lengths = rng.integers(spec["min_length"], t + 1, size=n)
        values[np.arange(t)[None, :] >= lengths[:, None]] = 0.0  # padding is zero
    else:
        lengths = np.full(n, t)
    labels = rng.integers(0, 3, size=n)
    return SequenceSet(values, lengths, labels, ["a", "b", "c"])


class PlainNet(nn.Module):
    """The tutorial model: nn.RNN/GRU/LSTM, then Linear on the last output step."""

    def __init__(self, cell: str, f: int, h: int) -> None:
        super().__init__()
        self.rnn = CELLS[cell](f, h, batch_first=True)
        self.fc = nn.Linear(h, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (B, T, H)
        return self.fc(out[:, -1])  # type: ignore[no-any-return]


def timed_epochs(run_epoch: Callable[[], int], repeats: int) -> list[float]:
    """Sequences per second of each epoch after one warm-up epoch."""
    run_epoch()
    speeds = []
    for _ in range(repeats):
        start = time.perf_counter()
        n = run_epoch()
        speeds.append(n / (time.perf_counter() - start))
    return speeds


def train_rnntrace(spec: dict[str, Any], data: SequenceSet) -> tuple[list[float], int]:
    torch.manual_seed(0)
    model = SequenceClassifier(data.n_features, 3, spec["hidden"], spec["cell"])
    config = TrainConfig(
        epochs=spec["repeats"] + 1,
        batch_size=spec["batch"],
        lr=1e-3,
        val_fraction=0.0,  # every contender trains on the same, whole data set
        bucket=spec.get("bucket", True),
        threads=spec.get("threads"),
    )
    history = fit(model, data, None, config)
    return history.seqs_per_s[1:], history.threads


def plain_epoch(spec: dict[str, Any], data: SequenceSet) -> tuple[Callable[[], int], int]:
    """The tutorial loop's epoch, and its threads: PyTorch's default unless --threads."""
    torch.manual_seed(0)
    threads = spec.get("threads") or torch.get_num_threads()
    x, y = torch.from_numpy(data.values), torch.from_numpy(data.labels)
    loader = DataLoader(TensorDataset(x, y), batch_size=spec["batch"], shuffle=True)
    model = PlainNet(spec["cell"], data.n_features, spec["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def epoch() -> int:
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
        return len(y)

    return epoch, threads


def floor_epoch(spec: dict[str, Any], data: SequenceSet) -> tuple[Callable[[], int], int]:
    """Pre-made contiguous batches; forward, loss, backward and step, nothing else."""
    torch.manual_seed(0)
    model_config = ModelConfig(data.n_features, 3, spec["hidden"], spec["cell"])
    threads = spec.get("threads") or choose_threads(
        TrainConfig(batch_size=spec["batch"]), model_config
    )
    x, y = torch.from_numpy(data.values), torch.from_numpy(data.labels)
    b = spec["batch"]
    batches = [(x[i : i + b].contiguous(), y[i : i + b]) for i in range(0, len(y), b)]
    model = PlainNet(spec["cell"], data.n_features, spec["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def epoch() -> int:
        for xb, yb in batches:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        return len(y)

    return epoch, threads


def train_plain(spec: dict[str, Any], data: SequenceSet) -> tuple[list[float], int]:
    epoch, threads = plain_epoch(spec, data)
    torch.set_num_threads(threads)
    return timed_epochs(epoch, spec["repeats"]), threads


def train_floor(spec: dict[str, Any], data: SequenceSet) -> tuple[list[float], int]:
    epoch, threads = floor_epoch(spec, data)
    torch.set_num_threads(threads)
    return timed_epochs(epoch, spec["repeats"]), threads


def train_turns(spec: dict[str, Any], data: SequenceSet) -> dict[str, Any]:
    """All three in one process, an epoch each in turn: rnntrace's epoch, then the plain loop's
    and the floor's inside its on_epoch_end, so a busy spell of a shared machine hits all alike.
    Each runs with its own threads; rnntrace's timing excludes the callback."""
    others = {"plain": plain_epoch(spec, data), "floor": floor_epoch(spec, data)}
    speeds: dict[str, list[float]] = {who: [] for who in others}

    def turn(_: object) -> None:
        mine = torch.get_num_threads()
        for who, (epoch, threads) in others.items():
            torch.set_num_threads(threads)
            start = time.perf_counter()
            n = epoch()
            speeds[who].append(n / (time.perf_counter() - start))
        torch.set_num_threads(mine)

    torch.manual_seed(0)
    model = SequenceClassifier(data.n_features, 3, spec["hidden"], spec["cell"])
    config = TrainConfig(
        epochs=spec["repeats"] + 1,
        batch_size=spec["batch"],
        lr=1e-3,
        val_fraction=0.0,
        threads=spec.get("threads"),
    )
    history = fit(model, data, None, config, on_epoch_end=turn)
    speeds["rnntrace"] = history.seqs_per_s
    threads = {
        "plain": others["plain"][1],
        "floor": others["floor"][1],
        "rnntrace": history.threads,
    }
    # The first turn of each warms up caches and allocators.
    return {
        who: {"median": statistics.median(v[1:]), "threads": threads[who]}
        for who, v in speeds.items()
    }


def predict_rnntrace(spec: dict[str, Any], data: SequenceSet) -> tuple[list[float], int]:
    model = SequenceClassifier(data.n_features, 3, spec["hidden"], spec["cell"])
    threads = spec.get("threads") or choose_threads(TrainConfig(batch_size=256), model.config)
    torch.set_num_threads(threads)
    return timed_epochs(lambda: len(predict_logits(model, data)), spec["repeats"]), threads


def predict_plain(spec: dict[str, Any], data: SequenceSet) -> tuple[list[float], int]:
    model = PlainNet(spec["cell"], data.n_features, spec["hidden"]).eval()
    x, y = torch.from_numpy(data.values), torch.from_numpy(data.labels)
    loader = DataLoader(TensorDataset(x, y), batch_size=256)

    def epoch() -> int:
        with torch.no_grad():
            return sum(len(model(xb)) for xb, _ in loader)

    return timed_epochs(epoch, spec["repeats"]), torch.get_num_threads()


def padded_steps(spec: dict[str, Any], data: SequenceSet) -> tuple[list[float], int]:
    """Time steps computed per epoch (real plus padding) with or without bucketing."""
    source = batch_source(data)
    groups = batch_order(
        source, spec["batch"], generator=torch.Generator().manual_seed(0), bucket=spec["bucket"]
    )
    return [float(sum(len(g) * int(source.lengths[g].max()) for g in groups))], 0


def packed_vs_padded(spec: dict[str, Any], data: SequenceSet) -> tuple[list[float], int]:
    """Forward + backward of one bucketed epoch: padded run + gather, or a packed run."""
    torch.manual_seed(0)
    torch.set_num_threads(spec.get("threads") or 1)
    rnn = CELLS[spec["cell"]](data.n_features, spec["hidden"], batch_first=True)
    source = batch_source(data)
    groups = batch_order(source, spec["batch"], generator=torch.Generator().manual_seed(0))
    batches = [source.take(g) for g in groups]

    def epoch() -> int:
        for b in batches:
            assert b.lengths is not None
            if spec["packed"]:
                packed = pack_padded_sequence(
                    b.x, b.lengths, batch_first=True, enforce_sorted=False
                )
                _, state = rnn(packed)
                h = (state[0] if isinstance(state, tuple) else state)[-1]  # (B, H)
            else:
                out, _ = rnn(b.x)  # (B, t, H)
                h = gather_last_step(out, b.lengths, batch_first=True)  # (B, H)
            h.sum().backward()
        return len(data)

    return timed_epochs(epoch, spec["repeats"]), torch.get_num_threads()


def memmap_epoch(spec: dict[str, Any], _: SequenceSet | None) -> tuple[list[float], int]:
    """One epoch over X.npy (memory-mapped by rnntrace.read) and y.npy, streamed batch by batch."""
    from rnntrace.data.readers import read

    data = read(spec["path"])
    model = SequenceClassifier(data.n_features, 3, spec["hidden"], spec["cell"])
    config = TrainConfig(epochs=1, batch_size=spec["batch"], lr=1e-3, val_fraction=0.0,
                         threads=spec.get("threads"))
    history = fit(model, data, None, config)
    return history.seqs_per_s, history.threads


def make_memmap(spec: dict[str, Any], _: SequenceSet | None) -> tuple[list[float], int]:
    """Write the memory-mapped benchmark file in chunks (its own process: pages stay out of
    the measured one)."""
    n, t, f = spec["n"], spec["t"], spec["f"]
    out = np.lib.format.open_memmap(spec["path"], mode="w+", dtype=np.float32, shape=(n, t, f))
    rng = np.random.default_rng(0)
    for start in range(0, n, 20_000):
        stop = min(n, start + 20_000)
        out[start:stop] = rng.standard_normal((stop - start, t, f), dtype=np.float32)
    out.flush()
    del out
    np.save(Path(spec["path"]).with_name("y.npy"), rng.integers(0, 3, size=n))
    return [0.0], 0


JOBS: dict[str, Callable[[dict[str, Any], Any], tuple[list[float], int]]] = {
    "train/rnntrace": train_rnntrace,
    "train/plain": train_plain,
    "train/floor": train_floor,
    "predict/rnntrace": predict_rnntrace,
    "predict/plain": predict_plain,
    "padding/steps": padded_steps,
    "padding/kernel": packed_vs_padded,
    "memmap/epoch": memmap_epoch,
    "memmap/make": make_memmap,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec["job"] == "train/turns":
        print(json.dumps(train_turns(spec, make_data(spec))))
        return
    job = JOBS[spec["job"]]
    data = None if spec["job"].startswith("memmap") else make_data(spec)
    values, threads = job(spec, data)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(
        json.dumps(
            {
                "median": statistics.median(values),
                "values": values,
                "threads": threads,
                "peak_mb": peak_mb,
            }
        )
    )


if __name__ == "__main__":
    main()
