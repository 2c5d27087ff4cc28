"""Rigorous enclosures of a real function of one variable, with arb ball arithmetic.

`enclose(expr, x, lo, hi)` returns floats `low ≤ inf f` and `high ≥ sup f` over [lo, hi]
(either end may be infinite). The SymPy tree is walked node by node (nothing is
evaluated as text); every primitive is computed with python-flint's `arb` balls and
rounded outward to floats, and infinite ends are handled by each primitive's limits.
A branch-and-bound over subintervals tightens the result: boxes are bisected in a
compactified coordinate (x = t/(1 − t²) on ℝ, so the tails are finitely many boxes plus
one unbounded end box each). Deterministic: a fixed box budget, no clocks.

Two rewrites tame the tails: x^p · e^(c x + d) is enclosed as one monotone-by-parts
function (no ∞ · 0), and on a tail 1 + e^(g) with g → +∞ is rewritten e^(g)(e^(−g) + 1)
so that growing exponentials cancel.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import sympy
from flint import arb

INF = math.inf


class Unsupported(Exception):
    """The expression uses something the enclosure does not know."""


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float

    @property
    def finite(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    def intersect(self, other: Interval) -> Interval:
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return Interval(lo, hi) if lo <= hi else self

    def hull(self, other: Interval) -> Interval:
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))


WHOLE = Interval(-INF, INF)


@dataclass(frozen=True)
class Enclosure:
    """low ≤ inf f and high ≥ sup f over the domain (outward-rounded floats); `argmin`
    and `argmax` are points where f was evaluated rigorously, with the enclosure of f
    there (`at_min`, `at_max`): witnesses for refutations."""

    low: float
    high: float
    argmin: float | None = None
    at_min: Interval | None = None
    argmax: float | None = None
    at_max: Interval | None = None
    boxes: int = 0


# ---------------------------------------------------------------------------------------
# Rounding between arb balls and floats


def _down(b: arb) -> float:
    if b.is_nan() or not b.is_finite():
        return -INF
    end = b.lower()
    v = float(end)
    return v if arb(v) <= end else math.nextafter(v, -INF)


def _up(b: arb) -> float:
    if b.is_nan() or not b.is_finite():
        return INF
    end = b.upper()
    v = float(end)
    return v if arb(v) >= end else math.nextafter(v, INF)


def _of_ball(b: arb) -> Interval:
    return Interval(_down(b), _up(b))


def _ball(iv: Interval) -> arb:
    """A ball containing a finite interval."""
    lo, hi = arb(iv.lo), arb(iv.hi)
    return arb.union(lo, hi)


def _const(e: sympy.Expr) -> arb:
    """A ball containing the real number e (a SymPy number)."""
    if e.is_Integer:
        return arb(int(e))
    if e.is_Rational:
        return arb(int(e.p)) / arb(int(e.q))
    if e.is_Float:
        r = sympy.Rational(e)
        return arb(int(r.p)) / arb(int(r.q))
    if e is sympy.pi:
        return arb.pi()
    if e is sympy.E:
        return arb(1).exp()
    raise Unsupported(e)


# ---------------------------------------------------------------------------------------
# Interval primitives


def _point(v: float) -> arb:
    return arb(v)


def _add(a: Interval, b: Interval) -> Interval:
    lo = -INF if -INF in (a.lo, b.lo) else _down(_point(a.lo) + _point(b.lo))
    hi = INF if INF in (a.hi, b.hi) else _up(_point(a.hi) + _point(b.hi))
    if a.lo == INF or b.lo == INF or a.hi == -INF or b.hi == -INF:
        return WHOLE
    return Interval(lo, hi)


def _neg(a: Interval) -> Interval:
    return Interval(-a.hi, -a.lo)


def _prod(u: float, v: float) -> tuple[float, float]:
    if u == 0 or v == 0:
        return 0.0, 0.0
    if math.isinf(u) or math.isinf(v):
        s = INF if (u > 0) == (v > 0) else -INF
        return s, s
    p = _point(u) * _point(v)
    return _down(p), _up(p)


def _mul(a: Interval, b: Interval) -> Interval:
    ps = [_prod(u, v) for u in (a.lo, a.hi) for v in (b.lo, b.hi)]
    return Interval(min(p[0] for p in ps), max(p[1] for p in ps))


def _recip(a: Interval) -> Interval:
    if a.lo > 0 or a.hi < 0:  # 1/x is decreasing on each side of 0
        lo = 0.0 if math.isinf(a.hi) else _down(1 / _point(a.hi))
        hi = 0.0 if math.isinf(a.lo) else _up(1 / _point(a.lo))
        return Interval(lo, hi)
    if a.lo == 0 and a.hi > 0:
        return Interval(0.0 if math.isinf(a.hi) else _down(1 / _point(a.hi)), INF)
    if a.hi == 0 and a.lo < 0:
        return Interval(-INF, 0.0 if math.isinf(a.lo) else _up(1 / _point(a.lo)))
    return WHOLE


def _monotone(
    a: Interval, f: Callable[[arb], arb], at_minus: float, at_plus: float, increasing: bool = True
) -> Interval:
    """A monotone function on an interval from its ends (limits at ±∞)."""

    def end(v: float, rounded: Callable[[arb], float]) -> float:
        """f at an end, rounded outward (`_down` for the low end, `_up` for the high)."""
        if v == -INF:
            return at_minus
        if v == INF:
            return at_plus
        return rounded(f(_point(v)))

    if increasing:
        return Interval(end(a.lo, _down), end(a.hi, _up))
    return Interval(end(a.hi, _down), end(a.lo, _up))


def _ipow(a: Interval, n: int) -> Interval:
    if n == 0:
        return Interval(1.0, 1.0)
    if n < 0:
        return _recip(_ipow(a, -n))

    def p(v: float, lower: bool) -> float:
        if math.isinf(v):
            return INF if (v > 0 or n % 2 == 0) else -INF
        b = _point(v) ** n
        return _down(b) if lower else _up(b)

    if n % 2 == 1 or a.lo >= 0:
        return Interval(p(a.lo, True), p(a.hi, False))
    if a.hi <= 0:
        return Interval(p(a.hi, True), p(a.lo, False))
    return Interval(0.0, max(p(a.lo, False), p(a.hi, False)))


def _rpow(a: Interval, e: arb, positive: bool) -> Interval:
    """x^e for a real non-integer exponent: needs x ≥ 0."""
    if a.hi < 0:
        raise Unsupported("negative base")
    a = Interval(max(a.lo, 0.0), a.hi)

    def f(v: arb) -> arb:
        return v**e

    zero = 0.0 if positive else INF
    at_inf = INF if positive else 0.0
    lo_v = zero if a.lo == 0 else (_down(f(_point(a.lo))) if positive else _up(f(_point(a.lo))))
    if math.isinf(a.hi):
        hi_v = at_inf
    else:
        hi_v = _up(f(_point(a.hi))) if positive else _down(f(_point(a.hi)))
    return Interval(lo_v, hi_v) if positive else Interval(hi_v, lo_v)


def _periodic(a: Interval, f: Callable[[arb], arb]) -> Interval:
    if not a.finite or a.hi - a.lo > 7:
        return Interval(-1.0, 1.0)
    r = _of_ball(f(_ball(a)))
    return Interval(max(r.lo, -1.0), min(r.hi, 1.0))


def _log(a: Interval) -> Interval:
    if a.hi <= 0:
        raise Unsupported("log of a non-positive number")
    lo = -INF if a.lo <= 0 else _down(_point(a.lo).log())
    hi = INF if math.isinf(a.hi) else _up(_point(a.hi).log())
    return Interval(lo, hi)


def _cosh(a: Interval) -> Interval:
    def f(v: float, lower: bool) -> float:
        if math.isinf(v):
            return INF
        b = _point(v).cosh()
        return _down(b) if lower else _up(b)

    top = max(f(a.lo, False), f(a.hi, False))
    if a.lo <= 0 <= a.hi:
        return Interval(1.0, top)
    near = a.lo if a.lo > 0 else a.hi
    return Interval(f(near, True), top)


def _abs(a: Interval) -> Interval:
    if a.lo >= 0:
        return a
    if a.hi <= 0:
        return _neg(a)
    return Interval(0.0, max(-a.lo, a.hi))


def _step(a: Interval, low: float, high: float, at_zero: Interval) -> Interval:
    """sign- or Heaviside-like: `low` below 0, `high` above, `at_zero` at 0."""
    if a.lo > 0:
        return Interval(high, high)
    if a.hi < 0:
        return Interval(low, low)
    lo = at_zero.lo if a.lo == 0 else low
    hi = at_zero.hi if a.hi == 0 else high
    return Interval(min(lo, at_zero.lo), max(hi, at_zero.hi))


_MONOTONE: dict[type, tuple[Callable[[arb], arb], float, float]] = {
    sympy.exp: (lambda v: v.exp(), 0.0, INF),
    sympy.tanh: (lambda v: v.tanh(), -1.0, 1.0),
    sympy.atan: (
        lambda v: v.atan(),
        -math.nextafter(math.pi / 2, INF),
        math.nextafter(math.pi / 2, INF),
    ),
    sympy.erf: (lambda v: v.erf(), -1.0, 1.0),
    sympy.sinh: (lambda v: v.sinh(), -INF, INF),
    sympy.asinh: (lambda v: v.asinh(), -INF, INF),
}


# ---------------------------------------------------------------------------------------
# The tree walk


class Evaluator:
    """Encloses `expr` over a box of `x` (other symbols: intervals in `env`)."""

    def __init__(self, expr: sympy.Expr, x: sympy.Symbol, env: dict | None = None) -> None:
        self.expr = expr
        self.x = x
        self.env = dict(env or {})

    def __call__(self, box: Interval) -> Interval:
        try:
            r = self._eval(self.expr, box)
        except (ValueError, ZeroDivisionError, OverflowError, TypeError, ArithmeticError):
            return WHOLE
        if math.isnan(r.lo) or math.isnan(r.hi) or r.lo > r.hi:
            return WHOLE
        return r

    def _eval(self, e: sympy.Expr, box: Interval) -> Interval:
        if e == self.x:
            return box
        if e in self.env:
            return self.env[e]
        if e.is_Number or e in (sympy.pi, sympy.E):
            if e in (sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
                raise Unsupported(e)
            return _of_ball(_const(e))
        if e.is_Symbol:
            raise Unsupported(f"free symbol {e}")
        if isinstance(e, sympy.Add):
            r = Interval(0.0, 0.0)
            for arg in e.args:
                r = _add(r, self._eval(arg, box))
            return r
        if isinstance(e, sympy.Mul):
            return self._mul(e, box)
        if isinstance(e, sympy.Pow):
            return self._pow(e, box)
        fn = type(e)
        if fn in _MONOTONE:
            f, at_minus, at_plus = _MONOTONE[fn]
            return _monotone(self._eval(e.args[0], box), f, at_minus, at_plus)
        if fn is sympy.log:
            return _log(self._eval(e.args[0], box))
        if fn is sympy.sin:
            return _periodic(self._eval(e.args[0], box), lambda v: v.sin())
        if fn is sympy.cos:
            return _periodic(self._eval(e.args[0], box), lambda v: v.cos())
        if fn is sympy.cosh:
            return _cosh(self._eval(e.args[0], box))
        if fn is sympy.Abs:
            return _abs(self._eval(e.args[0], box))
        if fn is sympy.sign:
            return _step(self._eval(e.args[0], box), -1.0, 1.0, Interval(0.0, 0.0))
        if fn is sympy.Heaviside:
            h0 = Interval(0.0, 1.0)
            if len(e.args) > 1 and e.args[1].is_number:
                h0 = _of_ball(_const(e.args[1]))
            return _step(self._eval(e.args[0], box), 0.0, 1.0, h0)
        if fn in (sympy.Max, sympy.Min):
            parts = [self._eval(a, box) for a in e.args]
            pick = max if fn is sympy.Max else min
            return Interval(pick(p.lo for p in parts), pick(p.hi for p in parts))
        if isinstance(e, sympy.Piecewise):
            return self._piecewise(e, box)
        raise Unsupported(fn.__name__)

    def _mul(self, e: sympy.Mul, box: Interval) -> Interval:
        power, exponent, rest = sympy.Integer(0), sympy.Integer(0), []
        for f in e.args:
            if f == self.x:
                power += 1
            elif isinstance(f, sympy.Pow) and f.base == self.x and f.exp.is_number:
                power += f.exp
            elif isinstance(f, sympy.exp) and _quadratic(f.args[0], self.x) is not None:
                exponent += f.args[0]
            else:
                rest.append(f)
        g = _quadratic(exponent, self.x) if exponent != 0 else None
        if power != 0 and g is not None and (g[0] != 0 or g[1] != 0):
            r = _xpexp(power, g, box)
        else:
            r, rest = Interval(1.0, 1.0), list(e.args)
        for f in rest:
            r = _mul(r, self._eval(f, box))
        return r

    def _pow(self, e: sympy.Pow, box: Interval) -> Interval:
        base, expo = e.args
        if expo.is_Integer:
            return _ipow(self._eval(base, box), int(expo))
        if expo.is_number and expo.is_real:
            if expo == sympy.Rational(1, 2):
                a = self._eval(base, box)
                return _monotone(
                    Interval(max(a.lo, 0.0), a.hi) if a.hi >= 0 else _bad(),
                    lambda v: v.sqrt(),
                    0.0,
                    INF,
                )
            return _rpow(self._eval(base, box), _const_any(expo), bool(expo > 0))
        if base is sympy.E:
            return self._eval(sympy.exp(expo), box)
        return self._eval(sympy.exp(expo * sympy.log(base)), box)

    def _piecewise(self, e: sympy.Piecewise, box: Interval) -> Interval:
        result: Interval | None = None
        for piece, cond in e.args:
            truth = self._truth(cond, box)
            if truth is False:
                continue
            r = self._eval(piece, box)
            result = r if result is None else result.hull(r)
            if truth is True:
                break
        if result is None:
            raise Unsupported("no piece holds")
        return result

    def _truth(self, cond: object, box: Interval) -> bool | None:
        if cond is sympy.true or cond is True:
            return True
        if cond is sympy.false or cond is False:
            return False
        if isinstance(cond, sympy.And):
            vals = [self._truth(c, box) for c in cond.args]
            return False if False in vals else (True if all(v is True for v in vals) else None)
        if isinstance(cond, sympy.Or):
            vals = [self._truth(c, box) for c in cond.args]
            return True if True in vals else (False if all(v is False for v in vals) else None)
        if isinstance(cond, sympy.Not):
            v = self._truth(cond.args[0], box)
            return None if v is None else not v
        if isinstance(cond, sympy.core.relational.Relational):
            d = self._eval(cond.lhs - cond.rhs, box)
            op = cond.rel_op
            if op in ("<", "<="):
                strict = op == "<"
                if d.hi < 0 or (not strict and d.hi <= 0):
                    return True
                if d.lo > 0 or (strict and d.lo >= 0):
                    return False
                return None
            if op == ">":
                return True if d.lo > 0 else (False if d.hi <= 0 else None)
            if op == ">=":
                return True if d.lo >= 0 else (False if d.hi < 0 else None)
            return None
        raise Unsupported(f"condition {cond}")


def _bad() -> Interval:
    raise Unsupported("square root of a negative number")


def _const_any(e: sympy.Expr) -> arb:
    try:
        return _const(e)
    except Unsupported:
        r = Evaluator(e, sympy.Dummy())(Interval(0.0, 0.0))
        if not r.finite:
            raise
        return _ball(r)


def _linear(g: sympy.Expr, x: sympy.Symbol) -> tuple[sympy.Expr, sympy.Expr] | None:
    """(c, d) with g = c x + d, both numbers; None otherwise."""
    c = sympy.diff(g, x)
    if not c.is_number:
        return None
    d = sympy.expand(g - c * x)
    return (c, d) if d.is_number else None


def _quadratic(g: sympy.Expr, x: sympy.Symbol) -> tuple[sympy.Expr, ...] | None:
    """(a, b, d) with g = a x² + b x + d, all numbers; None otherwise."""
    try:
        poly = sympy.Poly(g, x)
    except sympy.PolynomialError:
        return None
    if poly.degree() > 2 or not all(c.is_number for c in poly.all_coeffs()):
        return None
    coeffs = [sympy.Integer(0)] * (3 - len(poly.all_coeffs())) + poly.all_coeffs()
    return tuple(coeffs)


def _xpexp(p: sympy.Expr, g: tuple[sympy.Expr, ...], box: Interval) -> Interval:
    """The range of h(x) = x^p e^(a x² + b x + d) over the box: h' = 0 only at 0 and
    where p + 2a x² + b x = 0, so h is monotone between those points, and its values at
    the box's ends (limits at ±∞) and at those points bound it."""
    a, b, d = g
    integer = p.is_Integer
    if not integer and box.lo < 0:
        raise Unsupported("x^p for negative x")
    pb, ab, bb, db = (_const_any(v) for v in (p, a, b, d))

    def h(xv: arb) -> Interval:
        base = xv ** int(p) if integer else xv**pb
        return _of_ball(base * (ab * xv * xv + bb * xv + db).exp())

    def at(v: float) -> Interval:
        if math.isinf(v):
            lead = a if a != 0 else b * (1 if v > 0 else -1)
            if lead > 0:  # the exponential → ∞
                sign = 1 if (v > 0 or (integer and int(p) % 2 == 0)) else -1
                return Interval(INF, INF) if sign > 0 else Interval(-INF, -INF)
            return Interval(0.0, 0.0)
        if v == 0:
            if p > 0:
                return Interval(0.0, 0.0)
            raise Unsupported("pole at 0")
        return h(_point(v))

    if p < 0 and box.lo <= 0 <= box.hi:
        return WHOLE
    values = [at(box.lo), at(box.hi)]
    if a == 0:
        crits = [-pb / bb]
    else:
        disc = bb * bb - 8 * ab * pb
        if float(disc.upper()) < 0:
            crits = []
        else:
            root = disc.nonnegative_part().sqrt()
            crits = [(-bb + root) / (4 * ab), (-bb - root) / (4 * ab)]
    for crit in crits:
        if not crit.is_finite():
            raise Unsupported("critical point")
        if float(crit.upper()) >= box.lo and float(crit.lower()) <= box.hi:
            values.append(h(crit))
    if box.lo < 0 < box.hi:
        values.append(at(0.0))
    return Interval(min(v.lo for v in values), max(v.hi for v in values))


# ---------------------------------------------------------------------------------------
# Taming the tails


def tame(expr: sympy.Expr, x: sympy.Symbol, direction: int) -> sympy.Expr:
    """An equivalent form for x → direction·∞: in every sum that holds an exponential
    e^(c x + d) growing in that direction, factor the fastest one out, then merge the
    exponentials of each product."""

    def grows(term: sympy.Expr) -> sympy.Expr | None:
        for f in sympy.Mul.make_args(term):
            lin = _linear(f.args[0], x) if isinstance(f, sympy.exp) else None
            if lin is not None and lin[0] * direction > 0:
                return f.args[0]
        return None

    def rewrite(e: sympy.Expr) -> sympy.Expr:
        if not e.args:
            return e
        e = e.func(*[rewrite(a) for a in e.args])
        if isinstance(e, sympy.Add):
            rates = [g for g in (grows(t) for t in e.args) if g is not None]
            if rates:
                top = max(rates, key=lambda g: abs(sympy.diff(g, x)))
                inner = sympy.expand(sympy.Add(*[t * sympy.exp(-top) for t in e.args]))
                return sympy.exp(top) * inner
        return e

    return sympy.powsimp(rewrite(expr), combine="exp")


# ---------------------------------------------------------------------------------------
# Branch and bound


def _to_x(t: float, lo: float, hi: float) -> float:
    """The compactified coordinate t ↦ x (monotone increasing; ±1 ↦ ±∞)."""
    if math.isinf(lo) and math.isinf(hi):
        if t in (-1.0, 1.0):
            return t * INF
        return t / ((1 - t) * (1 + t))
    if math.isinf(hi):
        return INF if t == 1.0 else lo + t / (1 - t)
    if math.isinf(lo):
        return -INF if t == 1.0 else hi - t / (1 - t)
    return t


def _t_range(lo: float, hi: float) -> tuple[float, float]:
    if math.isinf(lo) and math.isinf(hi):
        return -1.0, 1.0
    if math.isinf(lo) or math.isinf(hi):
        return 0.0, 1.0
    return lo, hi


REFINE_S = 0.75  # CPU seconds of refinement per enclosure


def enclose(
    expr: sympy.Expr,
    x: sympy.Symbol,
    lo: float = -INF,
    hi: float = INF,
    *,
    tol: float = 1e-9,
    max_boxes: int = 3000,
    seconds: float = REFINE_S,
    env: dict | None = None,
    evaluator: Callable[[Interval], Interval] | None = None,
) -> Enclosure:
    """Rigorous low ≤ inf f, high ≥ sup f for f = expr over [lo, hi].

    The work is bounded: at most `max_boxes` boxes and `seconds` of CPU time for the
    refinement (a hostile σ' costs a second, not a minute); either limit only loosens
    the enclosure, never makes it wrong."""
    plain = evaluator or Evaluator(expr, x, env)
    tails: dict[int, Callable[[Interval], Interval]] = {}
    if evaluator is None:
        for direction in (1, -1):
            try:
                tamed = tame(expr, x, direction)
            except Exception:  # a failed rewrite only loses precision
                continue
            if tamed != expr:
                tails[direction] = Evaluator(tamed, x, env)

    slope = None  # f' for the mean-value form (quadratic convergence near an extremum)
    if evaluator is None:
        try:
            slope = Evaluator(sympy.diff(expr, x), x, env)
        except Exception:  # no derivative: the natural enclosure alone
            slope = None

    def f(box: Interval) -> Interval:
        r = plain(box)
        for direction, g in tails.items():
            if (direction > 0 and box.lo >= 4) or (direction < 0 and box.hi <= -4):
                r = r.intersect(g(box))
        if slope is not None and box.finite and box.hi > box.lo:
            # f(box) ⊆ f(m) + f'(box)·(box − m), every operation rounded outward
            m = Interval((box.lo + box.hi) / 2, (box.lo + box.hi) / 2)
            centre, d = plain(m), slope(box)
            if centre.finite and d.finite:
                r = r.intersect(_add(centre, _mul(d, _add(box, _neg(m)))))
        return r

    def point(v: float) -> Interval:
        return f(Interval(v, v))

    reversed_x = math.isinf(lo) and not math.isinf(hi)
    t0, t1 = _t_range(lo, hi)

    def xbox(ta: float, tb: float) -> Interval:
        a, b = _to_x(ta, lo, hi), _to_x(tb, lo, hi)
        return Interval(min(a, b), max(a, b)) if reversed_x else Interval(a, b)

    # initial grid
    n0 = 32
    ts = [t0 + (t1 - t0) * i / n0 for i in range(n0)] + [t1]
    boxes: dict[int, tuple[float, float, Interval]] = {}
    high_heap: list[tuple[float, int]] = []
    low_heap: list[tuple[float, int]] = []
    best_low_point: tuple[float, Interval] | None = None  # (x, f(x)) with the largest f
    best_high_point: tuple[float, Interval] | None = None  # smallest f
    counter = 0

    def consider(v: float) -> None:
        nonlocal best_low_point, best_high_point
        if not math.isfinite(v):
            return
        r = point(v)
        if not (math.isfinite(r.lo) and math.isfinite(r.hi)):
            return
        if best_low_point is None or r.lo > best_low_point[1].lo:
            best_low_point = (v, r)
        if best_high_point is None or r.hi < best_high_point[1].hi:
            best_high_point = (v, r)

    def add(ta: float, tb: float) -> None:
        nonlocal counter
        box = xbox(ta, tb)
        r = f(box)
        counter += 1
        boxes[counter] = (ta, tb, r)
        heapq.heappush(high_heap, (-r.hi, counter))
        heapq.heappush(low_heap, (r.lo, counter))
        mid = _to_x((ta + tb) / 2, lo, hi)
        consider(mid)

    for ta, tb in itertools.pairwise(ts):
        add(ta, tb)
        consider(_to_x(ta, lo, hi))
    consider(_to_x(t1, lo, hi))

    def top(heap: list[tuple[float, int]]) -> int | None:
        while heap and heap[0][1] not in boxes:
            heapq.heappop(heap)
        return heap[0][1] if heap else None

    splits = 0
    frozen: list[Interval] = []
    deadline = time.process_time() + seconds
    # The boxes always cover the whole domain, so stopping early only loosens the bound.
    while len(boxes) + splits < max_boxes and time.process_time() < deadline:
        hi_id, lo_id = top(high_heap), top(low_heap)
        if hi_id is None or lo_id is None:
            break
        upper = boxes[hi_id][2].hi
        lower = boxes[lo_id][2].lo
        gap_hi = upper - best_low_point[1].lo if best_low_point else INF
        gap_lo = best_high_point[1].hi - lower if best_high_point else INF
        scale = 1.0 + (abs(best_low_point[1].lo) if best_low_point else 0.0)
        if gap_hi <= tol * scale and gap_lo <= tol * scale:
            break
        target = hi_id if gap_hi >= gap_lo else lo_id
        ta, tb, _ = boxes[target]
        m = (ta + tb) / 2
        if not (ta < m < tb) or tb - ta < 1e-13:
            # cannot split further: freeze it (keep it counted, out of the heaps' way)
            frozen.append(boxes.pop(target)[2])
            splits += 1
            continue
        del boxes[target]
        splits += 1
        add(ta, m)
        add(m, tb)
    enclosures = [b[2] for b in boxes.values()] + frozen
    low = min(r.lo for r in enclosures)
    high = max(r.hi for r in enclosures)
    return Enclosure(
        low,
        high,
        best_high_point[0] if best_high_point else None,
        best_high_point[1] if best_high_point else None,
        best_low_point[0] if best_low_point else None,
        best_low_point[1] if best_low_point else None,
        len(enclosures),
    )


def prove_le(
    expr: sympy.Expr, x: sympy.Symbol, domain: tuple[float, float], c: float, **kw: object
) -> bool | None:
    """True if expr ≤ c on the domain (rigorously), False if a point where expr > c was
    found (rigorously), None if undecided."""
    enc = enclose(expr, x, *domain, **kw)  # type: ignore[arg-type]
    if enc.high <= c:
        return True
    if enc.at_max is not None and enc.at_max.lo > c:
        return False
    return None


def value_at(expr: sympy.Expr, x: sympy.Symbol, point: float) -> Interval:
    """A rigorous enclosure of expr at one point (WHOLE when it cannot be evaluated)."""
    try:
        return Evaluator(expr, x)(Interval(point, point))
    except Unsupported:
        return WHOLE


def ratio_evaluator(
    phi: sympy.Expr, x: sympy.Symbol, ratio: sympy.Expr
) -> Callable[[Interval], Interval]:
    """Encloses Φ(s)/s over a box, given Φ(0) = 0: `ratio` (a form of Φ(s)/s) evaluated
    directly, intersected, on boxes near 0, with Φ'(hull(box, 0)) (the mean value theorem:
    Φ(s)/s = Φ'(ξ) for some ξ between 0 and s)."""
    direct = Evaluator(ratio, x)
    slope = Evaluator(sympy.diff(phi, x), x)

    def f(box: Interval) -> Interval:
        r = direct(box)
        if box.lo <= 1.0 and box.hi >= -1.0 and box.finite:
            r = r.intersect(slope(Interval(min(box.lo, 0.0), max(box.hi, 0.0))))
        return r

    return f
