"""Properties of pointwise functions, derived by SymPy from their expressions."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pde2net.analysis.functions import slope_at, slopes
from pde2net.ir import Function
from pde2net.lang.builtins import ACTIVATIONS, builtin_activation

X = sympy.Symbol("x", real=True)


def user(expr: sympy.Expr, name: str = "f") -> Function:
    return Function(name, X, expr)


def derivative(fn: Function, point: float) -> float:
    """σ'(point) by a central difference of σ itself, independent of the analysis."""
    f = sympy.lambdify(fn.var, fn.expr, "math")
    step = 1e-6
    return (f(point + step) - f(point - step)) / (2 * step)


@pytest.mark.parametrize(
    ("name", "sup", "inf"),
    [
        ("relu", 1, 0),
        ("leaky_relu", 1, sympy.Rational(1, 100)),
        ("tanh", 1, 0),
        ("sigmoid", sympy.Rational(1, 4), 0),
        ("softplus", 1, 0),
        ("identity", 1, 1),
    ],
)
def test_builtin_activations_are_monotone_with_known_lipschitz(name, sup, inf):
    s = slopes(builtin_activation(name, [], None))
    assert s.monotone
    assert s.exact
    assert s.high == sup
    assert s.low == inf
    assert s.lipschitz == sup


def test_every_builtin_is_covered():
    assert set(ACTIVATIONS) == {"relu", "leaky_relu", "tanh", "sigmoid", "softplus", "identity"}


@pytest.mark.parametrize(
    ("expr", "low"),
    [(X - 2 * sympy.tanh(X), -1), (X**3 - 3 * X, -3)],
    ids=["x-2tanh(x)", "x^3-3x"],
)
def test_non_monotone_function_has_a_real_counterexample(expr, low):
    fn = user(expr)
    s = slopes(fn)
    assert not s.monotone
    assert s.low == low
    assert s.worst_at is not None
    # the reported point really has a negative slope, checked numerically
    assert derivative(fn, s.worst_at) < -0.5
    assert slope_at(fn, s.worst_at) == pytest.approx(derivative(fn, s.worst_at), abs=1e-6)


def test_unbounded_slope_is_infinite():
    s = slopes(user(X**3 - 3 * X))
    assert s.high == sympy.oo
    assert s.lipschitz == sympy.oo


def test_user_monotone_rational_function():
    # x / (1 + |x|): σ' = 1 / (1 + |x|)^2 in (0, 1]
    s = slopes(user(sympy.Piecewise((X / (1 - X), X < 0), (X / (1 + X), True))))
    assert s.monotone
    assert s.high == 1
    assert s.low == 0


def test_decreasing_function_is_not_monotone():
    s = slopes(user(-sympy.tanh(X)))
    assert not s.monotone
    assert s.low == -1
    assert s.high == 0


def test_slope_at_uses_the_right_piece():
    relu = builtin_activation("relu", [], None)
    assert slope_at(relu, -2.0) == 0
    assert slope_at(relu, 3.0) == 1
    leaky = builtin_activation("leaky_relu", [sympy.Rational(1, 5)], None)
    assert slope_at(leaky, -1.0) == pytest.approx(0.2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fractions(min_value=0, max_value=1, max_denominator=1000))
def test_leaky_relu_slopes(a: Fraction):
    fn = builtin_activation("leaky_relu", [sympy.Rational(a.numerator, a.denominator)], None)
    s = slopes(fn)
    assert s.high == 1
    assert s.low == sympy.Rational(a.numerator, a.denominator)
    assert s.monotone


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fractions(min_value=Fraction(1, 100), max_value=20, max_denominator=100))
def test_scaled_tanh_lipschitz(c: Fraction):
    scale = sympy.Rational(c.numerator, c.denominator)
    s = slopes(user(sympy.tanh(scale * X)))
    assert s.high == scale
    assert s.low == 0
    assert s.monotone


# --- soundness: exactness is a type, samples never prove, budgets are per call ----------

PM_SPEC = """
const h = 1
const lambda = 0.5
flux phi(s) = s / (1 + s^2 / lambda^2)
pde perona_malik {{
    state u[1]
    grid  h
    dt(u) = -dx' phi(dx u)
}}
network pm {{
    input  signal(1, 32)
    perona_malik by euler(tau = {tau}, steps = 2)
    output identity
}}
"""


def _pm_status(tau: str) -> str:
    from pde2net.api import check_text

    report = check_text(PM_SPEC.format(tau=tau)).analysis
    return report.verdict


def test_perona_malik_violated_without_sympy_time(monkeypatch):
    from pde2net.analysis import functions

    assert _pm_status("0.55") == "violated"
    monkeypatch.setattr(functions, "BUDGET_S", 1e-9)
    monkeypatch.setattr(functions, "_CACHE", {})
    ratio = functions.flux_ratio(
        Function("phi", X, X / (1 + X**2 / sympy.Rational(1, 4)), flux=True)
    )
    assert ratio.kind == "bound" and ratio.low >= 0 and ratio.high <= 1 + 1e-6
    assert _pm_status("0.55") == "violated"  # after other blocks ran, and with no SymPy time
    assert _pm_status("0.45") == "proven"


def test_swish_slope_is_a_rigorous_bound():
    s = slopes(user(X / (1 + sympy.exp(-X))))
    assert s.kind == "bound"
    assert 1.0998393201 <= float(s.high) <= 1.09984  # the true sup is 1.09983932013
    assert s.refuted and not s.monotone


def test_sampled_results_never_prove(monkeypatch):
    from pde2net.analysis import functions, intervals

    def unsupported(*args, **kwargs):
        raise intervals.Unsupported("test")

    monkeypatch.setattr(functions, "BUDGET_S", 1e-9)
    monkeypatch.setattr(functions, "_CACHE", {})
    monkeypatch.setattr(intervals, "enclose", unsupported)
    s = slopes(user(sympy.tanh(X)))
    assert s.kind == "estimate" and not s.monotone
    r = functions.flux_ratio(Function("phi", X, X / (1 + X**2), flux=True))
    assert r.kind == "estimate"
    assert functions.usable_bound(s, "L")


@pytest.mark.parametrize("body", ["tanh(a * x)", "a * tanh(x)", "tanh(x) + a * x", "max(x, a * x)"])
def test_learned_parameter_in_activation(body):
    from pde2net.api import check_text

    spec = f"""
pde p(c) {{
    state u[c]
    weight K : conv(3, c -> c)
    param a = 0.1 : learn, positive
    fn act(x) = {body}
    dt(u) = -K' act(K u)
}}
network n {{
    input signal(2, 16)
    p(2) by euler(h = 0.1, steps = 2)
    output identity
}}
"""
    checks = check_text(spec).analysis.blocks[0].checks
    step = next(c for c in checks if c.name == "forward Euler step")
    assert step.status == "conditional"
    assert "learned parameter a" in step.reason and "a = 0.1" in step.reason
    assert all(c.status != "proven" or "a" not in c.reason for c in checks)
