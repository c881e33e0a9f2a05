"""Data-parallel training across processes (``torchrun``), on torch.distributed.

Each process trains on its own shard of every epoch's order; after every backward the
gradients of the networks being updated are averaged across processes (one all-reduce per
optimiser step, over a flat buffer) before the optimiser steps, so every process keeps the
same weights. That is the gradient averaging DistributedDataParallel performs; it is done here
explicitly because a GAN step runs D twice per backward and freezes D during G's step, which
DDP's per-module reducer does not follow. Rank 0 alone writes files.

    torchrun --nproc_per_node 2 stages/train.py dcgan_artwork     # CPU: gloo; GPUs: nccl
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def init_from_env(device_type: str) -> World:
    """Join the process group torchrun describes in the environment; a single process otherwise."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return World(rank=dist.get_rank(), size=dist.get_world_size(),
                 local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def shard(order: torch.Tensor, world: World) -> torch.Tensor:
    """This process's share of an epoch's order (every size-th item from its rank)."""
    return order[world.rank::world.size] if world.active else order


def average_gradients(params: list[torch.nn.Parameter], world: World) -> None:
    """Average ``.grad`` of ``params`` across processes, in one all-reduce."""
    if not world.active:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset: offset + g.numel()].view_as(g))
        offset += g.numel()


def all_reduce_mean(x: torch.Tensor, world: World) -> torch.Tensor:
    """The mean of ``x`` over processes (a copy; ``x`` is untouched)."""
    if not world.active:
        return x
    y = x.clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y / world.size


def shutdown(world: World) -> None:
    if world.active and dist.is_initialized():
        dist.destroy_process_group()
