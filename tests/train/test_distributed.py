"""Two gloo processes: parameters stay identical across ranks and equal a single-process
step on the combined batch."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.nn.functional as F

import pde2net
from pde2net.train.distributed import free_port

# No batch norm: its batch statistics would differ between one batch and two halves.
SPEC = """
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}
network small {
    input  image(1, 8, 8)
    conv(3x3, 1 -> 4)
    parabolic(4) by euler(h = 0.5, steps = 2)
    flatten
    output linear(256 -> 10)
}
"""
STEPS = 3


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(100 + step)
    return torch.randn(8, 1, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g)


def _worker(rank: int, world: int, port: int, spec: str, out: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        module = pde2net.compile_file(spec).module
        model = torch.nn.parallel.DistributedDataParallel(module)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(STEPS):
            x, y = _batch(step)
            loss = F.cross_entropy(model(x[rank::world]), y[rank::world])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        torch.save(module.state_dict(), os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_processes_match_one_process_on_the_combined_batch(tmp_path):
    spec = tmp_path / "small.pde"
    spec.write_text(SPEC)
    torch.multiprocessing.start_processes(
        _worker, args=(2, free_port(), str(spec), str(tmp_path)), nprocs=2, start_method="spawn"
    )
    rank0 = torch.load(tmp_path / "rank0.pt")
    rank1 = torch.load(tmp_path / "rank1.pt")
    module = pde2net.compile_file(str(spec)).module
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    for step in range(STEPS):
        x, y = _batch(step)
        # the mean of the two halves' losses: what DDP's averaged gradients minimise
        loss = (
            F.cross_entropy(module(x[0::2]), y[0::2]) + F.cross_entropy(module(x[1::2]), y[1::2])
        ) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    single = module.state_dict()
    changed = False
    for name, value in single.items():
        assert torch.equal(rank0[name], rank1[name]), name
        torch.testing.assert_close(rank0[name], value, rtol=1e-5, atol=1e-6)
        changed |= not torch.equal(value, pde2net.compile_file(str(spec)).module.state_dict()[name])
    assert changed


def test_cli_trains_with_two_processes(tmp_path, cli):
    from tests.conftest import SPECS

    result = cli(
        "train",
        str(SPECS / "experiments" / "digits_parabolic.pde"),
        "--data",
        "digits",
        "--epochs",
        "1",
        "--nproc",
        "2",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--set",
        "steps=1",
    )
    assert result.returncode == 0, result.stderr
    import json

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["test_accuracy"] > 50
