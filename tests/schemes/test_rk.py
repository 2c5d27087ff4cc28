"""Explicit Runge–Kutta blocks (`rk4`, `heun`, `midpoint`, `ssprk3`): verdicts against
the textbook bounds and measured growth, outputs against an independent NumPy stepper,
and the SSP transfer of forward Euler's non-expansiveness to learned layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pde2net
from pde2net.analysis.butcher import NAMED

HEAT = """
const tau = 0.6
const steps = 50
pde heat {{
    state u[1]
    grid  h = 1
    dt(u) = lap u
}}
network heat_rk {{
    input  signal(1, 32)
    heat by {method}(h = tau, steps = steps)
    output identity
}}
"""

WAVE = """
const tau = 1
pde wave {{
    state u[1]
    state v[1]
    grid  h = 1
    dt(u) = v
    dt(v) = lap u
}}
network wave_rk {{
    input  signal(2, 32)
    wave by {method}(h = tau, steps = 20)
    output identity
}}
"""

PARABOLIC = """
pde parabolic(c) {{
    state u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}}
network par_rk {{
    input  image(4, 12, 12)
    parabolic(4) by {method}(h = 0.5, steps = 3, enforce = {enforce})
    output identity
}}
"""


def _verdict(text: str, **overrides) -> str:
    return pde2net.check_text(text, "rk.pde", overrides).report["verdict"]


def numpy_rk(u: np.ndarray, a, b, f, tau: float, steps: int) -> np.ndarray:
    """`steps` steps of the explicit tableau (a, b) on du/dt = f(u), in float64."""
    a = [[float(x) for x in row] for row in a]
    b = [float(x) for x in b]
    for _ in range(steps):
        ks = []
        for i in range(len(b)):
            ks.append(f(u + tau * sum(a[i][j] * ks[j] for j in range(i))))
        u = u + tau * sum(bi * k for bi, k in zip(b, ks, strict=True))
    return u


def _numpy_rk(u: np.ndarray, name: str, tau: float, steps: int) -> np.ndarray:
    """RK on du/dt = u_xx with the 3-point Laplacian and replicated edges (Neumann)."""

    def f(u):
        p = np.concatenate([u[..., :1], u, u[..., -1:]], axis=-1)
        return p[..., :-2] - 2 * p[..., 1:-1] + p[..., 2:]

    return numpy_rk(u, NAMED[name].a, NAMED[name].b, f, tau, steps)


@pytest.mark.parametrize("name", ["rk4", "heun", "midpoint", "ssprk3"])
def test_heat_matches_an_independent_numpy_stepper(name):
    compiled = pde2net.compile_text(HEAT.format(method=name), "heat.pde", {"tau": "0.2"})
    x = torch.randn(3, 1, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    with torch.no_grad():
        got = compiled.module(x).numpy()
    want = _numpy_rk(x.numpy().astype(np.float64), name, 0.2, 50)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "bound"), [("rk4", 2.785293563405282 / 4), ("ssprk3", 2.5127453266183286 / 4)]
)
def test_heat_verdict_flips_at_the_exact_bound_and_growth_follows(name, bound):
    below, above = round(bound * 0.995, 6), round(bound * 1.005, 6)
    assert _verdict(HEAT.format(method=name), tau=str(below)) == "proven"
    assert _verdict(HEAT.format(method=name), tau=str(above)) == "violated"
    for tau, stable in ((below, True), (above, False)):
        compiled = pde2net.compile_text(
            HEAT.format(method=name), "heat.pde", {"tau": str(tau), "steps": "400"}
        )
        x = torch.randn(1, 1, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        module = compiled.module.double()
        with torch.no_grad():
            y = module(x)
        growth = float(torch.linalg.vector_norm(y) / torch.linalg.vector_norm(x))
        assert (growth <= 1.0) is stable, (tau, growth)


def test_wave_rk4_is_stable_up_to_root_two_h_and_heun_never():
    """Imaginary symbols ±i·2/h·sin: RK4 holds up to τ·2/h ≤ 2√2; Heun's region holds no
    part of the imaginary axis, so every τ > 0 fails (decided exactly)."""
    assert _verdict(WAVE.format(method="rk4"), tau="1.41") == "proven"
    assert _verdict(WAVE.format(method="rk4"), tau="1.42") == "violated"
    assert _verdict(WAVE.format(method="heun"), tau="0.01") == "violated"


def test_ssp_methods_carry_eulers_bound_to_learned_layers():
    report = pde2net.check_text(PARABOLIC.format(method="ssprk3", enforce="true"), "p.pde").report
    assert report["verdict"] == "enforced"
    (step,) = [c for c in report["blocks"][0]["checks"] if "SSP" in c["name"]]
    assert step["requires"]["bound"] == pytest.approx(2.0)  # h/C = 0.5: ‖K‖ ≤ 2
    report = pde2net.check_text(PARABOLIC.format(method="heun", enforce="false"), "p.pde").report
    assert report["verdict"] == "conditional"


@pytest.mark.parametrize("name", ["rk4", "midpoint"])
def test_methods_without_ssp_are_unverified_on_nonlinear_layers(name):
    report = pde2net.check_text(PARABOLIC.format(method=name, enforce="true"), "p.pde").report
    assert report["verdict"] == "unverified"
    assert any("C = 0" in c["reason"] for c in report["blocks"][0]["checks"])


def test_enforced_ssp_block_is_non_expansive_with_huge_weights():
    """The enforced bound holds by construction: K scaled ×50, the heun block still maps
    any two inputs no further apart (sampled, as a check of the construction)."""
    compiled = pde2net.compile_text(PARABOLIC.format(method="heun", enforce="true"), "p.pde")
    module = compiled.module.eval()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(50)
        g = torch.Generator().manual_seed(2)
        u, v = torch.randn(2, 8, 4, 12, 12, generator=g)
        ratio = torch.linalg.vector_norm(module(u) - module(v), dim=(1, 2, 3)) / (
            torch.linalg.vector_norm(u - v, dim=(1, 2, 3))
        )
    assert float(ratio.max()) <= 1.0 + 1e-5
