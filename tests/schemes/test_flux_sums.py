"""Forward Euler on a sum of flux terms, -Σ c_i K_i' Φ_i(K_i u): the summed Euclidean
condition τ Σ c_i L_i ‖K_i‖₂² ≤ 2, derived, enforced, certified and checked on the
generated step."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import pde2net
from pde2net.export.certify import certify, operator_norm
from pde2net.pipeline import export_compiled
from tests.conftest import run_cli

MIXED = """
const tau = {tau}
const h = {h}

flux phi(s) = s / (1 + s^2)

pde mixed(c) {{
    state  u[c]
    grid   h
    weight K : conv(3, c -> c)
    dt(u) = -dx' phi(dx u) - K' phi(K u)
}}

network mixed_1d {{
    input  signal(2, 32)
    mixed(2) by euler(tau = tau, steps = 1{extra})
    output identity
}}
"""

TWO_STENCILS = """
const tau = 0.25
const h = 1

flux phi(s) = s / (1 + s^2)

pde perona_malik_2d {
    state u[1]
    grid  h
    dt(u) = -dx' phi(dx u) - dy' phi(dy u)
}

network pm_2d {
    input  image(1, 16, 16)
    perona_malik_2d by euler(tau = tau, steps = 10)
    output identity
}
"""

TWO_LEARNED = """
flux phi(s) = s / (1 + s^2)

pde two(c) {
    state  u[c]
    weight K : conv(3, c -> c)
    weight W : conv(3, c -> c)
    dt(u) = -K' phi(K u) - W' phi(W u)
}

network two_1d {
    input  signal(2, 32)
    two(2) by euler(tau = 0.1, steps = 1, enforce = true)
    output identity
}
"""


def _write(tmp_path, text: str, name: str = "spec.pde"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _step_check(report: dict) -> dict:
    checks = report["blocks"][0]["checks"]
    return next(c for c in checks if c["name"] == "Euclidean step (sum)")


@pytest.mark.parametrize(("tau", "h"), [(0.2, 1), (0.1, 0.5), (0.05, 0.5)])
def test_one_learned_kernel_gets_the_bound_the_stencil_leaves(tmp_path, tau, h):
    path = _write(tmp_path, MIXED.format(tau=tau, h=h, extra=""))
    check = _step_check(pde2net.check_file(str(path)))
    assert check["status"] == "conditional"
    # τ (4/h² + ‖K‖₂²) ≤ 2, with c = L = 1 for both terms
    assert check["requires"]["bound"] == pytest.approx(math.sqrt(2 / tau - 4 / h**2))
    assert check["values"]["norm_bound"]["kind"] == "exact"
    names = [c["name"] for c in pde2net.check_file(str(path))["blocks"][0]["checks"]]
    assert "dt(u): flux phi on dx" in names and "dt(u): flux phi on K" in names


def test_a_step_the_stencil_alone_uses_up_is_violated(tmp_path, cli):
    path = _write(tmp_path, MIXED.format(tau=0.5, h=1, extra=""))
    check = _step_check(pde2net.check_file(str(path)))
    assert check["status"] == "violated"
    assert "dx alone need τ ≤ 0.5 (h = 1); τ = 0.5" in check["condition"]
    assert cli("check", str(path)).returncode == 1


def test_two_stencils_prove_the_2d_perona_malik_bound(tmp_path):
    """τ (‖dx‖₂² + ‖dy‖₂²) ≤ 2: τ ≤ h²/4, the 2D bound of docs/stability.md."""
    path = _write(tmp_path, TWO_STENCILS)
    check = _step_check(pde2net.check_file(str(path)))
    assert check["status"] == "proven"
    assert check["values"]["bound"] == {"value": 0.25, "kind": "exact", "text": "1/4"}
    assert check["step"]["bound"]["value"] == pytest.approx(0.25)
    for factor, code in ((0.99, 0), (1.01, 1)):
        result = run_cli("check", str(path), "--set", f"tau={0.25 * factor}")
        assert result.returncode == code, result.stdout


def test_two_learned_kernels_are_conditional_and_not_enforced(tmp_path):
    path = _write(tmp_path, TWO_LEARNED)
    check = _step_check(pde2net.check_file(str(path)))
    assert check["status"] == "conditional"
    assert "‖K‖₂² + 1 · ‖W‖₂² ≤ 20" in check["condition"]
    assert "norm_bound" not in check["values"] and check["requires"] is None


def test_enforced_sum_is_rescaled_and_certified(tmp_path):
    path = _write(tmp_path, MIXED.format(tau=0.2, h=1, extra=", enforce = true"))
    compiled = pde2net.compile_file(str(path))
    bound = math.sqrt(2 / 0.2 - 4)
    assert _step_check(compiled.report)["status"] == "enforced"
    with torch.no_grad():
        compiled.module.block1.K[0].mul_(50.0)
    compiled.module.eval()
    block = compiled.module.block1
    with torch.no_grad():
        effective = block.K_bound[0](block.K[0]).double().numpy()
    assert operator_norm(effective, [1], [32]) <= bound
    model, _ = export_compiled(compiled)
    out = tmp_path / "mixed.onnx"
    out.write_bytes(model)
    result = certify(str(out))
    assert result["certified"], json.dumps(result, indent=1)
    assert result["blocks"][0]["checks"][0]["bound"] == pytest.approx(bound)


@pytest.fixture(scope="module")
def at_the_bound(tmp_path_factory):
    """The generated step with ‖K‖₂ exactly at the summed bound (float64)."""
    path = _write(tmp_path_factory.mktemp("sum"), MIXED.format(tau=0.2, h=1, extra=""))
    module = pde2net.compile_file(str(path)).module.double().eval()
    bound = math.sqrt(2 / 0.2 - 4)
    with torch.no_grad():
        weight = torch.randn(
            2, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
        # ‖K‖₂ exactly: the largest singular value of the dense matrix of the padded conv
        eye = torch.eye(2 * 32, dtype=torch.float64).reshape(-1, 2, 32)
        matrix = F.conv1d(eye, weight, padding=1).reshape(2 * 32, -1)
        norm = float(torch.linalg.matrix_norm(matrix, ord=2))
        module.block1.K[0].copy_(weight * (bound / norm))
    return module


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1e-3, 1e3))
def test_the_step_at_the_summed_bound_does_not_grow_the_norm(at_the_bound, seed, scale):
    x = scale * torch.randn(
        3, 2, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    with torch.no_grad():
        y = at_the_bound(x)
    assert float(y.norm()) <= float(x.norm()) * (1 + 1e-9)


def test_vanishing_fluxes_are_stable_for_every_step(tmp_path):
    spec = TWO_STENCILS.replace("s / (1 + s^2)", "0 * s").replace("tau = 0.25", "tau = 5")
    check = _step_check(pde2net.check_file(str(_write(tmp_path, spec))))
    assert check["status"] == "proven"
    assert "vanish" in check["condition"]
