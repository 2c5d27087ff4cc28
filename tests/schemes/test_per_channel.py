"""Per-channel learned parameters (`param kappa[c] = … : learn, positive`): counted once
per channel, analysed at the largest channel, clamped per channel by `enforce`, and run
in onnxruntime against an independent NumPy stepper with different values per channel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pde2net
from pde2net.export.onnx import export_bytes
from pde2net.lang.errors import SpecError
from tests.conftest import SPECS

SPEC = SPECS / "classic" / "heat_channels_2d.pde"

ONE_D = """
pde heat(c) {{
    state u[c]
    grid  h = 1
    param kappa[c] = {init} : learn, positive
    dt(u) = kappa * lap u
}}
network heat_channels_1d {{
    input  signal({c}, 24)
    heat({c}) by euler(tau = {tau}, steps = 30{enforce})
    output identity
}}
"""


def _heat_numpy(u: np.ndarray, kappa: np.ndarray, tau: float, steps: int) -> np.ndarray:
    """u ← u + τ κ_c Δu per channel, 5- or 3-point Laplacian, replicated edges (Neumann)."""
    k = kappa.reshape((1, -1) + (1,) * (u.ndim - 2))
    for _ in range(steps):
        p = np.pad(u, [(0, 0), (0, 0)] + [(1, 1)] * (u.ndim - 2), mode="edge")
        if u.ndim == 3:
            lap = p[..., :-2] - 2 * u + p[..., 2:]
        else:
            lap = p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]
            lap = lap - 4 * u
        u = u + tau * k * lap
    return u


def test_parameter_count_is_the_channel_count():
    compiled = pde2net.compile_file(str(SPEC))
    assert compiled.network.parameters == 3
    assert sum(p.numel() for p in compiled.module.parameters()) == 3
    assert compiled.report["blocks"][0]["parameters"] == 3
    text = pde2net.check_text(ONE_D.format(init=0.5, c=7, tau=0.2, enforce=""), "h.pde")
    assert text.network.parameters == 7


def test_enforce_clamps_each_channel_into_the_exact_bound():
    """τ κ · 8/h² ≤ 2 in 2D: κ ≤ 1/(4 · 0.2) = 1.25 (exact, float32-representable)."""
    report = pde2net.check_file(str(SPEC))
    assert report["verdict"] == "enforced"
    (check,) = report["blocks"][0]["checks"]
    assert check["param"] == {"param": "kappa", "bound": 1.25, "text": "5/4"}
    compiled = pde2net.compile_file(str(SPEC))
    assert "kappa_max=1.25" in compiled.source


@pytest.mark.parametrize(("tau", "bound"), [(0.2, 2.5), (0.3, 2 / 1.2)])
def test_enforced_bound_in_1d_is_h2_over_2_tau_rounded_down(tau, bound):
    report = pde2net.check_text(
        ONE_D.format(init=0.5, c=2, tau=tau, enforce=", enforce = true"), "h.pde"
    ).report
    clamp = report["blocks"][0]["checks"][0]["param"]["bound"]
    assert clamp <= bound and clamp == pytest.approx(bound, rel=1e-7)
    assert float(np.float32(clamp)) == clamp


def test_unenforced_per_channel_param_is_conditional_on_its_largest_channel():
    at = 0.5 / 0.2 / 2  # h²/(2 τ) = 1.25 at τ = 0.4, tau chosen so κ0 sits at 0.99x / 1.01x
    for factor, verdict in ((0.99, "conditional"), (1.01, "violated")):
        spec = ONE_D.format(init=at * factor, c=3, tau=0.4, enforce="")
        report = pde2net.check_text(spec, "h.pde").report
        assert report["verdict"] == verdict, factor
        if verdict == "conditional":
            assert "one value per channel" in report["blocks"][0]["checks"][0]["reason"]


def test_onnxruntime_matches_numpy_with_distinct_channel_values():
    """Trained-looking values, one above the clamp: the model computes min(κ_c, 1.25)."""
    import onnxruntime as ort

    compiled = pde2net.compile_file(str(SPEC))
    module = compiled.module.eval()
    kappa = np.array([0.3, 0.9, 3.0])
    with torch.no_grad():
        module.block1.kappa_raw.copy_(torch.from_numpy(np.log(np.expm1(kappa))))
    session = ort.InferenceSession(
        export_bytes(module, compiled.plan), providers=["CPUExecutionProvider"]
    )
    u0 = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    (got,) = session.run(["output"], {"input": u0.astype(np.float32)})
    want = _heat_numpy(u0, np.minimum(kappa, 1.25), 0.2, 20)
    assert np.abs(got - want).max() < 1e-4
    assert np.linalg.norm(got) <= np.linalg.norm(u0)  # clamped: still non-expansive


def test_1d_block_broadcasts_over_the_signal():
    compiled = pde2net.compile_text(ONE_D.format(init=0.5, c=2, tau=0.2, enforce=""), "h.pde")
    module = compiled.module.double().eval()
    kappa = np.array([0.25, 1.5])
    with torch.no_grad():
        module.block1.kappa_raw.copy_(torch.from_numpy(np.log(np.expm1(kappa))))
        u0 = np.random.default_rng(1).standard_normal((1, 2, 24))
        got = module(torch.from_numpy(u0)).numpy()
    np.testing.assert_allclose(got, _heat_numpy(u0, kappa, 0.2, 30), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("rhs", "message"),
    [
        ("lap (kappa * u)", "can only scale terms"),
        ("-K' relu(kappa * K u)", "can only scale terms"),
    ],
)
def test_per_channel_param_inside_an_operator_is_refused(rhs, message):
    spec = f"""
pde p(c) {{
    state u[c]
    grid  h = 1
    weight K : conv(3, c -> c)
    param kappa[c] = 0.5 : learn
    dt(u) = {rhs}
}}
network n {{
    input  signal(2, 16)
    p(2) by euler(tau = 0.1, steps = 2)
    output identity
}}
"""
    with pytest.raises(SpecError, match=message) as err:
        pde2net.check_text(spec, "p.pde")
    assert err.value.loc.line == 7


def test_per_channel_param_of_another_channel_count_is_refused():
    spec = ONE_D.format(init=0.5, c=2, tau=0.2, enforce="").replace("kappa[c]", "kappa[3]")
    with pytest.raises(SpecError, match="has 3 channels but state 'u' has 2"):
        pde2net.check_text(spec, "h.pde")
