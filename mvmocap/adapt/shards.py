"""``mvmocap adapt`` on several processes (``torchrun``; gloo on the CPU), as ``train-synthetic``.

:class:`Shards` is what the loop needs to know about the other processes; with one process every
method is a no-op, so the single-process loop is unchanged. The split (``W`` processes, rank ``r``):

* each step draws ``W * batch_size`` frames from ``(seed, step)`` (exactly the frames one process
  with ``batch_size * W`` draws) and rank ``r`` trains on its ``batch_size`` of them
  (:meth:`Shards.mine`);
* every loss term is a weighted mean over the step's frames; its denominator (the weights' sum) is
  summed over the processes first (:meth:`Shards.total`), so each process's loss is its exact share
  of the one-process loss, and the gradients are *summed* over processes
  (:meth:`Shards.sum_gradients`): the same gradient as one process, up to float summation order;
* refits: capture ``i`` is refitted by rank ``i % W`` (a refit is a whole-sequence fit, so it is not
  split by frame), and its fit cache is broadcast from there (:meth:`Shards.broadcast_cache`), so
  the caches are identical on every process;
* only rank 0 writes (metrics, checkpoints, ``adapt.yaml``); the other ranks' RNG states travel in
  the checkpoint (:meth:`Shards.gather`), and a checkpoint is resumed only with the same ``W``.

Not bit-identical to one process: the drift guard's synthetic batch (``--synthetic-every``) is split
the same way, but the network's mask augmentation draws from each process's own torch RNG (rank
``r`` seeded ``seed + r * RANK_SEED_STRIDE``), so the draws differ from one process's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import torch
import torch.distributed as dist
from torch import Tensor

RANK_SEED_STRIDE = 1_000_003


@dataclass(frozen=True)
class Shards:
    """This process's place among ``world`` (1 = no other process)."""

    rank: int = 0
    world: int = 1

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def seed(self, seed: int) -> int:
        """This rank's seed for torch's global RNG (rank 0: ``seed`` itself, as one process)."""
        return int(seed) + self.rank * RANK_SEED_STRIDE

    def mine(self, frames: Tensor) -> Tensor:
        """This rank's part of the step's ``W * B`` frames: ``frames[r*B : (r+1)*B]``."""
        per_rank = len(frames) // self.world
        return frames[self.rank * per_rank: (self.rank + 1) * per_rank]

    def owner(self, capture_index: int) -> int:
        """The rank that refits capture ``capture_index``."""
        return capture_index % self.world

    def total(self, values: Tensor) -> Tensor:
        """``values`` (any shape, no gradient) summed over the processes."""
        values = values.detach().clone()
        if self.enabled:
            dist.all_reduce(values)
        return values

    def sum_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Sum every parameter's gradient over the processes (one flat all-reduce). A parameter
        without a gradient anywhere keeps ``None`` (as with one process, Adam then skips it)."""
        if not self.enabled:
            return
        params = list(parameters)
        has = self.total(torch.tensor([p.grad is not None for p in params], dtype=torch.float32)) > 0
        used = [p for p, h in zip(params, has) if bool(h)]
        for p in used:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        if not used:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in used])
        dist.all_reduce(flat)
        offset = 0
        for p in used:
            n = p.grad.numel()
            p.grad.copy_(flat[offset: offset + n].view_as(p.grad))
            offset += n

    def broadcast_object(self, value: Any, source: int) -> Any:
        """``value`` of rank ``source`` on every rank (small picklable objects: metric records)."""
        if not self.enabled:
            return value
        box = [value if self.rank == source else None]
        dist.broadcast_object_list(box, src=source)
        return box[0]

    def broadcast_cache(self, cache, source: int) -> None:
        """Overwrite ``cache`` (a :class:`mvmocap.adapt.fit_cache.FitCache`, same shapes on every
        rank) with rank ``source``'s."""
        if not self.enabled:
            return
        from mvmocap.adapt.fit_cache import FIELDS

        for name in getattr(cache, "FIELDS", FIELDS):  # a method's own cache type names its fields
            value = getattr(cache, name)
            wire = value.to(torch.uint8) if value.dtype == torch.bool else value.contiguous().clone()
            dist.broadcast(wire, src=source)
            setattr(cache, name, wire.to(torch.bool) if value.dtype == torch.bool else wire)

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order (on every rank)."""
        if not self.enabled:
            return [value]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, value)
        return out

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()
