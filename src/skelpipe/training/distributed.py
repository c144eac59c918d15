"""Data-parallel training with torch.distributed, as launched by ``torchrun``.

One process per device; ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous variables, :func:`setup` joins the process group (gloo on CPU, nccl on CUDA). Without
those variables (or with ``WORLD_SIZE=1``) every function here is a no-op and training takes
exactly the single-process path.

The global batch is the single-process one: every rank draws the same shuffled order from the
same seeded generator and takes a contiguous slice of each global batch
(:class:`RankBatchSampler`); losses are weighted by the slice's share of the global batch, so
DDP's gradient average equals the single-process batch mean. Differences that remain: BatchNorm
statistics are per rank on CPU (SyncBatchNorm needs CUDA; on CUDA it is used), and a last global
batch smaller than the number of processes is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler


def setup(device: torch.device) -> None:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1 (env:// rendezvous)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def teardown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def enabled() -> bool:
    return dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0 (or the only process): the one that writes checkpoints, metrics and outputs."""
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """This rank's device: ``cuda:LOCAL_RANK`` under torchrun on CUDA, else ``device``."""
    if device.type == "cuda" and enabled():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def wrap(model: nn.Module, device: torch.device, find_unused: bool = False) -> nn.Module:
    """DDP around ``model`` when distributed (SyncBatchNorm on CUDA), else ``model`` itself.

    ``find_unused``: some parameters may get no gradient in a step (e.g. residual VQ levels
    under quantize dropout).
    """
    if not enabled():
        return model
    ids = None
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [device.index]
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def loss_weight(n_local: int, device: torch.device) -> float:
    """``n_local * world / n_global``: DDP averages gradients over ranks, so a rank's batch-mean
    loss scaled by this makes the average the mean over the global batch (1.0 when alone)."""
    if not enabled():
        return 1.0
    n = torch.tensor([float(n_local)], device=device)
    dist.all_reduce(n)
    return n_local * world_size() / float(n.item())


def all_sum(values: Sequence[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks (the values themselves when alone)."""
    if not enabled():
        return list(values)
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def barrier() -> None:
    if enabled():
        dist.barrier()


def rank_loader(
    ds: Dataset, batch_size: int, generator: torch.Generator, num_workers: int
) -> DataLoader:
    """This rank's share of the shuffled loader ``DataLoader(ds, batch_size, shuffle=True,
    generator=generator)``: the generator is drawn from in the same order, so the global batches
    are the single-process ones."""
    sampler = RandomSampler(ds, generator=generator)  # type: ignore[arg-type]
    batches = RankBatchSampler(sampler, batch_size, rank(), world_size())
    return DataLoader(ds, batch_sampler=batches, generator=generator, num_workers=num_workers)


class RankBatchSampler(Sampler[list[int]]):
    """This rank's contiguous slice of every global batch drawn from ``sampler``.

    With the same seeded ``sampler`` on every rank, the union of the slices of batch ``k`` is the
    single-process batch ``k``. A global batch with fewer samples than ranks is dropped (each rank
    must see at least one sample for the collective backward).
    """

    def __init__(self, sampler: Sampler[int], batch_size: int, rank: int, world: int) -> None:
        self.sampler, self.batch_size, self.rank, self.world = sampler, batch_size, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield self._slice(batch)
                batch = []
        if len(batch) >= self.world:
            yield self._slice(batch)

    def _slice(self, batch: list[int]) -> list[int]:
        q, r = divmod(len(batch), self.world)  # the first r ranks take q + 1
        start = self.rank * q + min(self.rank, r)
        return batch[start : start + q + (self.rank < r)]

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size + (n % self.batch_size >= self.world)
