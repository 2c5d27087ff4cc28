"""Leapfrog's start (issue 16): the Taylor start u₁ = u₀ + τ²/2 f(u₀) makes the classic
wave spec second order; Ruthotto & Haber's u₋₁ = u₀ is first order. Judged against the
exact semi-discrete solution of one Fourier mode."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pde2net
from tests.conftest import SPECS

WAVE_1D = SPECS / "classic" / "wave_1d.pde"
N, MODE, FINAL = 64, 8, 20.0


def _mode() -> tuple[np.ndarray, float]:
    """A cosine mode of the Neumann 3-point Laplacian (mirror boundary, h = 1) and its
    frequency: L v = −ω² v with ω = 2 sin(π k / (2N)), so u(t) = cos(ω t) v exactly."""
    i = np.arange(N)
    v = np.cos(math.pi * MODE * (i + 0.5) / N)
    lap = -2 * np.eye(N) + np.eye(N, k=1) + np.eye(N, k=-1)
    lap[0, 0] = lap[-1, -1] = -1  # zero flux through the ends
    omega = 2 * math.sin(math.pi * MODE / (2 * N))
    assert np.abs(lap @ v + omega**2 * v).max() < 1e-12  # an eigenvector, independently
    return v, omega


def _compile(start: str, **overrides):
    """The classic spec (which starts by taylor) with the start named."""
    text = WAVE_1D.read_text().replace("start = taylor", f"start = {start}")
    assert f"start = {start}" in text
    return pde2net.compile_text(text, str(WAVE_1D), set=overrides)


def _errors(start: str) -> list[float]:
    v, omega = _mode()
    exact = math.cos(omega * FINAL) * v
    errors = []
    for tau in (0.5, 0.25, 0.125):
        steps = round(FINAL / tau)
        module = _compile(start, tau=tau, steps=steps).module.double().eval()
        with torch.no_grad():
            got = module(torch.from_numpy(v)[None, None]).numpy()[0, 0]
        errors.append(float(np.abs(got - exact).max()))
    return errors


def test_taylor_start_is_second_order():
    errors = _errors("taylor")
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    print(f"taylor start: errors {errors}, ratios {ratios}")
    assert all(3.6 < r < 4.4 for r in ratios), (errors, ratios)


def test_euler_start_is_first_order():
    errors = _errors("euler")
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    print(f"euler start: errors {errors}, ratios {ratios}")
    assert all(1.7 < r < 2.3 for r in ratios), (errors, ratios)


@pytest.mark.parametrize("start", ["euler", "taylor"])
def test_inverse_recovers_the_input_for_both_starts(start):
    """inverse() undoes forward_pair: from (u_N, u_N-1) back to (u_0, u_-1), where u_-1
    is the start's virtual previous step (u_0 itself, or u_0 + τ²/2 f(u_0))."""
    compiled = _compile(start, steps=30)
    module = compiled.module.double().eval()
    block = module.block1
    rng = np.random.default_rng(1)
    u0 = torch.from_numpy(rng.standard_normal(N))[None, None]
    with torch.no_grad():
        prev = u0 if start == "euler" else u0 + 0.81 / 2 * block.f(u0, 0)
        end = block.forward_pair(u0, prev)
        assert torch.allclose(end[0], module(u0))
        back, back_prev = block.inverse(*end)
    assert float((back - u0).abs().max()) < 1e-9
    assert float((back_prev - prev).abs().max()) < 1e-9
