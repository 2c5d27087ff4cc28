"""Training memory against depth: the bytes autograd saves for the backward pass during
one forward pass of the second-order (leapfrog) CIFAR-10 network, as the number of
steps per block grows, with standard backpropagation and, where pde2net offers it, the
reversible backward pass that reconstructs states instead of storing them.

Saved tensors are seen through torch.autograd.graph.saved_tensors_hooks; a tensor saved
twice (or two views of one storage) counts once, and parameters are left out, so the
figure is the activation memory that backpropagation holds at the end of the forward
pass."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

from benchmarks.timing import median

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "ruthotto_haber_2018" / "second_order_cifar10.pde"
NOT_AVAILABLE = "not available yet"


def reversible_available() -> bool:
    import pde2net.api

    return "reversible" in inspect.signature(pde2net.api.compile_file).parameters


def saved_activation_bytes(module, x) -> dict[str, float]:
    """Bytes (unique storages, parameters excluded) saved for backward by one forward
    pass, and the seconds of a forward + backward step."""
    import torch

    params = {p.untyped_storage().data_ptr() for p in module.parameters()}
    storages: dict[int, int] = {}
    count = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            storages[storage.data_ptr()] = storage.nbytes()
            count[0] += 1
        return t

    module.train()
    start = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = module(x).square().mean()
    loss.backward()
    seconds = time.perf_counter() - start
    module.zero_grad(set_to_none=True)
    return {"bytes": float(sum(storages.values())), "tensors": count[0], "seconds": seconds}


def measure(steps: int, batch: int, reversible: bool, repeats: int) -> dict[str, float]:
    import torch

    import pde2net.api

    kwargs = {"reversible": True} if reversible else {}
    compiled = pde2net.api.compile_file(SPEC, set={"steps": str(steps)}, **kwargs)
    x = torch.randn(
        batch, *compiled.network.input.shape, generator=torch.Generator().manual_seed(0)
    )
    runs = [saved_activation_bytes(compiled.module, x) for _ in range(repeats)]
    return {
        "bytes": runs[-1]["bytes"],
        "tensors": runs[-1]["tensors"],
        "step_s": median([r["seconds"] for r in runs[1:] or runs]),
        "parameters": compiled.network.parameters,
    }


def run(quick: bool, threads: int = 2) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    depths = (1, 2) if quick else (1, 2, 4, 8, 16, 32)
    batch = 2 if quick else 16
    repeats = 1 if quick else 3
    available = reversible_available()
    rows = []
    for steps in depths:
        row: dict[str, Any] = {"steps": steps, "batch": batch}
        standard = measure(steps, batch, False, repeats)
        row.update(
            {
                "parameters": standard["parameters"],
                "standard_bytes": standard["bytes"],
                "standard_tensors": standard["tensors"],
                "standard_step_s": standard["step_s"],
            }
        )
        if available:
            rev = measure(steps, batch, True, repeats)
            row.update(
                {
                    "reversible_bytes": rev["bytes"],
                    "reversible_tensors": rev["tensors"],
                    "reversible_step_s": rev["step_s"],
                }
            )
        else:
            row.update({"reversible_bytes": NOT_AVAILABLE, "reversible_step_s": NOT_AVAILABLE})
        rows.append(row)
    return {
        "spec": str(SPEC.relative_to(ROOT)),
        "input": "(batch, 3, 32, 32)",
        "reversible_available": available,
        "rows": rows,
    }
