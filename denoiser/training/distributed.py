"""One training job over several processes, with PyTorch's DistributedDataParallel (DDP).

`torchrun` starts the processes and tells each who it is through RANK, WORLD_SIZE, LOCAL_RANK and
LOCAL_WORLD_SIZE; a plain `python -m denoiser train` has none of them and is a world of one, with
no process group and no DDP. Processes talk over `nccl` on GPUs and `gloo` on CPUs.
"""

from __future__ import annotations

import hashlib
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Mapping

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from denoiser.errors import DenoiserError


@dataclass(frozen=True)
class World:
    """This process's place in the job; the defaults are a single process on the CPU."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints and logs."""
        return self.rank == 0

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"

    @property
    def cpu_threads(self) -> int:
        """Torch threads per process: OMP_NUM_THREADS when set (torchrun sets 1 when it starts
        several processes), else the machine's cores shared among its processes, at most 8 each."""
        told = int(os.environ.get("OMP_NUM_THREADS") or 0)
        return max(1, told or min(8, (os.cpu_count() or 1) // self.local_size))


def world_from_env(environ: Mapping[str, str] | None = None, use_cuda: bool | None = None) -> World:
    """The world torchrun describes in the environment (a world of one without torchrun);
    the device is this process's GPU when there is one, else the CPU."""
    environ = os.environ if environ is None else environ
    rank, size = int(environ.get("RANK", 0)), int(environ.get("WORLD_SIZE", 1))
    local_rank = int(environ.get("LOCAL_RANK", 0))
    local_size = int(environ.get("LOCAL_WORLD_SIZE", size if "WORLD_SIZE" in environ else 1))
    use_cuda = torch.cuda.is_available() if use_cuda is None else use_cuda
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    return World(rank, size, local_rank, local_size, device)


@contextmanager
def process_group(world: World) -> Iterator[World]:
    """Join the other processes for the duration of the block (nothing to join in a world of one)."""
    if world.device.type == "cuda":
        torch.cuda.set_device(world.device)
    if world.size == 1:
        yield world
        return
    device_id = world.device if world.device.type == "cuda" else None
    dist.init_process_group(world.backend, rank=world.rank, world_size=world.size, device_id=device_id)
    try:
        yield world
        dist.barrier()  # no rank tears down the group while another still uses it
    finally:
        dist.destroy_process_group()


def wrap(model: nn.Module, world: World) -> nn.Module:
    """DDP around `model` (already on `world.device`): gradients are averaged over the ranks in
    backward, so every replica takes the same optimizer step. A world of one gets `model` itself."""
    if world.size == 1:
        return model
    device_ids = [world.device.index] if world.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def mean(value: float, world: World) -> float:
    """The mean of `value` over the ranks."""
    if world.size == 1:
        return value
    total = torch.tensor([value], dtype=torch.float64, device=world.device)
    dist.all_reduce(total)
    return total.item() / world.size


def gather(value: object, world: World) -> list:
    """Every rank's `value` (any picklable object), in rank order, on every rank."""
    if world.size == 1:
        return [value]
    values: list = [None] * world.size
    dist.all_gather_object(values, value)
    return values


def fingerprint(model: nn.Module) -> str:
    """SHA-256 of the weights, to compare replicas and checkpoints bit for bit."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def describe_rank(world: World, **counts) -> dict:
    """What a rank reports at the end of training, so the log shows every rank took part."""
    return {"rank": world.rank, "host": socket.gethostname(), "pid": os.getpid(),
            "device": str(world.device), **counts}


def split_batch(batch_size: int, world_size: int, accumulate: int) -> int:
    """Patches per process per micro-step, so that one optimizer step sees `batch_size` patches
    whatever the number of processes."""
    share, rest = divmod(batch_size, world_size * accumulate)
    if rest or not share:
        raise DenoiserError(f"A batch of {batch_size} does not split evenly over {world_size} process(es) "
                            f"x {accumulate} accumulation step(s); use a multiple of {world_size * accumulate}.")
    return share
