"""Runge–Kutta methods as Butcher tableaux, and what their stability functions decide.

Everything is exact: a tableau holds rationals, R(z) is a polynomial (explicit methods)
or a rational function (θ-methods) over Q, and the extents of its stability region on
the real and imaginary axes are algebraic numbers found by real-root isolation, never by
sampling. The SSP coefficient is a rigorous lower bound: Kraaijevanger's absolute
monotonicity conditions checked in exact arithmetic at rational radii, on the set of
radii where they hold, which is an interval [0, C].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy

Z = sympy.Symbol("z")
_Y = sympy.Symbol("y", real=True)


def _rational(value: object) -> sympy.Rational:
    out = sympy.nsimplify(value, rational=True) if isinstance(value, float) else value
    out = sympy.sympify(out)
    if not out.is_Rational:
        raise ValueError(f"a Butcher coefficient must be rational, got {value!r}")
    return out


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge–Kutta method: stages k_i = f(u + τ Σ_j a_ij k_j), u ← u + τ Σ b_i k_i."""

    name: str
    a: tuple[tuple[sympy.Rational, ...], ...]
    b: tuple[sympy.Rational, ...]

    @classmethod
    def of(cls, name: str, a, b) -> Tableau:
        """A tableau from nested lists of numbers (rationals, ints, or decimal strings),
        checked: a is s × s and strictly lower triangular, b has s entries."""
        rows = tuple(tuple(_rational(x) for x in row) for row in a)
        weights = tuple(_rational(x) for x in b)
        s = len(weights)
        if s == 0 or len(rows) != s or any(len(row) != s for row in rows):
            raise ValueError(f"a must be {s} × {s} for {s} weights b")
        if any(rows[i][j] != 0 for i in range(s) for j in range(i, s)):
            raise ValueError("only explicit methods: a must be strictly lower triangular")
        return cls(name, rows, weights)

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def c(self) -> tuple[sympy.Rational, ...]:
        return tuple(sum(row, sympy.Integer(0)) for row in self.a)

    @cached_property
    def stability(self) -> sympy.Poly:
        """R(z) = 1 + Σ_k z^k bᵀ A^(k−1) e: one step on u' = λu is u ← R(τλ) u."""
        a, b = sympy.Matrix(self.a), sympy.Matrix([self.b])
        e = sympy.ones(self.stages, 1)
        coeffs = [sympy.Integer(1)]
        power = e
        for _ in range(self.stages):
            coeffs.append((b * power)[0, 0])
            power = a * power
        return sympy.Poly(list(reversed(coeffs)), Z, domain=sympy.QQ)

    @cached_property
    def order(self) -> int:
        """The classical order (checked up to 4 by the order conditions)."""
        a, b = sympy.Matrix(self.a), sympy.Matrix([self.b])
        c = sympy.Matrix(self.c)
        e = sympy.ones(self.stages, 1)
        cc = c.multiply_elementwise(c)

        def dot(v: sympy.Matrix) -> sympy.Rational:
            return (b * v)[0, 0]

        conditions = [
            [(dot(e), 1)],
            [(dot(c), sympy.Rational(1, 2))],
            [(dot(cc), sympy.Rational(1, 3)), (dot(a * c), sympy.Rational(1, 6))],
            [
                (dot(cc.multiply_elementwise(c)), sympy.Rational(1, 4)),
                (dot(c.multiply_elementwise(a * c)), sympy.Rational(1, 8)),
                (dot(a * cc), sympy.Rational(1, 12)),
                (dot(a * a * c), sympy.Rational(1, 24)),
            ],
        ]
        order = 0
        for group in conditions:
            if not all(got == want for got, want in group):
                break
            order += 1
        return order

    @cached_property
    def real_extent(self) -> sympy.Expr:
        """β: the largest with |R(x)| ≤ 1 on all of [−β, 0] (exact; ∞ if unbounded)."""
        return interval_extent(self.stability.as_expr(), 1)

    @cached_property
    def imaginary_extent(self) -> sympy.Expr:
        """γ: the largest with |R(iy)| ≤ 1 on all of [−γ, γ] (exact)."""
        r = sympy.expand(self.stability.as_expr().subs(Z, sympy.I * _Y))
        excess = sympy.expand(sympy.re(r) ** 2 + sympy.im(r) ** 2 - 1)
        return _first_positive_stretch(excess, _Y)

    @cached_property
    def ssp(self) -> sympy.Rational:
        """A rigorous lower bound of the SSP coefficient C: with forward Euler
        non-expansive for steps up to τ_FE, this method is for steps up to C · τ_FE."""
        return ssp_coefficient(self.a, self.b)


def interval_extent(r: sympy.Expr, sign: int) -> sympy.Expr:
    """The largest β with |r(x)| ≤ 1 for every x between 0 and −sign·β (x ≤ 0 for
    sign = 1). r is a polynomial or a rational function over Q with r(0) = 1."""
    num, den = sympy.fraction(sympy.cancel(sympy.sympify(r).subs(Z, -sign * _Y)))
    # |num/den| ≤ 1 ⟺ num² − den² ≤ 0 where den ≠ 0
    excess = sympy.expand(num**2 - den**2)
    stretch = _first_positive_stretch(excess, _Y)
    poles = sympy.Poly(den, _Y)
    if poles.degree() > 0 and poles.count_roots(0, None) > 0:
        return min(stretch, min(r for r in sympy.real_roots(poles) if r >= 0), key=_key)
    return stretch


def _key(value: sympy.Expr) -> float:
    return float("inf") if value == sympy.oo else float(value)


def _first_positive_stretch(p: sympy.Expr, y: sympy.Symbol) -> sympy.Expr:
    """sup {t ≥ 0 : p ≤ 0 on [0, t]} for a polynomial p over Q with p(0) ≤ 0, exactly:
    p keeps its sign between consecutive real roots, tested at a rational point of each."""
    poly = sympy.Poly(p, y, domain=sympy.QQ)
    if poly.is_zero:
        return sympy.oo
    if poly.eval(0) > 0:
        return sympy.Integer(0)
    roots = sorted({root for root in sympy.real_roots(poly) if root > 0}, key=float)
    left = sympy.Integer(0)
    for root in roots:
        probe = _rational_between(left, root)
        if poly.eval(probe) > 0:
            return left
        left = root
    probe = left + 1 if left == 0 else _rational_between(left, 2 * left + 1)
    return left if poly.eval(probe) > 0 else sympy.oo


def _rational_between(lo: sympy.Expr, hi: sympy.Expr) -> sympy.Rational:
    """A rational strictly between two distinct real algebraic numbers: a decimal guess
    near the midpoint, accepted only after exact comparisons."""
    digits = 30
    while True:
        mid = (lo.evalf(digits) + hi.evalf(digits)) / 2
        q = sympy.Rational(str(mid))
        if bool(lo < q) and bool(q < hi):
            return q
        digits *= 2


def ssp_coefficient(a, b, digits: int = 12) -> sympy.Rational:
    """Kraaijevanger's radius of absolute monotonicity, from below: the largest rational
    r = k/2^digits found by bisection at which, for K = [[A, 0], [bᵀ, 0]],
    (I + rK) is invertible, K(I + rK)⁻¹ ≥ 0 and r K(I + rK)⁻¹ e ≤ e, all exact. The
    set of such r is an interval [0, C], so every checked r is ≤ C."""
    s = len(b)
    k = sympy.zeros(s + 1, s + 1)
    for i in range(s):
        for j in range(s):
            k[i, j] = a[i][j]
    for j in range(s):
        k[s, j] = b[j]
    e = sympy.ones(s + 1, 1)
    eye = sympy.eye(s + 1)

    def holds(r: sympy.Rational) -> bool:
        m = eye + r * k
        if m.det() == 0:
            return False
        p = k * m.inv()
        return all(x >= 0 for x in p) and all(x <= 1 for x in r * p * e)

    if not holds(sympy.Integer(0)) or any(x < 0 for x in k):
        return sympy.Integer(0)
    lo, hi = sympy.Integer(0), sympy.Integer(1)
    while holds(hi):
        lo, hi = hi, 2 * hi
        if hi > 2**10:
            return lo
    for _ in range(digits):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if holds(mid) else (lo, mid)
    return lo


HALF = sympy.Rational(1, 2)
NAMED: dict[str, Tableau] = {
    t.name: t
    for t in (
        Tableau.of("euler", [[0]], [1]),
        Tableau.of("heun", [[0, 0], [1, 0]], [HALF, HALF]),
        Tableau.of("midpoint", [[0, 0], [HALF, 0]], [0, 1]),
        Tableau.of(
            "ssprk3",
            [[0, 0, 0], [1, 0, 0], [sympy.Rational(1, 4), sympy.Rational(1, 4), 0]],
            [sympy.Rational(1, 6), sympy.Rational(1, 6), sympy.Rational(2, 3)],
        ),
        Tableau.of(
            "rk4",
            [[0, 0, 0, 0], [HALF, 0, 0, 0], [0, HALF, 0, 0], [0, 0, 1, 0]],
            [
                sympy.Rational(1, 6),
                sympy.Rational(1, 3),
                sympy.Rational(1, 3),
                sympy.Rational(1, 6),
            ],
        ),
    )
}


def theta_stability(theta: sympy.Rational) -> sympy.Expr:
    """R(z) = (1 + (1 − θ) z) / (1 − θ z): one θ-step on u' = λu."""
    return (1 + (1 - theta) * Z) / (1 - theta * Z)
