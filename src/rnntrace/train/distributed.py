"""Data-parallel training under torchrun: the world from the environment, one group a process.

torchrun starts one process per rank and tells each who it is through environment variables
(WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Every rank walks the same seeded
permutation of the data and takes its own slice of each global batch:

    global batch (batch_size = 8)   i0 i1 i2 i3 i4 i5 i6 i7
    rank 0 of 2                     i0 i1 i2 i3
    rank 1 of 2                                 i4 i5 i6 i7

so the ranks together see exactly the batches a single process would, and DDP's averaged
gradients equal the single-process gradient of the whole batch.
"""

from __future__ import annotations

import atexit
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from rnntrace.errors import ConfigError


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a run; size 1 when not under torchrun."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the only rank that writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def from_env() -> World:
    """The world torchrun describes in the environment, or a single process."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise ConfigError("WORLD_SIZE, RANK and LOCAL_RANK must be integers") from None
    if size < 1 or not 0 <= rank < size:
        raise ConfigError(f"RANK {rank} does not fit WORLD_SIZE {size}")
    return World(rank=rank, size=size, local_rank=local_rank)


@contextmanager
def process_group(device: torch.device) -> Iterator[World]:
    """Join the process group torchrun set up (gloo on CPU, NCCL on CUDA), once per process.

    The group is left when the process exits, not when the fit ends: a command fits many times
    (the no-flag defaults train each candidate, then average more epochs), and a group destroyed
    and made again in one process finds the first one's keys in torchrun's store, where one rank
    passes the rendezvous and the other waits for ever. A group the caller made is left alone.
    """
    world = from_env()
    if world.distributed:
        import torch.distributed as dist

        if not dist.is_initialized():
            if device.type == "cuda":
                torch.cuda.set_device(world.local_rank)
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
            atexit.register(_leave)
    yield world


def _leave() -> None:
    import torch.distributed as dist

    if not dist.is_initialized():
        return
    # A DDP wrapper left in a reference cycle keeps the gloo group alive until the interpreter
    # shuts down, when its worker thread aborts the process trying to take the GIL: collect it
    # now, then leave together so no rank tears down a connection another still uses.
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()


def shard(index: Tensor, world: World) -> Tensor:
    """This rank's contiguous share of one global batch's indices."""
    if not world.distributed:
        return index
    return index.tensor_split(world.size)[world.rank]


def all_sum(values: Tensor, world: World) -> Tensor:
    """The sum of `values` over all ranks (in place); unchanged for a single process."""
    if world.distributed:
        import torch.distributed as dist

        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values
