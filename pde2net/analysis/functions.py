"""Properties of pointwise nonlinearities, derived with SymPy from their expressions.

Nothing is looked up: σ' is differentiated piece by piece and its range over each
piece's interval is computed exactly (`function_range`). When SymPy cannot decide, the
answer says so instead of guessing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import sympy
from sympy.calculus.util import function_range

from pde2net.ir import Function

_SAMPLES = [x / 4 for x in range(-40, 41)]  # where to look for a counterexample point


@dataclass(frozen=True)
class Slopes:
    """The range of σ' over the reals: inf σ', sup σ', and where σ' is most negative."""

    low: sympy.Expr
    high: sympy.Expr
    worst_at: float | None  # a point where σ' is smallest (a counterexample when < 0)
    exact: bool  # False when SymPy could not bound a piece and sampling stood in

    @property
    def monotone(self) -> bool:
        return bool(self.low >= 0)

    @property
    def lipschitz(self) -> sympy.Expr:
        """L_σ = sup |σ'|."""
        return sympy.Max(self.high, -self.low)


def pieces(expr: sympy.Expr, x: sympy.Symbol) -> list[tuple[sympy.Expr, sympy.Set]]:
    """The smooth pieces of `expr` and the interval each one holds on."""
    folded = sympy.piecewise_fold(expr)
    if not isinstance(folded, sympy.Piecewise):
        return [(folded, sympy.S.Reals)]
    remaining: sympy.Set = sympy.S.Reals
    result = []
    for piece, cond in folded.args:
        where = sympy.S.Reals if cond is sympy.true else cond.as_set()
        where = sympy.Intersection(where, remaining)
        remaining = sympy.Complement(remaining, where)
        if where is not sympy.S.EmptySet:
            result.append((piece, where))
    return result


def slopes(fn: Function) -> Slopes:
    """inf and sup of σ' over ℝ (kinks between pieces are ignored: σ is Lipschitz there)."""
    return _slopes(fn.expr, fn.var)


@functools.lru_cache(maxsize=256)
def _slopes(expr: sympy.Expr, x: sympy.Symbol) -> Slopes:
    lows, highs, exact = [], [], True
    worst: tuple[float, float] | None = None
    for piece, where in pieces(expr, x):
        d = sympy.diff(piece, x)
        try:
            rng = function_range(d, x, where)
            low, high = rng.inf, rng.sup
            if not (low.is_number and high.is_number):
                raise ValueError(rng)
        except (NotImplementedError, ValueError, TypeError):
            exact = False
            values = [v for v in (_at(d, x, p) for p in _points(where)) if v is not None]
            low, high = sympy.Float(min(values)), sympy.Float(max(values))
        lows.append(low)
        highs.append(high)
        for point in _candidates(d, x, where):
            value = _at(d, x, point)
            if value is not None and (worst is None or value < worst[1]):
                worst = (point, value)
    return Slopes(sympy.Min(*lows), sympy.Max(*highs), worst[0] if worst else None, exact)


def slope_at(fn: Function, point: float) -> float | None:
    """σ'(point), from the piece that holds there."""
    for piece, where in pieces(fn.expr, fn.var):
        if where.contains(sympy.Float(point)) is sympy.true:
            return _at(sympy.diff(piece, fn.var), fn.var, point)
    return None


def _candidates(d: sympy.Expr, x: sympy.Symbol, where: sympy.Set) -> list[float]:
    """Critical points of σ' in the piece, then a grid: where σ' may be smallest."""
    found: list[float] = []
    try:
        critical = sympy.solveset(sympy.diff(d, x), x, where)
        if isinstance(critical, sympy.FiniteSet):
            found = [float(c) for c in critical if c.is_real]
    except (NotImplementedError, ValueError, TypeError):
        pass
    return found + _points(where)


def _points(where: sympy.Set) -> list[float]:
    return [p for p in _SAMPLES if where.contains(sympy.Float(p)) is sympy.true]


def _at(d: sympy.Expr, x: sympy.Symbol, point: float) -> float | None:
    try:
        value = complex(d.subs(x, sympy.Float(point)).evalf())
    except (TypeError, ValueError):
        return None
    if abs(value.imag) > 1e-12 or not math.isfinite(value.real):
        return None
    return value.real


@dataclass(frozen=True)
class Verdict:
    """Whether a property holds (None: SymPy could not decide), how, and a witness."""

    holds: bool | None
    how: str
    counterexample: float | None = None


def below_identity(fn: Function) -> Verdict:
    """|σ(x)| ≤ |x| for all x (Theorem 2 of Ruthotto & Haber).

    Proven when σ(0) = 0 and sup |σ'| ≤ 1 (then |σ(x)| = |∫₀ˣ σ'| ≤ |x|), or when SymPy
    bounds σ(x)/x within [-1, 1] on both half-lines; refuted by a point where it fails.
    """
    x = fn.var
    at_zero = sympy.simplify(fn.expr.subs(x, 0))
    s = slopes(fn)
    if at_zero == 0 and s.exact and bool(s.lipschitz <= 1):
        return Verdict(True, f"σ(0) = 0 and sup |σ'| = {s.lipschitz} ≤ 1")
    if at_zero != 0 and at_zero.is_number:
        return Verdict(False, f"σ(0) = {at_zero} ≠ 0", 0.0)
    ratio = sympy.simplify(fn.expr / x)
    try:
        ranges = [
            function_range(ratio, x, half)
            for half in (sympy.Interval.open(0, sympy.oo), sympy.Interval.open(-sympy.oo, 0))
        ]
        if all(r.inf >= -1 and r.sup <= 1 for r in ranges):
            return Verdict(True, "SymPy bounds σ(x)/x within [-1, 1]")
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        pass
    for point in _SAMPLES:
        value = _at(fn.expr, x, point)
        if point != 0 and value is not None and abs(value) > abs(point) * (1 + 1e-12):
            return Verdict(False, f"|σ({point:g})| = {abs(value):.6g} > {abs(point):g}", point)
    return Verdict(None, "SymPy could not decide; sampling on [-10, 10] found no violation")


@dataclass(frozen=True)
class RatioRange:
    """The range of Φ(s)/s over s ≠ 0: Alt et al.'s 0 ≤ Φ(s)/s ≤ L."""

    low: sympy.Expr
    high: sympy.Expr
    worst_at: float | None  # where Φ(s)/s is smallest
    exact: bool


def flux_ratio(fn: Function) -> RatioRange:
    return _flux_ratio(fn.expr, fn.var)


@functools.lru_cache(maxsize=256)
def _flux_ratio(expr: sympy.Expr, x: sympy.Symbol) -> RatioRange:
    lows, highs, exact = [], [], True
    for piece, where in pieces(expr, x):
        ratio = sympy.simplify(piece / x)
        for half in (sympy.Interval.open(0, sympy.oo), sympy.Interval.open(-sympy.oo, 0)):
            part = sympy.Intersection(where, half)
            if part is sympy.S.EmptySet:
                continue
            try:
                rng = function_range(ratio, x, part)
                if not (rng.inf.is_number and rng.sup.is_number):
                    raise ValueError(rng)
                lows.append(rng.inf)
                highs.append(rng.sup)
            except (NotImplementedError, ValueError, TypeError):
                exact = False
                values = [v for v in (_at(ratio, x, p) for p in _points(part)) if v is not None]
                lows.append(sympy.Float(min(values)))
                highs.append(sympy.Float(max(values)))
    worst = None
    for point in _SAMPLES:
        if point == 0:
            continue
        value = _at(expr / x, x, point)
        if value is not None and (worst is None or value < worst[1]):
            worst = (point, value)
    return RatioRange(sympy.Min(*lows), sympy.Max(*highs), worst[0] if worst else None, exact)
