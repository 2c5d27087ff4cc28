"""Vector fluxes g(|K u|²) K u (issue 16): the isotropic Perona-Malik model and Alt et
al.'s channel-coupling activation. Against NumPy, the Euclidean verdict, rotations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pde2net
from pde2net.export.onnx import export_bytes
from tests.conftest import SPECS

SPEC = SPECS / "alt_2023" / "isotropic.pde"


def _isotropic_numpy(u: np.ndarray, tau: float, lam: float, steps: int) -> np.ndarray:
    """u ← u + τ div(g(|∇u|²) ∇u), forward differences (zero at the far edge: Neumann),
    div = −∇' the exact adjoint (backward differences), g(s) = 1/(1 + s/λ²)."""
    u = u.astype(np.float64).copy()
    for _ in range(steps):
        ux = np.zeros_like(u)
        uy = np.zeros_like(u)
        ux[..., :, :-1] = u[..., :, 1:] - u[..., :, :-1]
        uy[..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]
        g = 1 / (1 + (ux**2 + uy**2) / lam**2)
        fx, fy = g * ux, g * uy
        div = np.zeros_like(u)
        div[..., :, 0] += fx[..., :, 0]
        div[..., :, 1:] += fx[..., :, 1:] - fx[..., :, :-1]
        div[..., 0, :] += fy[..., 0, :]
        div[..., 1:, :] += fy[..., 1:, :] - fy[..., :-1, :]
        u = u + tau * div
    return u


def _images(count: int = 4, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:size, :size]
    out = []
    for _ in range(count):
        cx, cy, r = rng.uniform(8, 24, 3)
        clean = np.where((x - cx) ** 2 + (y - cy) ** 2 < (r / 2) ** 2, 0.8, 0.2)
        out.append(clean + 0.05 * rng.standard_normal((size, size)))
    return np.stack(out)[:, None]


def test_isotropic_matches_numpy_and_onnx():
    compiled = pde2net.compile_file(str(SPEC))
    module = compiled.module.double().eval()
    u0 = _images()
    with torch.no_grad():
        got = module(torch.from_numpy(u0)).numpy()
    want = _isotropic_numpy(u0, 0.2, 0.1, 10)
    assert np.abs(got - want).max() < 1e-6  # λ passes through a softplus
    import onnxruntime as ort

    compiled = pde2net.compile_file(str(SPEC))
    session = ort.InferenceSession(
        export_bytes(compiled.module, compiled.plan), providers=["CPUExecutionProvider"]
    )
    (out,) = session.run(["output"], {"input": u0.astype(np.float32)})
    assert np.abs(out - want).max() < 1e-5


def test_isotropic_verdict_is_the_euclidean_bound():
    """0 ≤ g ≤ 1 and ‖grad‖₂² = 8/h²: τ ≤ h²/4, proven; beyond it violated (at g = 1,
    small amplitudes, it is the explicit heat step past its bound)."""
    report = pde2net.check_file(str(SPEC))
    assert report["verdict"] == "proven"
    names = [c["name"] for c in report["blocks"][0]["checks"]]
    assert names == ["dt(u): flux", "Euclidean step"]
    step = report["blocks"][0]["checks"][1]["step"]
    assert step["bound"]["kind"] == "exact" and step["bound"]["value"] == 0.25
    assert pde2net.check_file(str(SPEC), set={"tau": 0.25})["verdict"] == "proven"
    assert pde2net.check_file(str(SPEC), set={"tau": 0.2500001})["verdict"] == "violated"
    # h = 2: the bound scales with h²
    assert pde2net.check_file(str(SPEC), set={"tau": 1.0, "h": 2})["verdict"] == "proven"


def test_isotropic_is_non_expansive():
    module = pde2net.compile_file(str(SPEC), set={"tau": 0.25, "steps": 50}).module
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((8, 1, 32, 32)))
    with torch.no_grad():
        y = module.double().eval()(x)
    ratio = y.flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert float(ratio.max()) <= 1 + 1e-12


def test_forward_difference_grad_commutes_with_transposition_not_rotation():
    """What is true of the forward-difference grad: transposing the image swaps u_x and
    u_y and keeps both forward, so the network commutes with transposition to float
    precision; a 90° rotation turns a forward difference into a backward one, so it does
    not (a discretisation effect of O(h), not rounding)."""
    module = pde2net.compile_file(str(SPEC)).module.double().eval()
    x = torch.from_numpy(_images())
    with torch.no_grad():
        y = module(x)
        transposed = module(x.transpose(-1, -2)).transpose(-1, -2)
        rotated = torch.rot90(module(torch.rot90(x, 1, (-2, -1))), -1, (-2, -1))
    assert float((y - transposed).abs().max()) < 1e-13
    assert float((y - rotated).abs().max()) > 1e-3


LEARNED = """
pde coupled {
    state  u[1]
    weight K : conv(3x3, 1 -> 4)
    param  lambda = 0.1 : learn, positive
    fn     g(s) = 1 / (1 + s / lambda^2)
    dt(u) = -K'(g(|K u|^2) * K u)
}

network coupled_net {
    input  image(1, 24, 24)
    coupled by euler(tau = 0.2, steps = 5, shared = true, enforce = true)
    output identity
}
"""


def test_learned_channel_coupling_is_analysed_and_rotation_equivariant():
    """K' (g(|K u|²) K u) with a learned K: the step is conditional on ‖K‖₂ (enforced
    here). With K's four filters the 90° rotations of one filter, |K u|² is rotation
    invariant and the network commutes with rot90 to float precision."""
    compiled = pde2net.compile_text(LEARNED, "coupled.pde")
    checks = compiled.report["blocks"][0]["checks"]
    assert [c["status"] for c in checks] == ["proven", "enforced"]
    assert checks[1]["requires"]["weights"] == ["K"]
    loose = pde2net.check_text(LEARNED.replace("enforce = true", "enforce = false"))
    assert loose.report["verdict"] == "conditional"
    module = compiled.module.double().eval()
    k = torch.from_numpy(np.random.default_rng(2).standard_normal((3, 3))) * 0.3
    orbit = torch.stack([torch.rot90(k, r, (0, 1)) for r in range(4)])[:, None]
    with torch.no_grad():
        module.block1.K[0].copy_(orbit)
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((4, 1, 24, 24)))
    with torch.no_grad():
        y = module(x)
        for r in (1, 2, 3):
            rotated = torch.rot90(module(torch.rot90(x, r, (-2, -1))), -r, (-2, -1))
            assert float((y - rotated).abs().max()) < 1e-12


def test_magnitude_of_a_number_is_an_error_and_an_unbounded_g_is_violated():
    from pde2net.lang.errors import SpecError

    with pytest.raises(SpecError, match=r"\|\.\.\.\| takes a field"):
        pde2net.check_text(LEARNED.replace("g(|K u|^2) * K u", "|2| * K u"))
    # g(s) = s: Φ(t)/t = t² is unbounded, so no step is stable
    report = pde2net.check_text(LEARNED.replace("g(|K u|^2) * K u", "|K u| * |K u| * K u"))
    assert report.report["verdict"] == "violated"
