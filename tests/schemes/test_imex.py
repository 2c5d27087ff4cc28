"""IMEX Euler, u⁺ = (I − τL)⁻¹ (u + τN(u)): the split and its errors, verdicts against
a dense NumPy computation and against the measured growth of the generated step, and
the FFT and CG solves in onnxruntime against NumPy references."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import onnxruntime as ort
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pde2net
from pde2net.export.onnx import export_bytes
from pde2net.lang.errors import SpecError

RD = """
pde rd {{
    state u[2]
    grid  h = 1 : {bc}
    dt(u) = {kappa} * lap u + {r} * u
}}
network rd_imex {{
    input  {shape}
    rd by imex(tau = {tau}, steps = 3, solver = {solver}, iterations = {n})
    output identity
}}
"""


def _rd(tau=1.0, r=-0.5, kappa=1.0, bc="periodic", solver="auto", n=20, shape="signal(2, 16)"):
    return RD.format(tau=tau, r=r, kappa=kappa, bc=bc, solver=solver, n=n, shape=shape)


def _verdict(text: str) -> str:
    return pde2net.check_text(text, "t.pde").report["verdict"]


def _lap_1d(n: int, bc: str) -> np.ndarray:
    lap = -2 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    if bc == "periodic":
        lap[0, -1] = lap[-1, 0] = 1
    elif bc == "neumann":
        lap[0, 0] = lap[-1, -1] = -1  # the replicated ghost cell
    return lap


def _lap_2d(rows: int, cols: int, bc: str) -> np.ndarray:
    return np.kron(_lap_1d(rows, bc), np.eye(cols)) + np.kron(np.eye(rows), _lap_1d(cols, bc))


def _dense_rho(tau: float, r: float, kappa: float, n: int = 16) -> float:
    """The spectral radius of the dense IMEX step on the periodic 1D grid."""
    g = np.linalg.solve(np.eye(n) - tau * kappa * _lap_1d(n, "periodic"), (1 + tau * r) * np.eye(n))
    return float(np.abs(np.linalg.eigvals(g)).max())


# -- verdicts -------------------------------------------------------------------------


@pytest.mark.parametrize("r", [-0.5, -2.0, -0.125])
def test_reaction_bound_flips_at_two_over_minus_r(r):
    """u_t = κ lap u + r u, r < 0: stable iff τ ≤ 2/|r|, whatever κ (the θ = 0 mode has
    l = 0, where g = 1 + τr); the dense step agrees on both sides."""
    bound = 2 / -r
    for factor, want in ((0.99, "proven"), (1.01, "violated")):
        tau = bound * factor
        assert _verdict(_rd(tau=tau, r=r)) == want
        assert (_dense_rho(tau, r, 1.0) <= 1 + 1e-12) == (want == "proven")


@pytest.mark.parametrize("kappa", [1, 1000])
@pytest.mark.parametrize("tau", [0.5, 100])
def test_diffusion_is_unconditional_in_kappa_and_growth_follows_r(kappa, tau):
    """No condition on κ: with r ≥ 0 every τ is stable in the Lax–Richtmyer sense (|g| ≤
    1 + τr), and the dense step's spectral radius is exactly 1 + τr at θ = 0."""
    for r in (0, 0.5):
        assert _verdict(_rd(tau=tau, r=r, kappa=kappa)) == "proven"
        assert _dense_rho(tau, r, kappa) == pytest.approx(1 + tau * r)


def test_condition_in_2d_and_on_neumann_with_cg():
    for bc, solver, shape in (
        ("periodic", "fft", "image(2, 8, 8)"),
        ("neumann", "cg", "image(2, 8, 8)"),
    ):
        assert _verdict(_rd(tau=3.96, r=-0.5, bc=bc, solver=solver, shape=shape)) == "proven"
        assert _verdict(_rd(tau=4.04, r=-0.5, bc=bc, solver=solver, shape=shape)) == "violated"


REACTION = """
fn f(x) = -x - tanh(x)
pde react {{
    state u[1]
    grid  h = 1 : periodic
    dt(u) = lap u + f(u)
}}
network react_imex {{
    input  signal(1, 16)
    react by imex(tau = {tau}, steps = 1)
    output identity
}}
"""


def test_pointwise_reaction_slope_bound_and_measured_growth():
    """f(u) = −u − tanh u has f′ ∈ [−2, −1]: the step is non-expansive for τ ≤ 1; past it
    the constant mode around the steady state 0 grows (|1 + τ f′(0)| = |1 − 2τ| > 1), which
    the analysis, finding no closed-form zero of f, leaves unverified rather than claim."""
    assert _verdict(REACTION.format(tau=0.99)) == "proven"
    assert _verdict(REACTION.format(tau=1.01)) == "unverified"
    gen = torch.Generator().manual_seed(0)
    for tau, stable in ((0.99, True), (1.01, False)):
        module = pde2net.compile_text(REACTION.format(tau=tau), "t.pde").module.double()
        with torch.no_grad():
            u = 3 * torch.randn(64, 1, 16, generator=gen, dtype=torch.float64)
            d = 1e-3 * torch.randn(64, 1, 16, generator=gen, dtype=torch.float64)
            ratio = (module(u + d) - module(u)).norm(dim=(1, 2)) / d.norm(dim=(1, 2))
            const = torch.full((1, 1, 16), 1e-4, dtype=torch.float64)
            growth = float(module(const).norm() / const.norm())
        if stable:
            assert float(ratio.max()) <= 1 + 1e-9
        else:
            assert growth > 1


def test_unbounded_reaction_is_unverified():
    text = REACTION.format(tau=0.1).replace("lap u + f(u)", "lap u + u - u^3")
    assert _verdict(text) == "unverified"


LEARNED = """
pde layer {{
    state u[2]
    grid  h = 1
    weight K : conv(3, 2 -> 2)
    dt(u) = div(grad u) - K' relu(K u)
}}
network learned_imex {{
    input  signal(2, 16)
    layer by imex(tau = 0.5, steps = 2, enforce = {enforce})
    output identity
}}
"""


def test_learned_explicit_part_takes_forward_eulers_condition():
    assert _verdict(LEARNED.format(enforce="false")) == "conditional"
    report = pde2net.check_text(LEARNED.format(enforce="true"), "t.pde").report
    assert report["verdict"] == "enforced"
    compiled = pde2net.compile_text(LEARNED.format(enforce="true"), "t.pde")
    module = compiled.module.double().eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(50)
        u = torch.randn(32, 2, 16, generator=gen, dtype=torch.float64)
        v = torch.randn(32, 2, 16, generator=gen, dtype=torch.float64)
        ratio = (module(u) - module(v)).norm(dim=(1, 2)) / (u - v).norm(dim=(1, 2))
    assert float(ratio.max()) <= 1 + 1e-3  # NormBound's power-iteration estimate


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rhs", "message"),
    [
        ("-K' relu(K u)", "needs an implicit part"),
        ("-lap u", "not negative semi-definite"),
        ("dx' dx u", "not negative semi-definite"),
        ("kappa * lap u", "learned coefficient kappa"),
    ],
)
def test_refused_splits_are_located_at_the_by(rhs, message):
    text = f"""
pde p {{
    state u[1]
    grid  h = 1
    param kappa = 0.5 : learn, positive
    weight K : conv(3, 1 -> 1)
    dt(u) = {rhs}
}}
network n {{
    input  signal(1, 8)
    p by imex(tau = 1)
    output identity
}}
"""
    with pytest.raises(SpecError, match=message) as err:
        pde2net.check_text(text, "t.pde")
    assert err.value.loc is not None and err.value.loc.line == 11


def test_fft_needs_a_periodic_grid():
    with pytest.raises(SpecError, match="needs a periodic grid"):
        pde2net.check_text(_rd(bc="neumann", solver="fft"), "t.pde")


def test_wide_stencil_on_neumann_is_refused_but_periodic_accepted():
    text = """
pde p {{
    state u[1]
    grid  h = 1 : {bc}
    stencil W = [-1, 16, -30, 16, -1] / 12
    dt(u) = W u
}}
network n {{
    input  signal(1, 8)
    p by imex(tau = 1)
    output identity
}}
"""
    assert _verdict(text.format(bc="periodic")) == "proven"
    with pytest.raises(SpecError, match="beyond the nearest neighbours"):
        pde2net.check_text(text.format(bc="neumann"), "t.pde")


# -- numerics: NumPy references against onnxruntime ------------------------------------


def _onnx(text: str, x: np.ndarray) -> np.ndarray:
    compiled = pde2net.compile_text(text, "t.pde")
    model = export_bytes(compiled.module, compiled.plan)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def _numpy_fft_steps(x: np.ndarray, tau: float, r: float, kappa: float) -> np.ndarray:
    """The IMEX steps by numpy.fft: an independent exact periodic solve."""
    dims = x.ndim - 2
    axes = tuple(range(2, x.ndim))
    thetas = np.meshgrid(*(2 * np.pi * np.arange(n) / n for n in x.shape[2:]), indexing="ij")
    symbol = sum(2 * np.cos(t) - 2 for t in thetas)
    u = x.astype(np.float64)
    for _ in range(3):
        b = u + tau * r * u
        u = np.real(np.fft.ifftn(np.fft.fftn(b, axes=axes) / (1 - tau * kappa * symbol), axes=axes))
    assert dims in (1, 2)
    return u


@pytest.mark.parametrize(
    ("shape", "size"), [("signal(2, 16)", (16,)), ("image(2, 12, 10)", (12, 10))]
)
def test_fft_path_matches_numpy_fft_in_onnxruntime(shape, size):
    text = _rd(tau=1.5, r=-0.25, kappa=2.0, shape=shape, solver="fft")
    x = np.random.default_rng(0).standard_normal((3, 2, *size)).astype(np.float32)
    got = _onnx(text, x)
    want = _numpy_fft_steps(x, 1.5, -0.25, 2.0)
    np.testing.assert_allclose(got, want, atol=2e-5 * np.abs(want).max())


def test_fft_path_at_another_spatial_size():
    """The DFT matrices are built from the input's shape, so the model runs at any size."""
    text = _rd(tau=1.0, r=0.25, kappa=1.0, shape="image(2, 8, 8)", solver="fft")
    x = np.random.default_rng(1).standard_normal((1, 2, 20, 6)).astype(np.float32)
    got = _onnx(text, x)
    np.testing.assert_allclose(got, _numpy_fft_steps(x, 1.0, 0.25, 1.0), atol=1e-5)


@pytest.mark.parametrize("bc", ["neumann", "zero", "periodic"])
def test_cg_path_matches_a_dense_solve_in_onnxruntime(bc):
    rows, cols = 6, 5
    text = _rd(
        tau=0.8, r=-0.5, kappa=1.5, bc=bc, solver="cg", n=rows * cols, shape="image(2, 6, 5)"
    )
    x = np.random.default_rng(2).standard_normal((2, 2, rows, cols)).astype(np.float32)
    got = _onnx(text, x)
    g = np.linalg.inv(np.eye(rows * cols) - 0.8 * 1.5 * _lap_2d(rows, cols, bc)) * (1 - 0.4)
    want = x.reshape(2, 2, -1).astype(np.float64)
    for _ in range(3):
        want = want @ g.T
    np.testing.assert_allclose(got, want.reshape(x.shape), atol=1e-4 * np.abs(want).max())


def test_gram_term_on_zero_boundary_is_solved_by_cg_against_numpy():
    text = """
pde p {
    state u[1]
    grid  h = 1 : zero
    dt(u) = -dx' dx u - 0.25 * u
}
network n {
    input  signal(1, 12)
    p by imex(tau = 2, steps = 3, iterations = 12)
    output identity
}
"""
    assert _verdict(text) == "proven"
    n = 12
    d = -np.eye(n) + np.eye(n, k=1)  # forward difference, zero ghost cell
    g = np.linalg.inv(np.eye(n) + 2 * d.T @ d) * (1 - 0.5)
    x = np.random.default_rng(3).standard_normal((2, 1, n)).astype(np.float32)
    want = x.astype(np.float64)
    for _ in range(3):
        want = want @ g.T
    np.testing.assert_allclose(_onnx(text, x), want, atol=1e-5)


def test_few_cg_iterations_never_outgrow_the_exact_step():
    """Steihaug: the CG iterates from zero grow in norm towards the solution, so with 2
    iterations the measured growth stays ≤ |1 + τr| ≤ 1."""
    text = _rd(tau=3.0, r=-0.5, kappa=50.0, bc="zero", solver="cg", n=2, shape="image(2, 9, 9)")
    assert _verdict(text) == "proven"
    module = pde2net.compile_text(text, "t.pde").module.double()
    u = torch.randn(16, 2, 9, 9, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        ratio = torch.linalg.vector_norm(module(u), dim=(1, 2, 3)) / torch.linalg.vector_norm(
            u, dim=(1, 2, 3)
        )
    assert float(ratio.max()) <= 1 + 1e-12


@settings(max_examples=25, deadline=None)
@given(
    tau=st.fractions(min_value=Fraction(1, 8), max_value=8, max_denominator=16),
    r=st.fractions(min_value=-3, max_value=1, max_denominator=8),
    kappa=st.sampled_from([Fraction(1, 4), Fraction(1), Fraction(20)]),
)
def test_verdict_agrees_with_the_dense_step(tau, r, kappa):
    """Proven exactly when the dense periodic step's spectral radius is within 1 + τ max(0, r)
    (the Lax–Richtmyer allowance), violated otherwise; the bound itself is skipped."""
    assume(r >= 0 or tau * -r != 2)
    verdict = _verdict(
        _rd(tau=f"{tau.numerator}/{tau.denominator}", r=float(r), kappa=float(kappa))
    )
    rho = _dense_rho(float(tau), float(r), float(kappa))
    assert verdict == (
        "proven" if rho <= 1 + float(tau) * max(0.0, float(r)) + 1e-9 else "violated"
    )
