"""Frozen-diffusivity FED and FSI (issue 16) against an independent NumPy implementation
written from the literature: Grewenig, Weickert & Bruhn (2010) for FED, Hafner et al.
(2016) for FSI, with the diffusivity computed once per cycle and held for its steps (as
in AKAZE's nonlinear scale space). Outputs to 1e-5, non-expansiveness, verdict proven."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pde2net
from tests.conftest import SPECS

PM_FED = SPECS / "experiments" / "perona_malik_1d_fed.pde"  # lambda = 0.1, h = 1
LAM = 0.1


def _d(u: np.ndarray) -> np.ndarray:
    """Forward difference with a zero flux through the right end (Neumann)."""
    out = np.zeros_like(u)
    out[..., :-1] = u[..., 1:] - u[..., :-1]
    return out


def _dt(flux: np.ndarray) -> np.ndarray:
    """The adjoint of `_d`: (D'w)_i = w_{i-1} − w_i, with w_{-1} = 0."""
    out = -flux.copy()
    out[..., 1:] += flux[..., :-1]
    return out


def _g(u: np.ndarray) -> np.ndarray:
    """The Perona-Malik diffusivity Φ(s)/s = 1/(1 + s²/λ²) at s = D u."""
    return 1 / (1 + _d(u) ** 2 / LAM**2)


def fed_numpy(u: np.ndarray, tau_max: float, n: int, cycles: int) -> np.ndarray:
    """FED: per cycle g = g(u) once, then u ← u − τ_i D'(g D u) for the n step sizes
    τ_i = τ_max / (2 cos²(π (2i+1)/(4n+2))) (their order does not matter for a fixed
    linear operator: the steps commute)."""
    taus = [tau_max / (2 * math.cos(math.pi * (2 * i + 1) / (4 * n + 2)) ** 2) for i in range(n)]
    u = u.astype(np.float64).copy()
    for _ in range(cycles):
        g = _g(u)
        for tau in taus:
            u = u - tau * _dt(g * _d(u))
    return u


def fsi_numpy(u: np.ndarray, tau: float, n: int, cycles: int) -> np.ndarray:
    """FSI: per cycle g = g(u) once, u^(−1) = u^0, then
    u^(k+1) = α_k (u^k − τ D'(g D u^k)) + (1 − α_k) u^(k−1), α_k = (4k+2)/(2k+3)."""
    u = u.astype(np.float64).copy()
    for _ in range(cycles):
        g = _g(u)
        prev = u
        for k in range(n):
            alpha = (4 * k + 2) / (2 * k + 3)
            u, prev = alpha * (u - tau * _dt(g * _d(u))) + (1 - alpha) * prev, u
    return u


def _signals(count: int = 8, size: int = 256) -> np.ndarray:
    """Noisy piecewise-constant signals in [0, 1] (edges that Perona-Malik keeps)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        edges = np.sort(rng.integers(0, size, 6))
        levels = rng.uniform(0.1, 0.9, 7)
        clean = levels[np.searchsorted(edges, np.arange(size), side="right")]
        out.append(clean + 0.1 * rng.standard_normal(size))
    return np.stack(out)[:, None, :]


def _fsi_text() -> str:
    return (
        PM_FED.read_text()
        .replace("by fed(tau_max = tau_max,", "by fsi(tau = tau_max,")
        .replace("network perona_malik_1d_fed", "network perona_malik_1d_fsi")
    )


def _compiled(scheme: str, **overrides):
    if scheme == "fed":
        return pde2net.compile_file(str(PM_FED), set=overrides)
    return pde2net.compile_text(_fsi_text(), "perona_malik_1d_fsi.pde", set=overrides)


SETTINGS = [(0.5, 10, 1), (0.5, 10, 3), (0.4, 25, 2)]  # (τ_max, n, cycles): T up to 260


@pytest.mark.parametrize("scheme", ["fed", "fsi"])
@pytest.mark.parametrize(("tau", "n", "cycles"), SETTINGS)
def test_compiled_frozen_cycle_matches_numpy(scheme, tau, n, cycles):
    compiled = _compiled(scheme, tau_max=tau, steps=n, cycles=cycles)
    assert compiled.report["verdict"] == "proven", compiled.report["blocks"][0]["checks"]
    u0 = _signals()
    module = compiled.module.double().eval()
    with torch.no_grad():
        got = module(torch.from_numpy(u0)).numpy()
    want = (fed_numpy if scheme == "fed" else fsi_numpy)(u0, tau, n, cycles)
    err = float(np.abs(got - want).max())
    print(f"{scheme} tau={tau} n={n} cycles={cycles}: max |compiled - numpy| = {err:.2e}")
    assert err < 1e-5
    # float32, as deployed
    with torch.no_grad():
        got32 = compiled.module.float().eval()(torch.from_numpy(u0).float()).double().numpy()
    assert float(np.abs(got32 - want).max()) < 1e-4


@pytest.mark.parametrize("scheme", ["fed", "fsi"])
def test_frozen_cycles_are_non_expansive(scheme):
    """‖u_out‖₂ ≤ ‖u_in‖₂ for every input (the theorem's statement), on noise and on
    the signals, at diffusion time T = 50 … 500 with the longest admissible steps; the
    mean is kept too (the operator's null space)."""
    rng = np.random.default_rng(3)
    inputs = np.concatenate([_signals(), rng.standard_normal((8, 1, 256))])
    for T, n in ((50, 17), (200, 35), (500, 55)):
        tau = 3 * T / (n * n + n)
        assert tau <= 0.5
        module = _compiled(scheme, tau_max=tau, steps=n, cycles=1).module.double().eval()
        with torch.no_grad():
            out = module(torch.from_numpy(inputs)).numpy()
        ratio = np.linalg.norm(out, axis=-1) / np.linalg.norm(inputs, axis=-1)
        # the mean (the operator's null space) is preserved exactly
        assert np.abs(out.mean(-1) - inputs.mean(-1)).max() < 1e-9
        print(f"{scheme} T={T} n={n}: max ‖out‖/‖in‖ = {ratio.max():.6f}")
        assert ratio.max() <= 1 + 1e-12
        centred = out - out.mean(-1, keepdims=True)
        # diffusion: the centred signal's energy drops too
        centred_in = inputs - inputs.mean(-1, keepdims=True)
        assert (np.linalg.norm(centred, axis=-1) <= np.linalg.norm(centred_in, axis=-1)).all()


def test_per_step_evaluation_is_kept_by_freeze_false_and_is_unverified():
    """freeze = false re-evaluates Φ at every inner step (the previous behaviour): no
    theorem covers it, and its long steps amplify."""
    text = PM_FED.read_text().replace("cycles = cycles)", "cycles = cycles, freeze = false)")
    n, T = 17, 50
    compiled = pde2net.compile_text(
        text, "pm_fed_free.pde", set={"tau_max": 3 * T / (n * n + n), "steps": n}
    )
    assert compiled.report["verdict"] == "unverified"
    assert "def diffusivity" not in compiled.source
    u0 = _signals()
    with torch.no_grad():
        out = compiled.module.double().eval()(torch.from_numpy(u0)).numpy()
    ratio = np.linalg.norm(out, axis=-1) / np.linalg.norm(u0, axis=-1)
    print(f"freeze = false, T = {T}: max ‖out‖/‖in‖ = {ratio.max():.3f}")


@pytest.mark.parametrize("name", ["fed", "fsi"])
def test_learned_frozen_specs(name):
    """The Alt et al. denoisers freeze too; with enforce = true the verdict is enforced,
    without it conditional on ‖K‖₂, through the same norm condition as the explicit step."""
    spec = SPECS / "alt_2023" / f"{name}.pde"
    report = pde2net.check_file(str(spec))
    assert report["verdict"] == "enforced"
    checks = report["blocks"][0]["checks"]
    cycle = checks[-1]
    assert "frozen" in cycle["name"] and cycle["status"] == "enforced"
    assert cycle["requires"] == checks[-2]["requires"] is not None
    loose = pde2net.check_text(spec.read_text().replace("enforce = true", "enforce = false"))
    assert loose.report["verdict"] == "conditional"
    compiled = pde2net.compile_file(str(spec))
    assert "g = self.diffusivity(u, 0)" in compiled.source  # once per cycle
