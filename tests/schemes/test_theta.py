"""The θ-scheme: verdicts from the exact amplification factor, outputs against a dense
NumPy solve, and the generated step's non-expansiveness with few CG iterations (the
iterates from zero never outgrow the exact solution)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pde2net
from pde2net.lang.errors import SpecError

HEAT = """
const tau = 5
const theta = 0.5
pde heat {
    state u[1]
    grid  h = 1
    dt(u) = lap u
}
network heat_theta {
    input  signal(1, 24)
    heat by theta(theta = theta, h = tau, steps = 3, iterations = 40)
    output identity
}
"""

LEARNED = """
pde smooth(c) {{
    state u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' K u
}}
network learned_theta {{
    input  image(3, 10, 10)
    smooth(3) by theta(theta = {theta}, h = 0.5, steps = 2, iterations = {n}, enforce = {enforce})
    output identity
}}
"""


def _verdict(text: str, **overrides) -> str:
    return pde2net.check_text(text, "t.pde", overrides).report["verdict"]


@pytest.mark.parametrize("theta", ["1", "0.5", "0.75"])
def test_theta_at_least_one_half_is_unconditionally_stable(theta):
    assert _verdict(HEAT, theta=theta, tau="1000") == "proven"


@pytest.mark.parametrize(("theta", "bound"), [("0.25", 1.0), ("0", 0.5)])
def test_theta_below_one_half_flips_at_two_over_one_minus_two_theta(theta, bound):
    """|R(−4τ/h²)| ≤ 1 ⟺ τ ≤ (2/(1 − 2θ)) h²/4: θ = 1/4 gives h², θ = 0 (Euler) h²/2."""
    assert _verdict(HEAT, theta=theta, tau=str(bound * 0.99)) == "proven"
    assert _verdict(HEAT, theta=theta, tau=str(bound * 1.01)) == "violated"


def _dense_step(n: int, theta: float, tau: float) -> np.ndarray:
    lap = -2 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    lap[0, 0] = lap[-1, -1] = -1  # replicated edges: Neumann
    eye = np.eye(n)
    return np.linalg.solve(eye - theta * tau * lap, eye + (1 - theta) * tau * lap)


@pytest.mark.parametrize(("theta", "tau"), [(0.5, 5.0), (1.0, 2.0), (0.25, 0.9)])
def test_heat_matches_a_dense_solve(theta, tau):
    compiled = pde2net.compile_text(HEAT, "t.pde", {"theta": str(theta), "tau": str(tau)})
    x = torch.randn(2, 1, 24, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    with torch.no_grad():
        got = compiled.module.double()(x.double()).numpy()
    g = _dense_step(24, theta, tau)
    want = x.double().numpy()
    for _ in range(3):
        want = want @ g.T
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7)


def test_learned_crank_nicolson_is_proven_for_any_kernel_and_few_iterations():
    report = pde2net.check_text(LEARNED.format(theta="0.5", n=3, enforce="false"), "t.pde")
    assert report.report["verdict"] == "proven"
    compiled = pde2net.compile_text(LEARNED.format(theta="0.5", n=3, enforce="false"), "t.pde")
    module = compiled.module.double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(100)
        u = torch.randn(16, 3, 10, 10, generator=torch.Generator().manual_seed(3)).double()
        ratio = torch.linalg.vector_norm(module(u), dim=(1, 2, 3)) / torch.linalg.vector_norm(
            u, dim=(1, 2, 3)
        )
    assert float(ratio.max()) <= 1 + 1e-9


def test_learned_theta_below_one_half_is_conditional_or_enforced():
    assert _verdict(LEARNED.format(theta="0.25", n=5, enforce="false")) == "conditional"
    assert _verdict(LEARNED.format(theta="0.25", n=5, enforce="true")) == "enforced"


def test_nonlinear_or_out_of_range_is_refused_at_the_by():
    nonlinear = LEARNED.format(theta="0.5", n=5, enforce="false").replace(
        "-K' K u", "-K' tanh(K u)"
    )
    with pytest.raises(SpecError, match="theta steps a linear"):
        pde2net.check_text(nonlinear, "t.pde")
    with pytest.raises(SpecError, match=r"θ must lie in \[0, 1\]"):
        pde2net.check_text(HEAT, "t.pde", {"theta": "1.5"})
