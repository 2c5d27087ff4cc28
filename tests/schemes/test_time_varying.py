"""Leapfrog and Verlet conditions are theorems for σ linear and time-constant weights
only. With per-step weights every frozen step can satisfy h ‖K_j‖ ≤ 2 while the network
grows without bound (parametric resonance): such blocks must not be `enforced`,
`conditional` or `proven`, and this test measures the growth that makes it so."""

from __future__ import annotations

import pytest
import torch

import pde2net

SPEC = """
pde second(c) {{
    state u[c]
    weight K : conv(1, c -> c)
    dtt(u) = -K' {inner}
}}
network resonance {{
    input  signal(1, 8)
    second(1) by leapfrog(h = 1, steps = 20, enforce = {enforce}{shared})
    output identity
}}
"""


@pytest.mark.parametrize("enforce", ["true", "false"])
def test_per_step_weights_within_the_frozen_bound_still_resonate(enforce):
    text = SPEC.format(inner="K u", enforce=enforce, shared="")
    report = pde2net.check_text(text, "r.pde").report
    assert report["verdict"] == "unverified", report["verdict"]
    compiled = pde2net.compile_text(text, "r.pde")
    module = compiled.module.double().eval()
    with torch.no_grad():
        kernels = [p for name, p in module.named_parameters() if "K" in name]
        assert len(kernels) == 20
        for j, k in enumerate(kernels):  # h²k² alternates 0.05 and 3.95, both < 4
            k.fill_(0.05**0.5 if j % 2 == 0 else 3.95**0.5)
        x = torch.ones(1, 1, 8, dtype=torch.float64)
        growth = float(torch.linalg.vector_norm(module(x)) / torch.linalg.vector_norm(x))
    assert growth > 1e3  # each frozen step is stable: the verdict must not say so


def test_shared_linear_weights_keep_the_linear_theorem():
    text = SPEC.format(inner="K u", enforce="true", shared=", shared = true")
    assert pde2net.check_text(text, "r.pde").report["verdict"] == "enforced"


def test_a_nonlinear_slope_is_not_covered_by_the_linear_theorem():
    text = SPEC.format(inner="tanh(K u)", enforce="true", shared=", shared = true")
    report = pde2net.check_text(text, "r.pde").report
    assert report["verdict"] == "unverified"
    (step,) = [c for c in report["blocks"][0]["checks"] if c["name"] == "leapfrog step"]
    assert "parametric" in step["reason"] and step["requires"] is None
