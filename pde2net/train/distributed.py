"""Multi-process training on torch.distributed: gloo on CPU, nccl where there are GPUs.

`pde2net train --nproc N` starts N processes like torchrun does (MASTER_ADDR/PORT, RANK,
WORLD_SIZE in the environment); a process started by torchrun itself is picked up from
its environment.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from pde2net.api import Compiled, compile_file
from pde2net.train.datasets import Dataset, check_fits, load
from pde2net.train.loop import TrainConfig, load_checkpoint, resumed_config, train


def backend(device: str = "auto") -> str:
    """nccl when the run is on GPUs, gloo on the CPU."""
    on_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return "nccl" if on_gpu else "gloo"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(
    spec: str,
    overrides: dict[str, Any],
    data_name: str,
    config: TrainConfig,
    reversible: bool = False,
    data_root: str | None = None,
) -> tuple[Compiled, Dataset]:
    """The compiled network and its data, checked against each other (DataError if not)."""
    compiled = compile_file(spec, set=overrides, reversible=reversible)
    data = load(data_name, tuple(compiled.network.input.shape), seed=config.seed, root=data_root)
    check_fits(data, compiled.network, spec)
    return compiled, data


def run_training(
    spec: str,
    overrides: dict[str, Any],
    data_name: str,
    config: TrainConfig,
    out_dir: str | None,
    nproc: int = 1,
    reversible: bool = False,
    data_root: str | None = None,
    resume: str | None = None,
) -> dict[str, Any] | None:
    """Train the spec's network; returns rank 0's metrics when run in this process.
    The data are read and checked here, before any process starts; `resume` (a run
    directory or checkpoint) continues that run with its saved configuration."""
    state = None
    if resume is not None:
        state = load_checkpoint(resume)
        config = resumed_config(state, config)
    compiled, data = prepare(spec, overrides, data_name, config, reversible, data_root)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:  # under torchrun
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        return _worker(rank, world, None, compiled, data, config, out_dir, state)
    if nproc <= 1:
        return train(compiled, data, config, out_dir, resume=state)
    port = free_port()
    torch.multiprocessing.start_processes(
        _spawned,
        args=(nproc, port, (spec, overrides, reversible), data, config, out_dir, state),
        nprocs=nproc,
        start_method="spawn",
    )
    return None


def _spawned(rank: int, world_size: int, port: int, recipe, data, config, out_dir, state):
    spec, overrides, reversible = recipe
    compiled = compile_file(spec, set=overrides, reversible=reversible)
    _worker(rank, world_size, port, compiled, data, config, out_dir, state)


def _worker(
    rank: int,
    world_size: int,
    port: int | None,
    compiled: Compiled,
    data: Dataset,
    config: TrainConfig,
    out_dir: str | None,
    state: dict[str, Any] | None,
) -> dict[str, Any]:
    if port is not None:
        os.environ.update(
            {
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
                "RANK": str(rank),
                "WORLD_SIZE": str(world_size),
            }
        )
    torch.set_num_threads(1)
    dist.init_process_group(backend(config.device), rank=rank, world_size=world_size)
    try:
        return train(
            compiled, data, config, out_dir, rank=rank, world_size=world_size, resume=state
        )
    finally:
        dist.destroy_process_group()
