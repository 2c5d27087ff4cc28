"""Reversible training of leapfrog and Verlet blocks: memory flat in depth, gradients
equal to standard backprop."""

from __future__ import annotations

import pytest
import torch
from torch.autograd.graph import saved_tensors_hooks

import pde2net
from tests.conftest import SPECS

SECOND_ORDER = str(SPECS / "experiments" / "digits_second_order.pde")
HAMILTONIAN = str(SPECS / "experiments" / "digits_hamiltonian.pde")


def _saved_bytes(spec: str, steps: int, reversible: bool) -> int:
    module = pde2net.compile_file(spec, set={"steps": steps}, reversible=reversible).module.train()
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        loss = module(x).logsumexp(1).mean()
    loss.backward()
    return total


@pytest.mark.parametrize("spec", [SECOND_ORDER, HAMILTONIAN])
def test_saved_tensor_memory_is_flat_in_depth(spec):
    standard = _saved_bytes(spec, 64, False) / _saved_bytes(spec, 4, False)
    reversible = _saved_bytes(spec, 64, True) / _saved_bytes(spec, 4, True)
    print(
        f"{spec}: saved-tensor bytes depth 64 / depth 4: standard {standard:.1f}x, "
        f"reversible {reversible:.2f}x"
    )
    assert standard > 8
    assert reversible <= 1.3


def _pair(spec: str, steps: int, dtype: torch.dtype):
    standard = pde2net.compile_file(spec, set={"steps": steps}).module.to(dtype).train()
    reversible = (
        pde2net.compile_file(spec, set={"steps": steps}, reversible=True).module.to(dtype).train()
    )
    reversible.load_state_dict(standard.state_dict())
    return standard, reversible


@pytest.mark.parametrize("spec", [SECOND_ORDER, HAMILTONIAN])
def test_gradcheck_in_float64(spec):
    _, module = _pair(spec, 3, torch.float64)
    block = module.block1
    x = torch.randn(1, 16, 3, 3, dtype=torch.float64, requires_grad=True)
    params = [p for p in block.parameters() if p.requires_grad]
    # gradients with respect to the input, through the reconstructing backward pass
    assert torch.autograd.gradcheck(block, (x,), eps=1e-6, atol=1e-6)
    # and with respect to the weights (fast mode: a random projection of the Jacobian)
    loss = block(x).square().sum()
    analytic = torch.autograd.grad(loss, params)
    for p, g in zip(params, analytic, strict=True):
        direction = torch.randn_like(p)
        with torch.no_grad():
            p += 1e-6 * direction
            up = block(x).square().sum()
            p -= 2e-6 * direction
            down = block(x).square().sum()
            p += 1e-6 * direction
        numeric = (up - down) / 2e-6
        assert float((g * direction).sum()) == pytest.approx(float(numeric), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("spec", [SECOND_ORDER, HAMILTONIAN])
def test_float32_gradients_match_standard_backprop_at_depth_64(spec):
    standard, reversible = _pair(spec, 64, torch.float32)
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    for module in (standard, reversible):
        module.zero_grad()
        module(x).logsumexp(1).mean().backward()
    a = torch.cat([p.grad.flatten() for p in standard.parameters()])
    b = torch.cat([p.grad.flatten() for p in reversible.parameters()])
    error = float((a - b).norm() / a.norm())
    print(f"{spec}: float32 relative gradient error at depth 64: {error:.2e}")
    assert error < 1e-2
