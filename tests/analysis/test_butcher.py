"""Butcher tableaux: stability functions, axis extents and SSP coefficients, exact, and
checked against the textbook values and against measured growth of the stepped system."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from pde2net.analysis import amplification as amp
from pde2net.analysis.butcher import NAMED, Tableau, Z, interval_extent, theta_stability
from tests.conftest import SPECS


@pytest.mark.parametrize(
    ("name", "order", "real", "imaginary", "ssp"),
    [
        # Hairer & Wanner II, Fig. IV.2.1; Gottlieb, Ketcheson & Shu (2011), Table 9.1
        ("euler", 1, 2.0, 0.0, 1),
        ("heun", 2, 2.0, 0.0, 1),
        ("midpoint", 2, 2.0, 0.0, 0),
        ("ssprk3", 3, 2.5127453266, 3**0.5, 1),
        ("rk4", 4, 2.7852935634, 8**0.5, 0),
    ],
)
def test_named_methods_match_the_textbook(name, order, real, imaginary, ssp):
    t = NAMED[name]
    assert t.order == order
    assert float(t.real_extent) == pytest.approx(real, abs=1e-9)
    assert float(t.imaginary_extent) == pytest.approx(imaginary, abs=1e-12)
    assert t.ssp == ssp


def test_extents_are_exact_algebraic_numbers():
    assert NAMED["rk4"].imaginary_extent == 2 * sympy.sqrt(2)
    beta = NAMED["rk4"].real_extent
    r = NAMED["rk4"].stability.as_expr()
    assert sympy.simplify(r.subs(Z, -beta)) == 1 or abs(float(r.subs(Z, -beta)) - 1) < 1e-30


@pytest.mark.parametrize(
    ("theta", "extent"), [("1", sympy.oo), ("1/2", sympy.oo), ("1/4", 4), ("0", 2)]
)
def test_theta_methods_are_unconditional_from_one_half(theta, extent):
    assert interval_extent(theta_stability(sympy.Rational(theta)), 1) == extent


def test_non_explicit_or_ragged_tableaux_are_refused():
    with pytest.raises(ValueError, match="strictly lower"):
        Tableau.of("implicit", [[1]], [1])
    with pytest.raises(ValueError, match="2 × 2"):
        Tableau.of("ragged", [[0]], [1, 0])


coefficient = st.fractions(min_value=-1, max_value=2, max_denominator=4)


@st.composite
def tableaux(draw):
    s = draw(st.integers(1, 4))
    a = [[draw(coefficient) if j < i else 0 for j in range(s)] for i in range(s)]
    b = [draw(coefficient) for _ in range(s)]
    return Tableau.of("drawn", a, b)


@settings(max_examples=40, deadline=None)
@given(tableaux())
def test_real_extent_bounds_the_stability_function(t):
    """|R| ≤ 1 on [−β, 0] (sampled, as a check of the exact value, not a proof of it),
    |R(−β)| = 1 where β is finite and R is not constant, and an SSP method's region holds
    the disk of radius C about −C (so β ≥ 2C)."""
    r = sympy.lambdify(Z, t.stability.as_expr())
    beta = t.real_extent
    if beta == 0:
        return
    top = float(beta) if beta != sympy.oo else 50.0
    xs = -np.linspace(0, top, 2001)
    assert np.all(np.abs(r(xs)) <= 1 + 1e-9)
    if beta != sympy.oo:
        assert abs(abs(r(-float(beta))) - 1) < 1e-7
    assert beta >= 2 * t.ssp


def _heat_system():
    from pde2net.api import check_spec

    network = check_spec(SPECS / "classic" / "heat_1d.pde", {"h": 1}).network
    return amp.linear_system(network.blocks[0].pde)


@pytest.mark.parametrize("name", ["rk4", "ssprk3", "heun"])
def test_rk_on_the_heat_equation_is_stable_exactly_up_to_its_bound(name):
    """τ* = β h²/4 (RK4: 2.7853 h²/4), decided exactly on both sides and measured: the
    stepped periodic heat equation stays bounded just below τ* and grows just above."""
    system = _heat_system()
    t = NAMED[name]
    bound = amp.extent_bound(system, t.real_extent)
    assert float(bound.value) == pytest.approx(float(t.real_extent) / 4, rel=1e-12)
    n = 32
    lap = -2 * np.eye(n) + np.roll(np.eye(n), 1, 1) + np.roll(np.eye(n), -1, 1)
    coeffs = [float(c) for c in reversed(t.stability.all_coeffs())]
    for factor, stable in ((sympy.Rational(99, 100), True), (sympy.Rational(101, 100), False)):
        tau = sympy.nsimplify(bound.value.evalf(30) * factor, rational=True)
        decision = amp.decide(system, lambda a, tau=tau: amp.rk_step(a, tau, t.stability), tau)
        assert decision.stable is stable
        step = sum(c * np.linalg.matrix_power(float(tau) * lap, k) for k, c in enumerate(coeffs))
        u = np.random.default_rng(0).standard_normal(n)
        for _ in range(3000):
            u = step @ u
        growth = np.linalg.norm(u)
        assert bool(growth < 10) is stable, growth
