"""Properties of pointwise nonlinearities, derived with SymPy from their expressions.

Nothing is looked up: σ' is differentiated piece by piece and its range over each
piece's interval is computed exactly (`function_range`). When SymPy cannot decide (or
runs out of its per-call time), a rigorous enclosure with arb ball arithmetic
(`intervals`) bounds it (kind "bound"); only when that fails too are the values sampled,
and a sample (kind "estimate") never proves anything. Every result says which it is.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import sympy
from sympy.calculus.util import function_range

from pde2net.analysis import intervals
from pde2net.analysis.report import Exactness, Number
from pde2net.ir import Function, Param

_SAMPLES = [x / 4 for x in range(-40, 41)]  # where to look for a counterexample point

# ---------------------------------------------------------------------------------------
# Time budget. SymPy can take unbounded time on a legal but hostile σ (exp(exp(exp(x))),
# tanh(x)^63 + x); each exact computation gets its own BUDGET_S seconds of CPU time (per
# call: no budget is shared between checks, so no verdict depends on what ran before).
# Past it, the answer falls back to a rigorous enclosure (arb, `intervals`), and only
# then to sampling, which never proves anything, and says so (TIMED_OUT). CPU time, not wall-clock time, so that a loaded machine
# does not change the answers. The timer is a signal (SIGPROF), so the budget applies in
# the main thread (the CLI's); elsewhere SymPy runs unbounded.


def _seconds(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value > 0 and math.isfinite(value) else default


BUDGET_S = _seconds("PDE2NET_SYMPY_BUDGET", 2.0)  # one exact computation
SAMPLING_S = 0.5  # a fallback's own budget, outside the analysis budget
TIMED_OUT = "SymPy could not decide within the time budget"
T = TypeVar("T")
_TIMER, _SIGNAL = (
    (signal.ITIMER_PROF, signal.SIGPROF) if hasattr(signal, "setitimer") else (None, None)
)


class OutOfTime(BaseException):  # not an Exception: SymPy must not swallow it
    """Raised inside a budgeted SymPy computation when its time is up."""


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
    """Seconds of CPU time the next exact computation may take: BUDGET_S, per call."""
    return BUDGET_S


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


# ---------------------------------------------------------------------------------------
# Results. Each carries `kind`: "exact" (SymPy derived the value), "bound" (a rigorous
# enclosure: `low` ≤ the infimum, `high` ≥ the supremum) or "estimate" (samples, which
# never prove anything). `depends_on` names learned parameters the function uses; when
# the property could not be derived for every value of them, `at_values` says which
# values the numbers hold for (their initial values) and `uniform` is False.


@dataclass(frozen=True)
class Range:
    """A derived range [low, high] of a function of σ, with where it is smallest: the
    fields and exactness that `Slopes` and `RatioRange` share."""

    low: sympy.Expr
    high: sympy.Expr
    worst_at: float | None  # where the quantity is smallest (a counterexample when < 0)
    kind: Exactness = "exact"
    note: str = ""  # why it is not exact (e.g. TIMED_OUT)
    refuted: bool = False  # a negative value at worst_at was confirmed rigorously
    depends_on: tuple[str, ...] = ()
    at_values: str = ""
    uniform: bool = True

    @property
    def exact(self) -> bool:
        return self.kind == "exact"

    @property
    def sound(self) -> bool:
        """low and high may be used to prove things (exact, or rigorous bounds)."""
        return self.kind != "estimate"


@dataclass(frozen=True)
class Slopes(Range):
    """The range of σ' over the reals: inf σ', sup σ', and where σ' is most negative."""

    @property
    def monotone(self) -> bool:
        """σ' ≥ 0 is proven (for the values in `at_values` when not uniform)."""
        return self.sound and bool(self.low >= 0)

    @property
    def lipschitz(self) -> sympy.Expr:
        """L_σ = sup |σ'| (an upper bound when kind is "bound")."""
        return sympy.Max(self.high, -self.low)


@dataclass(frozen=True)
class Verdict:
    """Whether a property holds (None: could not decide), how, and a witness."""

    holds: bool | None
    how: str
    counterexample: float | None = None
    kind: Exactness = "exact"
    depends_on: tuple[str, ...] = ()
    at_values: str = ""
    uniform: bool = True


@dataclass(frozen=True)
class RatioRange(Range):
    """The range of Φ(s)/s over s ≠ 0: Alt et al.'s 0 ≤ Φ(s)/s ≤ L."""


def number(value: sympy.Expr, kind: Exactness) -> Number:
    """A result's value as a report `Number` of its kind."""
    if kind == "exact":
        return Number.exact(value)
    v = float(sympy.sympify(value))
    return Number.bound(v) if kind == "bound" else Number.estimate(v)


# ---------------------------------------------------------------------------------------
# Parameters: a function may use declared parameters (`param a = 0.1 : learn, positive`);
# they appear in its expression as SymPy symbols (positive when declared so). Fixed ones
# are their value; learned ones range over their declared set, and a property that SymPy
# cannot derive for all of them is derived at their initial values and marked non-uniform.


def _params_of(expr: sympy.Expr, x: sympy.Symbol, params: Mapping[str, Param] | None):
    """(fixed substitutions, learned substitutions, learned names) for the other symbols."""
    fixed: dict[sympy.Symbol, sympy.Expr] = {}
    learned: dict[sympy.Symbol, sympy.Expr] = {}
    for sym in sorted(expr.free_symbols - {x}, key=str):
        decl = (params or {}).get(str(sym))
        value = sympy.nsimplify(decl.value) if decl is not None else None
        if decl is not None and not decl.learn:
            fixed[sym] = value
        else:
            learned[sym] = value  # None: unknown value
    return fixed, learned


def _with_params(
    expr: sympy.Expr,
    x: sympy.Symbol,
    params: Mapping[str, Param] | None,
    analyse: Callable[[sympy.Expr, sympy.Symbol], T],
    unknown: Callable[[str], T],
) -> T:
    fixed, learned = _params_of(expr, x, params)
    expr = expr.xreplace(fixed) if fixed else expr
    if not learned:
        return analyse(expr, x)
    names = tuple(str(s) for s in learned)
    uniform = _uniform(expr, x, analyse)
    if uniform is not None:
        return dataclasses.replace(uniform, depends_on=names)  # type: ignore[type-var]
    if any(v is None for v in learned.values()):
        return unknown(", ".join(names))
    at_values = ", ".join(f"{s} = {num_text(v)}" for s, v in learned.items())
    result = analyse(expr.xreplace(learned), x)  # type: ignore[arg-type]
    return dataclasses.replace(  # type: ignore[type-var]
        result, depends_on=names, at_values=at_values, uniform=False
    )


def _uniform(expr: sympy.Expr, x: sympy.Symbol, analyse: Callable) -> object | None:
    """The analysis with the parameters left symbolic, if SymPy derives numbers."""
    try:
        result = analyse(expr, x, symbolic=True)
    except Exception:  # SymPy on symbolic parameters fails in many ways
        return None
    if result is None or result.kind != "exact":
        return None
    for field_name in ("low", "high"):
        value = getattr(result, field_name, None)
        if value is not None and not sympy.sympify(value).is_number:
            return None
    if isinstance(result, Verdict) and result.holds is None:
        return None
    return result


def num_text(value: sympy.Expr) -> str:
    value = sympy.sympify(value)
    return str(int(value)) if value.is_Integer else f"{float(value):.6g}"


# ---------------------------------------------------------------------------------------
# σ': exact (SymPy, its own budget), else a rigorous enclosure (arb), else samples.

_CACHE: dict[tuple, object] = {}


def _tiered(
    key: str,
    expr: sympy.Expr,
    x: sympy.Symbol,
    symbolic: bool,
    exact: Callable[[sympy.Expr, sympy.Symbol], T | None],
    bounded: Callable[[sympy.Expr, sympy.Symbol, str], T],
    undecided: str,
) -> T | None:
    """SymPy's exact answer within its own budget, else (not for symbolic parameters) the
    rigorous enclosure, saying why. One answer per expression and process, timed out or
    not: the first derivation has its own full budget (nothing is shared between checks,
    so it does not depend on what ran before), and asking again costs nothing."""
    cache_key = (key, expr, x, symbolic)
    if cache_key not in _CACHE:
        finished = [True]

        def timed_out() -> None:
            finished[0] = False

        result = within_budget(lambda: exact(expr, x), timed_out, BUDGET_S)
        if result is None and not symbolic:
            result = bounded(expr, x, TIMED_OUT if not finished[0] else undecided)
        _CACHE[cache_key] = result
    return _CACHE[cache_key]  # type: ignore[return-value]


def _unknown(cls: type[T], names: str) -> T:
    """The whole real line as the range: nothing is known for every parameter value."""
    return cls(  # type: ignore[call-arg]
        -sympy.oo,
        sympy.oo,
        None,
        "bound",
        f"depends on the parameter {names}",
        depends_on=tuple(names.split(", ")),
        uniform=False,
    )


def slopes(fn: Function, params: Mapping[str, Param] | None = None) -> Slopes:
    """inf and sup of σ' over ℝ (kinks between pieces are ignored: σ is Lipschitz there)."""
    return _derive(fn, params, Slopes, "slopes", "σ'", _exact_slopes, _bounded_slopes)


def _derive(fn: Function, params, cls: type[T], key: str, of: str, exact, bounded) -> T:
    """One property of fn, the range of `of`: its parameters handled by `_with_params`,
    each expression by `_tiered` (SymPy's exact answer in its budget, else the rigorous
    `bounded` one)."""
    undecided = f"SymPy could not find the range of {of}"

    def analyse(expr: sympy.Expr, x: sympy.Symbol, symbolic: bool = False) -> T | None:
        return _tiered(key, expr, x, symbolic, exact, bounded, undecided)

    return _with_params(fn.expr, fn.var, params, analyse, functools.partial(_unknown, cls))


def _exact_slopes(expr: sympy.Expr, x: sympy.Symbol) -> Slopes | None:
    lows, highs = [], []
    worst: tuple[float, float] | None = None
    for piece, where in pieces(expr, x):
        d = sympy.diff(piece, x)
        try:
            rng = _slope_range(piece, x, where)
            low, high = rng.inf, rng.sup
        except (NotImplementedError, ValueError, TypeError, AttributeError):
            return None
        if not (low.is_number and high.is_number):
            return None
        lows.append(low)
        highs.append(high)
        for point in _candidates(d, x, where):
            value = _at(d, x, point)
            if value is not None and (worst is None or value < worst[1]):
                worst = (point, value)
    low, high = sympy.Min(*lows), sympy.Max(*highs)
    refuted = bool(low < 0)
    return Slopes(low, high, worst[0] if worst else None, "exact", refuted=refuted)


def _bounded_slopes(expr: sympy.Expr, x: sympy.Symbol, note: str) -> Slopes:
    """σ' enclosed rigorously over ℝ with arb; samples when that cannot be done."""
    d = sympy.diff(_as_pieces(expr), x)
    try:
        enc = intervals.enclose(d, x)
    except intervals.Unsupported:
        enc = None
    if enc is not None and math.isfinite(enc.low) and math.isfinite(enc.high):
        refuted = enc.at_min is not None and enc.at_min.hi < 0
        note = f"{note}; bounded rigorously (interval arithmetic)"
        return Slopes(
            sympy.Float(enc.low), sympy.Float(enc.high), enc.argmin, "bound", note, refuted
        )
    return _sampled_slopes(d, x, note, enc)


def _sampled_slopes(
    d: sympy.Expr, x: sympy.Symbol, note: str, enc: intervals.Enclosure | None
) -> Slopes:
    values = sampled(d, x, _SAMPLES)
    note = f"{note}; no rigorous bound either, so only sampled on [-10, 10] (an estimate)"
    if not values:
        return Slopes(-sympy.oo, sympy.oo, None, "estimate", note)
    point, low = min(values, key=lambda pv: pv[1])
    high = max(v for _, v in values)
    if enc is not None:  # one finite end of the enclosure is still rigorous
        pass
    refuted = (low < 0 and intervals.value_at(d, x, point).hi < 0) or _confirm_negative(d, x, point)
    return Slopes(sympy.Float(low), sympy.Float(high), point, "estimate", note, refuted)


def _as_pieces(expr: sympy.Expr) -> sympy.Expr:
    """Max, Min and Abs as one Piecewise, so that σ' has no Heaviside(0) = 1/2 values at
    the kinks (which are not slopes of σ)."""
    try:
        return sympy.piecewise_fold(expr.rewrite(sympy.Piecewise))
    except Exception:  # a failed rewrite only costs precision
        return expr


def _ratio_pieces(expr: sympy.Expr, x: sympy.Symbol) -> sympy.Expr:
    """Φ(s)/s with s cancelled in each piece."""
    folded = _as_pieces(expr / x)
    if isinstance(folded, sympy.Piecewise):
        return sympy.Piecewise(*[(sympy.cancel(e), c) for e, c in folded.args])
    return sympy.cancel(folded)


def _confirm_negative(d: sympy.Expr, x: sympy.Symbol, point: float) -> bool:
    """d(point) < 0, decided by SymPy's evalf with its error control (50 digits)."""
    try:
        value = d.subs(x, sympy.Rational(point)).evalf(50)
        return bool(value.is_real and value < -sympy.Float("1e-30"))
    except (TypeError, ValueError, ArithmeticError):
        return False


# ---------------------------------------------------------------------------------------
# |σ(x)| ≤ |x| (Theorem 2 of Ruthotto & Haber)


def below_identity(fn: Function, params: Mapping[str, Param] | None = None) -> Verdict:
    """|σ(x)| ≤ |x| for all x.

    Proven when σ(0) = 0 and sup |σ'| ≤ 1 (then |σ(x)| = |∫₀ˣ σ'| ≤ |x|), or when SymPy
    or a rigorous enclosure bounds σ(x)/x within [-1, 1] on both half-lines; refuted by a
    point where it fails, confirmed rigorously.
    """
    return _with_params(
        fn.expr,
        fn.var,
        params,
        _below_identity_of,
        lambda names: Verdict(None, f"depends on the parameter {names}", kind="estimate"),
    )


def _below_identity_of(expr: sympy.Expr, x: sympy.Symbol, symbolic: bool = False) -> Verdict:
    return _tiered(  # type: ignore[return-value]
        "below",
        expr,
        x,
        symbolic,
        _exact_below_identity,
        _bounded_below_identity,
        "SymPy could not decide",
    )


def _exact_below_identity(expr: sympy.Expr, x: sympy.Symbol) -> Verdict | None:
    at_zero = sympy.simplify(expr.subs(x, 0))
    if at_zero != 0 and at_zero.is_number:
        return Verdict(False, f"σ(0) = {at_zero} ≠ 0", 0.0)
    s = _exact_slopes(expr, x)
    if at_zero == 0 and s is not None and bool(s.lipschitz <= 1):
        return Verdict(True, f"σ(0) = 0 and sup |σ'| = {s.lipschitz} ≤ 1")
    ratio = sympy.simplify(expr / x)
    try:
        ranges = [
            function_range(ratio, x, half)
            for half in (sympy.Interval.open(0, sympy.oo), sympy.Interval.open(-sympy.oo, 0))
        ]
        if all(r.inf >= -1 and r.sup <= 1 for r in ranges):
            return Verdict(True, "SymPy bounds σ(x)/x within [-1, 1]")
        if any(r.inf < -1 or r.sup > 1 for r in ranges):
            point = _violation(expr, x)
            return Verdict(False, "SymPy finds σ(x)/x outside [-1, 1]", point)
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        pass
    return None


def _violation(expr: sympy.Expr, x: sympy.Symbol) -> float | None:
    """A sample point where |σ(x)| > |x| is confirmed rigorously, if any."""
    gap = sympy.Abs(expr) - sympy.Abs(x)
    for point in _SAMPLES:
        value = _at(expr, x, point)
        big = point != 0 and value is not None and abs(value) > abs(point) * (1 + 1e-12)
        if big and (intervals.value_at(gap, x, point).lo > 0 or _confirm_negative(-gap, x, point)):
            return point
    return None


def _bounded_below_identity(expr: sympy.Expr, x: sympy.Symbol, note: str) -> Verdict:
    at_zero = intervals.value_at(expr, x, 0.0)
    point = _violation(expr, x)
    if point is not None:
        value = _at(expr, x, point)
        return Verdict(False, f"|σ({point:g})| = {abs(value or 0):.6g} > {abs(point):g}", point)
    if at_zero.lo == 0 and at_zero.hi == 0:
        try:
            ratio = _ratio_pieces(expr, x)
            halves = []
            for lo, hi in ((0.0, math.inf), (-math.inf, 0.0)):
                ev = intervals.ratio_evaluator(expr, x, ratio)
                halves.append(intervals.enclose(ratio, x, lo, hi, evaluator=ev))
            low, high = min(h.low for h in halves), max(h.high for h in halves)
            if low >= -1 and high <= 1:
                return Verdict(
                    True,
                    f"σ(0) = 0 and interval arithmetic bounds σ(x)/x within "
                    f"[{low:.6g}, {high:.6g}] ⊆ [-1, 1] ({note})",
                    kind="bound",
                )
        except intervals.Unsupported:
            pass
    return Verdict(
        None, f"{note}; sampling on [-10, 10] found no violation (not a proof)", kind="estimate"
    )


# ---------------------------------------------------------------------------------------
# Φ(s)/s (Alt et al.'s 0 ≤ Φ(s)/s ≤ L)


def flux_ratio(fn: Function, params: Mapping[str, Param] | None = None) -> RatioRange:
    return _derive(fn, params, RatioRange, "ratio", "Φ(s)/s", _exact_flux_ratio, _bounded_ratio)


def _exact_flux_ratio(expr: sympy.Expr, x: sympy.Symbol) -> RatioRange | None:
    lows, highs = [], []
    for piece, where in pieces(expr, x):
        ratio = sympy.simplify(piece / x)
        for half in (sympy.Interval.open(0, sympy.oo), sympy.Interval.open(-sympy.oo, 0)):
            part = sympy.Intersection(where, half)
            if part is sympy.S.EmptySet:
                continue
            try:
                rng = function_range(ratio, x, part)
            except (NotImplementedError, ValueError, TypeError, AttributeError):
                return None
            if not (rng.inf.is_number and rng.sup.is_number):
                return None
            lows.append(rng.inf)
            highs.append(rng.sup)
    low, high = sympy.Min(*lows), sympy.Max(*highs)
    return RatioRange(low, high, _worst_ratio(expr, x), "exact", refuted=bool(low < 0))


def _worst_ratio(expr: sympy.Expr, x: sympy.Symbol) -> float | None:
    worst = None
    for point in _SAMPLES:
        if point == 0:
            continue
        value = _at(expr / x, x, point)
        if value is not None and (worst is None or value < worst[1]):
            worst = (point, value)
    return worst[0] if worst else None


def _bounded_ratio(expr: sympy.Expr, x: sympy.Symbol, note: str) -> RatioRange:
    """Φ(s)/s enclosed rigorously on both half-lines (arb); samples when that fails."""
    at_zero = intervals.value_at(expr, x, 0.0)
    if at_zero.lo > 0 or at_zero.hi < 0:  # Φ(0) ≠ 0: Φ(s)/s is unbounded near 0
        return RatioRange(-sympy.oo, sympy.oo, 0.0, "exact", f"Φ(0) ≠ 0 ({note})", True)
    if at_zero.lo == 0 and at_zero.hi == 0:
        try:
            ratio = _ratio_pieces(expr, x)
            halves = [
                intervals.enclose(
                    ratio, x, lo, hi, evaluator=intervals.ratio_evaluator(expr, x, ratio)
                )
                for lo, hi in ((0.0, math.inf), (-math.inf, 0.0))
            ]
            low, high = min(h.low for h in halves), max(h.high for h in halves)
            if math.isfinite(low) and math.isfinite(high):
                best = min(halves, key=lambda h: h.at_min.hi if h.at_min else math.inf)
                refuted = best.at_min is not None and best.at_min.hi < 0
                return RatioRange(
                    sympy.Float(low),
                    sympy.Float(high),
                    best.argmin,
                    "bound",
                    f"{note}; bounded rigorously (interval arithmetic)",
                    refuted,
                )
        except intervals.Unsupported:
            pass
    values = sampled(expr / x, x, [p for p in _SAMPLES if p != 0])
    note = f"{note}; no rigorous bound either, so only sampled on [-10, 10] (an estimate)"
    if not values:
        return RatioRange(-sympy.oo, sympy.oo, None, "estimate", note)
    point, low = min(values, key=lambda pv: pv[1])
    high = max(v for _, v in values)
    refuted = low < 0 and (
        intervals.value_at(expr / x, x, point).hi < 0 or _confirm_negative(expr / x, x, point)
    )
    return RatioRange(sympy.Float(low), sympy.Float(high), point, "estimate", note, refuted)


def usable_bound(result: Range, what: str) -> str:
    """Why `result.high` may not be used as L in a step bound ("" when it may: it is
    exact or a rigorous upper bound, finite, and holds for every parameter value)."""
    if not result.sound:
        return f"{what} is only an estimate ({result.note}), so no step bound is proven"
    if result.high == sympy.oo:
        if result.kind == "exact":
            return ""
        return f"no finite bound on {what} could be derived ({result.note})"
    if not result.uniform:
        return param_reason(result)
    return ""


def param_reason(result: Range | Verdict, holds: bool | None = True) -> str:
    """The note of a result derived only at the learned parameters' initial values."""
    names = ", ".join(result.depends_on)
    plural = "parameters" if len(result.depends_on) > 1 else "parameter"
    if not result.at_values:
        return f"depends on the learned {plural} {names}, whose values are not known here"
    word = {True: "holds", False: "fails", None: "is undecided"}[holds]
    return (
        f"depends on the learned {plural} {names}: SymPy could not derive it for every "
        f"value, and it {word} for {result.at_values} (the initial value)"
    )


def shown(value: sympy.Expr, kind: Exactness) -> str:
    """A value with its kind: `1`, `≤ 1.09988 (bound)`, `≈ 1.0994 (estimate)`."""
    value = sympy.sympify(value)
    text = "∞" if value == sympy.oo else ("-∞" if value == -sympy.oo else num_text(value))
    return {"exact": text, "bound": f"{text} (bound)", "estimate": f"≈ {text} (estimate)"}[kind]
