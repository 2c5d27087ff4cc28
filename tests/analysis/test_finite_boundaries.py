"""Von Neumann verdicts on zero and Neumann grids: the symbol decides the periodic
problem, and carries to the generated finite operator only where analysis/finite.py
has a theorem. The witnesses below were `proven` before and blow up (measured growth
over 200 steps of seeded random data, float64, 12 points)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pde2net

W = "stencil W = [1, 0, -2, 0, 1] / h^2"
S = "stencil S = [1, 1, 1, 1, 1]"


def spec(
    rhs: str, boundary: str, scheme: str, stencils: str = "", h: str = "1", dims=1, n=12
) -> str:
    shape = f"signal(1, {n})" if dims == 1 else f"image(1, {n}, {n})"
    return f"""
const h = {h}
pde p {{
    state u[1]
    grid h : {boundary}
    {stencils}
    dt(u) = {rhs}
}}
network net {{
    input {shape}
    p by {scheme}
    output identity
}}
"""


def growth(text: str, steps: int = 200, n: int = 12) -> float:
    module = pde2net.compile_text(text).module.double().eval()
    x = torch.randn(1, 1, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = x
    with torch.no_grad():
        for _ in range(steps):
            y = module(y)
    return (y.norm() / x.norm()).item()


def verdict(text: str) -> str:
    return pde2net.check_text(text).report["verdict"]


# θ = 1 on a radius-2 symmetric stencil, Neumann grid: the finite operator is not
# symmetric (replicated ghost cells), CG runs on a non-symmetric system and diverges.
# Was `proven`; measured: NaN after 200 steps (the dense one-step response has spectral
# norm 1.51, spectral radius 1.49, estimates).
THETA_WIDE_NEUMANN = spec(
    "W u", "neumann", "theta(theta = 1, tau = 1, steps = 1, iterations = 20)", W, "0.1"
)
# forward Euler on -S'S, S = [1, 1, 1, 1, 1], Neumann grid, at the symbol's bound
# τ = 2/25: replicated ghost cells make ‖S_N‖₂ exceed max|ŝ| = 5. Was `proven`;
# measured: spectral radius of the step 1.0321 (estimate), growth ×151 in 200 steps.
EULER_GRAM_WIDE_NEUMANN = spec("-S' S u", "neumann", "euler(tau = 0.08, steps = 1)", S)


@pytest.mark.parametrize("text", [THETA_WIDE_NEUMANN, EULER_GRAM_WIDE_NEUMANN])
def test_witnesses_are_not_proven_and_grow(text: str):
    report = pde2net.check_text(text).report
    assert report["verdict"] == "unverified"
    (check,) = report["blocks"][0]["checks"]
    assert "only a necessary condition" in check["reason"]
    g = growth(text)
    assert not math.isfinite(g) or g > 100, g


@pytest.mark.parametrize(
    "text",
    [
        spec("-lap (W u)", "zero", "euler(tau = 0.1, steps = 1)", W),  # non-commuting product
        spec("-D u", "zero", "euler(tau = 0.5, steps = 1)", "stencil D = [-1, 1, 0] / h"),
        spec("W u", "neumann", "euler(tau = 0.001, steps = 1)", W, "0.1"),
    ],
)
def test_uncovered_finite_operators_are_unverified(text: str):
    assert verdict(text) == "unverified"


@pytest.mark.parametrize(
    "text",
    [
        spec("lap u", "neumann", "euler(tau = 0.5, steps = 1)"),
        spec("lap u", "zero", "euler(tau = 0.5, steps = 1)"),
        spec("-dx' dx u", "neumann", "theta(theta = 0.5, tau = 1, steps = 1)"),
        spec("W u", "zero", "theta(theta = 1, tau = 1, steps = 1, iterations = 20)", W, "0.1"),
        spec("W u", "periodic", "theta(theta = 1, tau = 1, steps = 1, iterations = 20)", W, "0.1"),
        spec("-S' S u", "zero", "euler(tau = 0.08, steps = 1)", S),
        spec("-S' S u", "periodic", "euler(tau = 0.08, steps = 1)", S),
        spec("lap u - u", "neumann", "euler(tau = 0.1, steps = 1)"),
    ],
)
def test_covered_verdicts_stay_proven_and_do_not_grow(text: str):
    assert verdict(text) == "proven"
    assert growth(text) <= 1 + 1e-9


def test_covered_violation_stays_violated():
    """1.01 × h²/2 on a Neumann grid: the finite modes are θ = πk/N, dense as N grows,
    and |g(θ)| > 1 near π. The module runs at any size: at 12 points the top mode
    (τ|ŝ(11π/12)| = 1.986) still decays (measured ×0.32 in 200 steps), at 64 points
    (2.019) it grows past 10³ in 1,000 steps: the violation is witnessed on a larger grid."""
    text = spec("lap u", "neumann", "euler(tau = 0.505, steps = 1)")
    assert verdict(text) == "violated"
    assert growth(text) < 1
    wide = spec("lap u", "neumann", "euler(tau = 0.505, steps = 1)", n=64)
    assert growth(wide, steps=1000, n=64) > 1e3


def _matrix(text: str, dims: int) -> np.ndarray:
    module = pde2net.compile_text(text).module.double().eval()
    shape = (1, 1, 8) if dims == 1 else (1, 1, 8, 8)
    size = int(np.prod(shape))
    cols = []
    with torch.no_grad():
        for k in range(size):
            e = torch.zeros(size, dtype=torch.float64)
            e[k] = 1
            cols.append(module(e.reshape(shape)).reshape(-1).numpy())
    return np.stack(cols, 1) - np.eye(size)  # euler(tau = 1, steps = 1): I + S


@pytest.mark.parametrize("boundary", ["zero", "neumann", "periodic"])
@pytest.mark.parametrize(
    "stencil",
    [
        "[1, 2, 3, 4, 5]",
        "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]",
        "[-1, 1, 0]",
        "grad",  # forward differences: ghost cells on one side only
        "grad2",
    ],
)
def test_generated_adjoint_is_the_exact_transpose(boundary: str, stencil: str):
    """Theorem 3 rests on it: S' as generated is Sᵀ as a finite matrix, bit for bit."""
    dims = 2 if "[[" in stencil or stencil == "grad2" else 1
    declared = "" if stencil.startswith("grad") else f"stencil S = {stencil}"
    name = "grad" if stencil.startswith("grad") else "S"

    def at(rhs: str) -> str:
        scheme = "euler(tau = 1, steps = 1)"
        return spec(rhs, boundary, scheme, declared, dims=dims, n=8)

    if dims == 2 and name == "grad":  # two channels out: the Gram matrices must agree
        forward = _matrix(at("grad' grad u"), dims)
        assert np.array_equal(forward, forward.T)
        return
    forward, adjoint = _matrix(at(f"{name} u"), dims), _matrix(at(f"{name}' u"), dims)
    assert np.array_equal(adjoint, forward.T)


def test_euclidean_flux_on_wide_neumann_stencil_is_not_proven():
    """-S' φ(S u), S = [1, 1, 1, 1, 1], Neumann, τ = 2/25: the Euclidean check used
    ‖S‖₂² = max|ŝ|² = 25, which replicated ghost cells exceed; was `proven`, measured
    growth ×151 in 200 steps on data of size 1e-8 (the linear regime). The bound now
    carries the padding's ‖P‖₂² = 3."""
    text = spec("-S' phi(S u)", "neumann", "euler(tau = 0.08, steps = 1)", S).replace(
        "dt(u)", "fn phi(x) = x / (1 + x^2)\n    dt(u)"
    )
    report = pde2net.check_text(text).report
    assert not report["stable"]
    statuses = {c["name"]: c["status"] for b in report["blocks"] for c in b["checks"]}
    assert statuses["Euclidean step"] != "proven"
