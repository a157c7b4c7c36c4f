"""The machine a fit runs on: the device, and how many intra-op threads to use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.errors import ConfigError

# Per-step work (batch × hidden² × gates) below which one intra-op thread is fastest: measured
# with benchmarks/run.py, the lesson (32 × 8² × 1) loses with two threads even on an idle
# machine, while batch 256 × hidden 64 gained at most 15 % from a second thread.
_ONE_THREAD_WORK = 128 * 64 * 64
# Threads beyond one pay only on cores nobody else is using: on a 2-core machine, batch 256 ×
# hidden 64 trained 1.2× (GRU) to 1.6× (LSTM) faster on two threads while the machine was idle,
# but with other processes running, two OpenMP threads stalled each other and the same loops ran
# 7–16× slower (benchmarks/run.py). So large steps get the cores the load average leaves free.
_MAX_THREADS = 8  # recurrent steps are sequential; more threads only split each small matmul


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when there is a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but PyTorch sees no CUDA GPU; use cpu or auto")
    return torch.device(name)


def choose_threads(config: TrainConfig, model_config: ModelConfig) -> int:
    """Intra-op threads: one for small steps, where thread hand-offs cost more than they save.

    On a busy 2-core machine a small GRU was measured 100× slower with PyTorch's default threads
    than with one, as OpenMP threads stalled each other; threads pay off only for large matmuls.
    """
    if config.threads is not None:
        return config.threads
    gates = model_config.spec.n_gates
    work = config.batch_size * model_config.hidden_size**2 * gates
    if work < _ONE_THREAD_WORK:
        return 1
    return min(free_cores(), thread_budget() or _MAX_THREADS)


def thread_budget() -> int | None:
    """The threads a launcher allows this process (OMP_NUM_THREADS), if it says.

    joblib's workers (cores ÷ workers each, so scikit-learn's n_jobs), Ray's tasks (their CPUs)
    and torchrun (1) set it, so that processes sharing a machine do not each take every core:
    the oversubscription that stalls small models (see choose_threads).
    """
    try:
        budget = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return budget if budget >= 1 else None


def free_cores() -> int:
    """Usable cores not busy with other work, at least 1, at most 8.

    The 1-minute load average counts this process too once it has been running, so one unit
    of load is taken as our own.
    """
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    others = max(0, round(load) - 1)
    return max(1, min(_MAX_THREADS, cores - others))


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Use n intra-op threads inside the block and restore the caller's setting after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
