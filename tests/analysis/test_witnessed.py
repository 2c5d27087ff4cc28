"""A `violated` Euclidean step must be witnessed: beyond τ c L ‖S‖₂² ≤ 2 the step's
linearisation at u = 0 has an eigenvalue below −1 (on large enough grids) only when
‖S‖₂² is the supremum of the finite operators' norms (no padding factor) and
L = sup Φ(s)/s is Φ'(0). Otherwise the sufficient condition's failure shows nothing, and
the verdict is unverified."""

from __future__ import annotations

import pytest
import torch

from pde2net.api import check_text, compile_checked

SPEC = """
pde pm {{
    state u[1]
    grid  h = 1 : {boundary}
    stencil S = [1, 1, 1, 1, 1]
    fn phi(s) = {flux}
    dt(u) = -{op}' phi({op} u)
}}
network n {{
    input signal(1, 32)
    pm by euler(h = {tau}, steps = 200)
    output identity
}}
"""
PERONA_MALIK = "s / (1 + s^2)"  # sup Φ(s)/s = Φ'(0) = 1: ‖dx‖₂² = 4, τ ≤ 1/2
GROWING_RATIO = "2 * s - s / (1 + s^2)"  # Φ(s)/s from 1 at 0 up to 2: L = 2, Φ'(0) = 1


def _step(boundary: str, flux: str, tau: float, op: str = "dx") -> dict:
    text = SPEC.format(boundary=boundary, flux=flux, tau=tau, op=op)
    checked = check_text(text, "pm.pde", {})
    (block,) = checked.report["blocks"]
    return next(c for c in block["checks"] if c["name"] == "Euclidean step"), checked


def test_beyond_the_bound_on_a_periodic_grid_is_violated_and_grows():
    check, checked = _step("periodic", PERONA_MALIK, 0.505)
    assert check["status"] == "violated"
    module = compile_checked(checked).module.double().eval()
    x = 1e-6 * (-1.0) ** torch.arange(32, dtype=torch.float64).view(1, 1, 32)
    with torch.no_grad():
        assert module(x).norm() > 2 * x.norm()  # small checkerboard perturbations grow


@pytest.mark.parametrize("boundary", ["neumann", "zero"])
def test_the_symbol_bound_is_the_limit_of_large_grids_there(boundary):
    """dx on zero and Neumann grids: ‖dx_N‖₂² < 4 but tends to 4 as N grows, so τ past
    the symbol's bound is violated on large enough grids (the module takes any size)."""
    check, _ = _step(boundary, PERONA_MALIK, 0.505)
    assert check["status"] == "violated"


def test_beyond_a_padded_upper_bound_is_unverified():
    """A five-point S on a Neumann grid: ‖S_N‖₂² is bounded by 25 times the replicate
    padding's factor 3, not attained, so past the bound 2/75 nothing is witnessed."""
    check, _ = _step("neumann", PERONA_MALIK, 0.03, op="S")
    assert check["status"] == "unverified"
    assert "upper bound" in check["reason"]


def test_beyond_a_bound_whose_ratio_is_not_the_slope_at_zero_is_unverified():
    check, _ = _step("periodic", GROWING_RATIO, 0.3)  # τ L ‖dx‖² = 2.4 > 2, τ Φ'(0) ‖dx‖² = 1.2
    assert check["status"] == "unverified"
    assert "Φ'(0)" in check["reason"]


def test_within_the_bound_stays_proven():
    for boundary in ("periodic", "neumann", "zero"):
        check, _ = _step(boundary, PERONA_MALIK, 0.495)
        assert check["status"] == "proven", (boundary, check)
