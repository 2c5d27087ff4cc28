"""Rigorous enclosures (arb): they contain every sampled value, and are tight."""

from __future__ import annotations

import math

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from pde2net.analysis.intervals import enclose, prove_le, ratio_evaluator

X = sympy.Symbol("x", real=True)
UNARY = [sympy.tanh, sympy.atan, sympy.erf, sympy.sin, sympy.cos, sympy.Abs, sympy.exp]


def _expr(draw_ops: list[tuple[int, float]]) -> sympy.Expr:
    e: sympy.Expr = X
    for op, c in draw_ops:
        c = sympy.Rational(c).limit_denominator(8)
        if op < len(UNARY):
            e = UNARY[op](e)
        elif op == len(UNARY):
            e = e + c * X
        else:
            e = e * (1 + c * X**2) / (2 + X**2)
    return e


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(UNARY) + 1), st.floats(-2, 2)), min_size=1, max_size=3),
    st.floats(-6, 0),
    st.floats(0.1, 6),
)
def test_enclosure_contains_samples(ops, lo, width):
    expr = _expr(ops)
    hi = lo + width
    enc = enclose(expr, X, lo, hi, max_boxes=400)
    f = sympy.lambdify(X, expr, "mpmath")
    for i in range(201):
        # the sample itself rounded: (hi - lo) * 200 / 200 can land one ulp past hi
        v = float(f(min(hi, lo + (hi - lo) * i / 200)))
        if math.isfinite(v):
            assert enc.low <= v <= enc.high


def test_perona_malik_ratio_over_the_reals():
    lam = sympy.Rational(1, 2)
    phi = X / (1 + X**2 / lam**2)
    ratio = sympy.cancel(phi / X)
    for lo, hi in ((0.0, math.inf), (-math.inf, 0.0)):
        enc = enclose(ratio, X, lo, hi, evaluator=ratio_evaluator(phi, X, ratio))
        assert enc.low >= 0
        assert enc.high <= 1 + 1e-6


def test_swish_slope_bound():
    d = sympy.diff(X / (1 + sympy.exp(-X)), X)
    enc = enclose(d, X)
    assert 1.0998393201 <= enc.high <= 1.09984  # the true sup is 1.09983932013
    assert enc.at_min is not None and enc.at_min.hi < 0  # not monotone, confirmed


def test_gaussian_tails_and_decision():
    d = sympy.diff(X * sympy.erf(X), X)  # sup at x = 1: erf(1) + 2/(e √π)
    enc = enclose(d, X)
    true = math.erf(1) + 2 / (math.e * math.sqrt(math.pi))
    assert true <= enc.high <= true + 1e-4
    assert prove_le(sympy.tanh(X), X, (-math.inf, math.inf), 1.0) is True
    assert prove_le(sympy.tanh(X) + X / 10, X, (-math.inf, math.inf), 5.0) is False
