"""Properties of pointwise nonlinearities, derived with SymPy from their expressions.

Nothing is looked up: σ' is differentiated piece by piece and its range over each
piece's interval is computed exactly (`function_range`). When SymPy cannot decide, the
answer says so instead of guessing.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import sympy
from sympy.calculus.util import function_range

from pde2net.ir import Function

_SAMPLES = [x / 4 for x in range(-40, 41)]  # where to look for a counterexample point

# ---------------------------------------------------------------------------------------
# Time budget. SymPy can take unbounded time on a legal but hostile σ (exp(exp(exp(x))),
# tanh(x)^63 + x); each exact computation gets BUDGET_S seconds of CPU time, and all of
# one analysis at most what `analysis_budget` allows (the CLI gives ANALYSIS_BUDGET_S).
# Past it, the answer falls back to sampling in floating point, which has a budget of its
# own, and says so (TIMED_OUT). CPU time, not wall-clock time, so that a loaded machine
# does not change the answers. The timer is a signal (SIGPROF), so the budget applies in
# the main thread (the CLI's); elsewhere SymPy runs unbounded.


def _seconds(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value > 0 and math.isfinite(value) else default


BUDGET_S = _seconds("PDE2NET_SYMPY_BUDGET", 2.0)  # one exact computation
ANALYSIS_BUDGET_S = _seconds("PDE2NET_ANALYSIS_BUDGET", 1.5)  # a whole check (the CLI's)
SAMPLING_S = 0.5  # a fallback's own budget, outside the analysis budget
TIMED_OUT = "SymPy could not decide within the time budget"
T = TypeVar("T")
_TIMER, _SIGNAL = (
    (signal.ITIMER_PROF, signal.SIGPROF) if hasattr(signal, "setitimer") else (None, None)
)


class OutOfTime(BaseException):  # not an Exception: SymPy must not swallow it
    """Raised inside a budgeted SymPy computation when its time is up."""


_TOTAL = threading.local()


@contextlib.contextmanager
def analysis_budget(seconds: float) -> Iterator[None]:
    """Give all exact SymPy computations in the block together at most `seconds` of CPU
    time (in this thread's process)."""
    previous = getattr(_TOTAL, "deadline", None)
    deadline = time.process_time() + seconds
    _TOTAL.deadline = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _TOTAL.deadline = previous


class _Alarm:
    """One armed timer; `done` silences it once the computation has ended."""

    def __init__(self) -> None:
        self.done = False

    def fire(self, signum: int, frame: object) -> None:
        if not self.done:
            raise OutOfTime


_armed = threading.local()


def _arm(seconds: float) -> tuple[_Alarm, object] | None:
    """Start a repeating CPU-time timer (it fires again every 50 ms, in case SymPy
    swallows the first exception); None where none can be armed (not the main thread, no
    setitimer, a timer already running that is not ours)."""
    if _TIMER is None or threading.current_thread() is not threading.main_thread():
        return None
    if signal.getitimer(_TIMER)[0] > 0:
        return None  # somebody else's timer (a profiler)
    alarm = _Alarm()
    previous = signal.signal(_SIGNAL, alarm.fire)
    _armed.active = True
    signal.setitimer(_TIMER, max(seconds, 0.001), 0.05)
    return alarm, previous


def _disarm(token: tuple[_Alarm, object] | None) -> None:
    if token is None:
        return
    alarm, previous = token
    alarm.done = True
    signal.setitimer(_TIMER, 0)
    signal.signal(_SIGNAL, previous)  # type: ignore[arg-type]
    _armed.active = False


def remaining() -> float:
    """Seconds of CPU time the next exact computation may take."""
    deadline = getattr(_TOTAL, "deadline", None)
    left = BUDGET_S if deadline is None else min(BUDGET_S, deadline - time.process_time())
    return max(left, 0.0)


def within_budget(
    compute: Callable[[], T], fallback: Callable[[], T], seconds: float | None = None
) -> T:
    """compute() if it ends within its time budget (and does not recurse too deeply),
    else fallback(). The budget is `seconds`, or by default what is left for an exact
    computation (`remaining()`). Inside an enclosing budgeted computation, that one's
    budget rules."""
    if getattr(_armed, "active", False):
        try:
            return compute()
        except RecursionError:
            return fallback()
    budget = remaining() if seconds is None else seconds
    if budget <= 0:
        return fallback()
    token = _arm(budget)
    try:
        result = compute()
        if token is not None:
            token[0].done = True
        finished = True
    except OutOfTime:
        if token is None:
            raise
        token[0].done = True
        finished = False
    except RecursionError:
        finished = False
    finally:
        _disarm(token)
    return result if finished else fallback()


def sampled(expr: sympy.Expr, x: sympy.Symbol, points: list[float]) -> list[tuple[float, float]]:
    """(point, value) where expr is finite and real, evaluated in floating point (fast,
    and bounded: a point that overflows or fails is skipped)."""
    try:
        f = sympy.lambdify(x, expr, modules="math", dummify=True)
    except Exception:
        return [(p, v) for p in points if (v := _at(expr, x, p)) is not None]
    found = []
    for point in points:
        try:
            value = complex(f(point))
        except Exception:  # OverflowError, ValueError (math domain), ZeroDivisionError...
            continue
        if abs(value.imag) <= 1e-12 and math.isfinite(value.real):
            found.append((point, value.real))
    return found


@dataclass(frozen=True)
class Slopes:
    """The range of σ' over the reals: inf σ', sup σ', and where σ' is most negative."""

    low: sympy.Expr
    high: sympy.Expr
    worst_at: float | None  # a point where σ' is smallest (a counterexample when < 0)
    exact: bool  # False when SymPy could not bound a piece and sampling stood in
    note: str = ""  # why it is not exact, when SymPy ran out of time (TIMED_OUT)

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
    return within_budget(lambda: _exact_slopes(expr, x), lambda: _sampled_slopes(expr, x))


def _sampled_slopes(expr: sympy.Expr, x: sympy.Symbol) -> Slopes:
    """σ' sampled on [-10, 10]: the fallback when SymPy ran out of time."""

    def compute() -> Slopes:
        values = sampled(sympy.diff(expr, x), x, _SAMPLES)
        if not values:
            return Slopes(-sympy.oo, sympy.oo, None, False, TIMED_OUT)
        point, low = min(values, key=lambda pv: pv[1])
        high = max(v for _, v in values)
        return Slopes(sympy.Float(low), sympy.Float(high), point, False, TIMED_OUT)

    unknown = Slopes(-sympy.oo, sympy.oo, None, False, TIMED_OUT)
    return within_budget(compute, lambda: unknown, SAMPLING_S)


def _slope_range(piece: sympy.Expr, x: sympy.Symbol, where: sympy.Set) -> sympy.Set:
    """The range of σ' over `where`. When σ depends on x only through one affine argument
    a·x + b (tanh(x/50), sin(3x + 1)) and `where` is the real line, the range is a times
    the range of g' for σ(x) = g(a·x + b): SymPy finds the latter at once (and caches it
    for every a), where its limits on the scaled form could take seconds or fail,
    depending on what ran before."""
    affine = _affine_argument(piece, x) if where == sympy.S.Reals else None
    if affine is None:
        return function_range(sympy.diff(piece, x), x, where)
    a, g, y = affine
    rng = function_range(sympy.diff(g, y), y, sympy.S.Reals)
    low, high = (a * rng.inf, a * rng.sup) if a > 0 else (a * rng.sup, a * rng.inf)
    return sympy.Interval(low, high)


def _affine_argument(
    expr: sympy.Expr, x: sympy.Symbol
) -> tuple[sympy.Expr, sympy.Expr, sympy.Symbol] | None:
    """(a, g, y) with expr = g(a·x + b) if x enters only through one affine argument
    a·x + b of the functions in expr, a a nonzero number; None otherwise."""
    arguments = {f.args[0] for f in expr.atoms(sympy.Function) if x in f.free_symbols}
    if len(arguments) != 1 or any(len(f.args) != 1 for f in expr.atoms(sympy.Function)):
        return None
    argument = arguments.pop()
    a = sympy.diff(argument, x)
    if argument == x or not a.is_number or a == 0 or x in (argument - a * x).free_symbols:
        return None
    y = sympy.Dummy("y", real=True)
    g = expr.subs(argument, y)
    return (a, g, y) if x not in g.free_symbols else None


def _exact_slopes(expr: sympy.Expr, x: sympy.Symbol) -> Slopes:
    lows, highs, exact = [], [], True
    worst: tuple[float, float] | None = None
    for piece, where in pieces(expr, x):
        d = sympy.diff(piece, x)
        try:
            rng = _slope_range(piece, x, where)
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
    return _slope_at(fn.expr, fn.var, point)


@functools.lru_cache(maxsize=256)
def _slope_at(expr: sympy.Expr, x: sympy.Symbol, point: float) -> float | None:
    # Every budgeted computation is cached: asked again (the generator re-derives the
    # checks), it gives the same answer even where the first one ran out of time.
    def exact() -> float | None:
        for piece, where in pieces(expr, x):
            if where.contains(sympy.Float(point)) is sympy.true:
                return _at(sympy.diff(piece, x), x, point)
        return None

    def fallback() -> float | None:
        values = sampled(sympy.diff(expr, x), x, [point])
        return values[0][1] if values else None

    return within_budget(exact, fallback)


def _candidates(d: sympy.Expr, x: sympy.Symbol, where: sympy.Set) -> list[float]:
    """Critical points of σ' in the piece, then a grid: where σ' may be smallest."""
    found: list[float] = []
    try:
        critical = sympy.solveset(sympy.diff(d, x), x, where)
        if isinstance(critical, sympy.FiniteSet):
            found = [float(c) for c in critical if c.is_real]
    except (NotImplementedError, ValueError, TypeError, ArithmeticError):
        pass
    return found + _points(where)


def _points(where: sympy.Set) -> list[float]:
    return [p for p in _SAMPLES if _contains(where, p)]


def _contains(where: sympy.Set, point: float) -> bool:
    """`point in where`; for an interval, decided in floating point unless the point is
    within rounding of an end (then by SymPy, as for any other set): the same answer
    without a SymPy call per sample point (those took most of `check`'s analysis)."""
    if isinstance(where, sympy.Interval) and where.start.is_number and where.end.is_number:
        lo, hi = float(where.start), float(where.end)
        near = 1e-9 * max(1.0, abs(point))
        if abs(point - lo) > near and abs(point - hi) > near:
            return lo < point < hi
    return where.contains(sympy.Float(point)) is sympy.true


def _at(d: sympy.Expr, x: sympy.Symbol, point: float) -> float | None:
    try:
        value = complex(d.subs(x, sympy.Float(point)).evalf())
    except (TypeError, ValueError, ArithmeticError):
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
    return _below_identity_of(fn.expr, fn.var)


@functools.lru_cache(maxsize=256)
def _below_identity_of(expr: sympy.Expr, x: sympy.Symbol) -> Verdict:
    fn = Function("σ", x, expr)
    return within_budget(lambda: _below_identity(fn), lambda: _sampled_below_identity(fn))


def _sampled_below_identity(fn: Function) -> Verdict:
    def compute() -> Verdict:
        for point, value in sampled(fn.expr, fn.var, _SAMPLES):
            if point != 0 and abs(value) > abs(point) * (1 + 1e-12):
                return Verdict(False, f"|σ({point:g})| = {abs(value):.6g} > {abs(point):g}", point)
        return Verdict(None, f"{TIMED_OUT}; sampling on [-10, 10] found no violation")

    return within_budget(compute, lambda: Verdict(None, TIMED_OUT), SAMPLING_S)


def _below_identity(fn: Function) -> Verdict:
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
    return within_budget(lambda: _exact_flux_ratio(expr, x), lambda: _sampled_ratio(expr, x))


def _sampled_ratio(expr: sympy.Expr, x: sympy.Symbol) -> RatioRange:
    """Φ(s)/s sampled on [-10, 10] without 0: the fallback when SymPy ran out of time."""

    def compute() -> RatioRange:
        values = sampled(expr / x, x, [p for p in _SAMPLES if p != 0])
        if not values:
            return RatioRange(-sympy.oo, sympy.oo, None, False)
        point, low = min(values, key=lambda pv: pv[1])
        high = max(v for _, v in values)
        return RatioRange(sympy.Float(low), sympy.Float(high), point, False)

    unknown = RatioRange(-sympy.oo, sympy.oo, None, False)
    return within_budget(compute, lambda: unknown, SAMPLING_S)


def _exact_flux_ratio(expr: sympy.Expr, x: sympy.Symbol) -> RatioRange:
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
