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

from pde2net.api import compile_file
from pde2net.train.datasets import load
from pde2net.train.loop import TrainConfig, train


def backend() -> str:
    return "nccl" if torch.cuda.is_available() else "gloo"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_training(
    spec: str,
    overrides: dict[str, Any],
    data_name: str,
    config: TrainConfig,
    out_dir: str | None,
    nproc: int = 1,
    reversible: bool = False,
) -> dict[str, Any] | None:
    """Train the spec's network; returns rank 0's metrics when run in this process."""
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:  # under torchrun
        return _worker(
            int(os.environ["RANK"]),
            int(os.environ["WORLD_SIZE"]),
            None,
            spec,
            overrides,
            data_name,
            config,
            out_dir,
            reversible,
        )
    if nproc <= 1:
        return _train_once(spec, overrides, data_name, config, out_dir, reversible, 0, 1)
    port = free_port()
    torch.multiprocessing.start_processes(
        _spawned,
        args=(nproc, port, spec, overrides, data_name, config, out_dir, reversible),
        nprocs=nproc,
        start_method="spawn",
    )
    return None


def _spawned(rank: int, *args: Any) -> None:
    _worker(rank, *args)


def _worker(
    rank: int,
    world_size: int,
    port: int | None,
    spec: str,
    overrides: dict[str, Any],
    data_name: str,
    config: TrainConfig,
    out_dir: str | None,
    reversible: bool,
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
    dist.init_process_group(backend(), rank=rank, world_size=world_size)
    try:
        return _train_once(
            spec, overrides, data_name, config, out_dir, reversible, rank, world_size
        )
    finally:
        dist.destroy_process_group()


def _train_once(spec, overrides, data_name, config, out_dir, reversible, rank, world_size):
    compiled = compile_file(spec, set=overrides, reversible=reversible)
    data = load(data_name, tuple(compiled.network.input.shape), seed=config.seed)
    if tuple(data.input_shape) != tuple(compiled.network.input.shape):
        raise ValueError(
            f"dataset '{data_name}' has inputs {data.input_shape} but network "
            f"'{compiled.name}' takes {tuple(compiled.network.input.shape)}"
        )
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    return train(compiled, data, config, out_dir, rank=rank, world_size=world_size)
