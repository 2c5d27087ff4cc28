"""The exact von Neumann analysis (analysis/amplification.py) against the textbook
(REFERENCE.md §3): every bound at 0.99× and 1.01× (and exactly at the strict ones),
in 1D and 2D, through small inline specs; and, with hypothesis, the exact verdict of
random small stencils against a dense numeric check away from the stability boundary."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pde2net
from pde2net.analysis import amplification as amp


def spec(equations: str, scheme: str, states=("u",), dims=1, extra="", h="1") -> str:
    decl = "\n".join(f"    state {s}[1]" for s in states)
    shape = f"signal({len(states)}, 16)" if dims == 1 else f"image({len(states)}, 8, 8)"
    return f"""
pde p {{
{decl}
    grid h = {h} : periodic
{extra}
{equations}
}}
network n {{
    input {shape}
    p by {scheme}
    output identity
}}
"""


def verdict(text: str) -> str:
    return pde2net.check_text(text).analysis.verdict


def steps(text: str):
    report = pde2net.check_text(text).analysis
    return [c.step for b in report.blocks for c in b.checks if c.step is not None]


HEAT = "    dt(u) = lap u"
WAVE = "    dtt(u) = lap u"
SYSTEM = "    dt(u) = v\n    dt(v) = lap u"
UPWIND = "    stencil B = [-1, 1, 0] / h"
DOWNWIND = "    stencil B = [0, -1, 1] / h"
CENTRAL = "    stencil B = [-0.5, 0, 0.5] / h"


@pytest.mark.parametrize(
    ("dims", "h", "bound"),
    [(1, 1, 0.5), (1, 0.5, 0.125), (2, 1, 0.25), (2, 2, 1.0)],
)
def test_heat_forward_euler(dims, h, bound):
    for factor, want in ((0.99, "proven"), (1.0, "proven"), (1.01, "violated")):
        text = spec(HEAT, f"euler(h = {factor * bound!r})", dims=dims, h=str(h))
        assert verdict(text) == want, (dims, h, factor)
    (step,) = steps(spec(HEAT, "euler(h = 0.01)", dims=dims, h=str(h)))
    assert step.bound.value == pytest.approx(bound) and step.bound.kind == "exact"
    assert step.closed_form == f"h^2/{2 * dims}" and not step.strict


def test_heat_3d_closed_form():
    import sympy

    from pde2net.analysis.amplification import LinearSystem, euler_bound

    z1, z2, z3 = amp.Z
    h = sympy.Symbol("h", positive=True)
    lap = sum(z + 1 / z - 2 for z in (z1, z2, z3)) / h**2
    system = LinearSystem(("u",), 1, sympy.zeros(1, 1), sympy.Matrix([[lap]]), 3, h, 1)
    bound = euler_bound(system)
    assert bound.value == sympy.Rational(1, 6)
    assert sympy.simplify(bound.closed - h**2 / 6) == 0


@pytest.mark.parametrize(("dims", "bound"), [(1, 1.0), (2, 1 / math.sqrt(2))])
def test_wave_leapfrog_is_strict(dims, bound):
    assert verdict(spec(WAVE, f"leapfrog(h = {0.99 * bound!r})", dims=dims)) == "proven"
    assert verdict(spec(WAVE, f"leapfrog(h = {1.01 * bound!r})", dims=dims)) == "violated"
    if dims == 1:  # exactly at τ = h: a double root at −1, linear growth
        assert verdict(spec(WAVE, "leapfrog(h = 1)", dims=dims)) == "violated"
    (step,) = steps(spec(WAVE, "leapfrog(h = 0.5)", dims=dims))
    assert step.strict and step.bound.value == pytest.approx(bound)


@pytest.mark.parametrize("a", [1, 2])
def test_upwind_cfl(a):
    bound = 1 / a  # a τ / h ≤ 1, h = 1
    eq = f"    dt(u) = -{a} * B u"
    for factor, want in ((0.99, "proven"), (1.0, "proven"), (1.01, "violated")):
        assert verdict(spec(eq, f"euler(h = {factor * bound!r})", extra=UPWIND)) == want
    (step,) = steps(spec(eq, "euler(h = 0.1)", extra=UPWIND))
    assert step.closed_form == ("h" if a == 1 else "h/2")


@pytest.mark.parametrize("stencil", [DOWNWIND, CENTRAL])
@pytest.mark.parametrize("tau", [1e-6, 0.01, 0.5])
def test_downwind_and_central_are_unstable_for_every_step(stencil, tau):
    text = spec("    dt(u) = -B u", f"euler(h = {tau!r})", extra=stencil)
    assert verdict(text) == "violated"
    (step,) = steps(text)
    assert step.bound.value == 0


@pytest.mark.parametrize("tau", [1e-4, 0.1, 1.0])
def test_first_order_wave_system_by_euler_is_unstable(tau):
    text = spec(SYSTEM, f"euler(h = {tau!r})", states=("u", "v"))
    assert verdict(text) == "violated"


@pytest.mark.parametrize(("dims", "bound"), [(1, 1.0), (2, 1 / math.sqrt(2))])
def test_first_order_wave_system_by_verlet(dims, bound):
    states = ("u", "v")
    assert verdict(spec(SYSTEM, f"verlet(h = {0.99 * bound!r})", states, dims)) == "proven"
    assert verdict(spec(SYSTEM, f"verlet(h = {1.01 * bound!r})", states, dims)) == "violated"
    if dims == 1:
        assert verdict(spec(SYSTEM, "verlet(h = 1)", states, dims)) == "violated"
    assert verdict(spec(SYSTEM, "verlet(h = 0.8)", states, 2)) == "violated"


def test_exact_rationals_not_float_tolerance():
    text = spec(HEAT, "euler(h = 0.0625000001)", dims=2, h="0.5")
    assert verdict(text) == "violated"
    assert verdict(spec(HEAT, "euler(h = 0.0625)", dims=2, h="0.5")) == "proven"


def test_large_step_is_violated():
    assert verdict(spec("    dt(u) = 3 * lap u", "euler(h = 100)")) == "violated"


def test_reaction_growth_is_lax_richtmyer_stable():
    # u_t = u_xx + u grows like e^t; the scheme follows it: |g| ≤ 1 + τ
    checked = pde2net.check_text(spec("    dt(u) = lap u + u", "euler(h = 0.3)"))
    (check,) = checked.analysis.blocks[0].checks
    assert check.status == "proven" and check.values["mu"].value == 1
    # the bound 2/(4/h² − 2) at h = 1 is 1
    assert verdict(spec("    dt(u) = lap u + u", "euler(h = 1.01)")) == "violated"


def test_symmetric_stencil_form_gets_no_complex_row():
    checked = pde2net.check_text(spec("    dt(u) = -dx' dx u", "euler(h = 0.5)"))
    checks = checked.analysis.blocks[0].checks
    assert [c.status for c in checks] == ["proven"]
    assert "complex" not in checks[0].condition


def test_multigrid_with_a_diverging_smoother_is_violated():
    text = spec(
        "    dt(u) = -S' S u",
        "multigrid(tau = 10, levels = 3)",
        extra="    stencil S = [1, 1, 1, 1, 1]",
    )
    checks = pde2net.check_text(text).analysis.blocks[0].checks
    smoother = next(c for c in checks if c.name == "multigrid smoother")
    assert smoother.status == "violated"
    assert smoother.values["omega_bound"].value == pytest.approx(2 * 51 / 251)


# ---------------------------------------------------------------------------------------
# Random stencils: the exact verdict against a dense numeric check


def _numeric_max_g(weights, coeff, tau):
    theta = np.linspace(0, 2 * np.pi, 4001)
    offsets = np.arange(len(weights)) - len(weights) // 2
    s = coeff * sum(w * np.exp(1j * k * theta) for w, k in zip(weights, offsets, strict=True))
    return np.abs(1 + tau * s).max()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weights=st.lists(st.integers(-3, 3), min_size=3, max_size=3),
    tau=st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.3, 0.45]),
)
def test_random_stencils_agree_with_a_dense_numeric_check(weights, tau):
    stencil = f"    stencil B = [{', '.join(map(str, weights))}] / h"
    text = spec("    dt(u) = B u", f"euler(h = {tau!r})", extra=stencil)
    got = verdict(text)
    g = _numeric_max_g(weights, 1.0, tau)
    if g > 1 + 1e-6:
        assert got == "violated", (weights, tau, g)
    elif g < 1 - 1e-9 or all(w == 0 for w in weights):
        assert got == "proven", (weights, tau, g)
