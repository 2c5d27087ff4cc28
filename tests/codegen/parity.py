"""Outputs of every bundled spec's generated module on fixed weights and inputs.

`python -m tests.codegen.parity` records them (`tests/golden/parity.pt`); the parity test
compares the current generator against that record. The record was produced by the
generator that preceded the scheme-declaration emitter (issue 15), so it pins that
generator's numbers.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

from pde2net.api import build_module, check_spec
from pde2net.codegen.generate import generate

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").rglob("*.pde"))
RECORD = ROOT / "tests" / "golden" / "parity.pt"
REVERSIBLE = ("leapfrog", "verlet")


def set_weights(module: torch.nn.Module) -> None:
    """Every parameter from one seeded generator, by state_dict order and shape (so that
    attribute names do not matter)."""
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() >= 2:
                fan = math.prod(p.shape[1:])
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan))
            elif p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))


def outputs(spec: Path) -> dict[str, object]:
    """Parameter count, state shapes, eval and train outputs; for reversible schemes the
    output and input gradient of the reversible backward pass."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reductions in one order: the record is reproducible
    try:
        return _outputs(spec)
    finally:
        torch.set_num_threads(threads)


def _outputs(spec: Path) -> dict[str, object]:
    checked = check_spec(spec)
    net = checked.network
    record: dict[str, object] = {}
    gen = generate(net, checked.analysis)
    module = build_module(gen.source, gen.class_name)
    set_weights(module)
    record["parameters"] = sum(p.numel() for p in module.parameters())
    record["shapes"] = [tuple(t.shape) for t in module.state_dict().values()]
    x = torch.randn((2, *net.input.shape), generator=torch.Generator().manual_seed(7))
    module.eval()
    with torch.no_grad():
        record["eval"] = module(x)
    module.train()
    record["train"] = module(x).detach()
    if any(b.scheme.name in REVERSIBLE for b in net.blocks):
        gen = generate(net, checked.analysis, reversible=True)
        module = build_module(gen.source, gen.class_name)
        set_weights(module)
        module.train()
        xr = x.clone().requires_grad_(True)
        out = module(xr)
        out.square().sum().backward()
        record["reversible"] = out.detach()
        record["reversible_grad"] = xr.grad
    return record


def main() -> None:
    records = {}
    for spec in SPECS:
        key = str(spec.relative_to(ROOT / "specs"))
        records[key] = outputs(spec)
        print(key, records[key]["parameters"], flush=True)
    torch.save(records, RECORD)


if __name__ == "__main__":
    sys.exit(main())
