"""Measurements of a built module that the analysis cannot make: estimates, labelled so.

The analysis proves what it can without torch; some quantities only a run of the
generated code can show, such as how fast a fixed number of multigrid V-cycles actually
contracts the error. They are measured once the module exists and added to the report
as `estimate` numbers, never as grounds for `proven`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from pde2net.analysis.report import Number

if TYPE_CHECKING:
    import torch

    from pde2net.plan import Plan

CYCLES = 10  # V-cycles iterated on the error; the last ones give the asymptotic factor


def vcycle_contraction(block: torch.nn.Module, shape: tuple[int, ...], seed: int = 0) -> float:
    """The multigrid cycle's (V or W) error contraction per cycle: with b = 0 the exact solution is 0, so
    the iterate is the error; its norm ratio over the last cycles estimates the
    asymptotic factor (float64, a random start, the diffusivity of a random input)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    block = copy.deepcopy(block).double().eval()
    cycle = getattr(block, "vcycle", None) or block.wcycle
    with torch.no_grad():
        u = torch.randn(1, *shape, generator=generator, dtype=torch.float64)
        g = block.diffusivity(u, 0)
        v = torch.randn(1, *shape, generator=generator, dtype=torch.float64)
        v = v / v.norm()
        ratios = []
        for _ in range(CYCLES):
            w = cycle(v, torch.zeros_like(v), g)
            norm = float(w.norm())
            ratios.append(norm)
            if norm == 0 or norm != norm:
                break
            v = w / norm
    return max(ratios[-3:])


def add_measurements(plan: Plan, module: torch.nn.Module) -> None:
    """Put the measured V- or W-cycle contraction of each multigrid block into its check
    of the plan's report."""
    for block, entry in zip(plan.blocks, plan.report["blocks"], strict=True):
        if block.cycle is None:
            continue
        name = f"multigrid {block.cycle}-cycle"
        check = next((c for c in entry["checks"] if c["name"] == name), None)
        if check is None or "contraction" in check["values"]:
            continue
        try:
            rho = vcycle_contraction(getattr(module, f"block{block.index}"), block.shape)
        except (AttributeError, RuntimeError):  # no such method: nothing to measure
            continue
        check["values"]["contraction"] = Number.estimate(rho).to_dict()
        check["reason"] += (
            f" Measured when compiled (float64, a random error at {tuple(block.shape)}): "
            f"one {block.cycle}-cycle multiplies the error by ≈ {rho:.3g} "
            "(an estimate, not a proof)."
        )
