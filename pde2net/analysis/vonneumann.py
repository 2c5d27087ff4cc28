"""Von Neumann analysis of fixed stencils, with SymPy.

Substituting u_j = gⁿ e^{i j·θ} turns a stencil with weights c_k into its symbol
ŝ(θ) = Σ c_k e^{i k·θ}; compositions multiply symbols and adjoints conjugate them.
Boundaries are ignored, as von Neumann analysis does (the periodic problem).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import sympy
from sympy.calculus.util import function_range

from pde2net.analysis.functions import slopes, within_budget
from pde2net.ir import PDE, Act, Equation, Stencil, StencilDecl, StencilT

THETA = tuple(sympy.Symbol(f"theta{k}", real=True) for k in (1, 2, 3))
_PERIOD = sympy.Interval(0, 2 * sympy.pi)


def stencil_symbols(decl: StencilDecl) -> list[sympy.Expr]:
    """ŝ_c(θ) for each component c of the stencil: its Laurent polynomial
    (`amplification.stencil_laurent`) at z_k = e^{iθ_k}."""
    from pde2net.analysis.amplification import Z, stencil_laurent

    at = {z: sympy.exp(sympy.I * t) for z, t in zip(Z, THETA, strict=False)}
    return [sympy.expand(s.subs(at)) for s in stencil_laurent(decl)]


@dataclass(frozen=True)
class LinearSymbol:
    """The symbol of a (linearised) right-hand side L u, as a function of θ."""

    expr: sympy.Expr
    dims: int
    linearised: tuple[str, ...]  # functions replaced by their slope at 0

    @property
    def thetas(self) -> tuple[sympy.Symbol, ...]:
        return THETA[: self.dims]


def linear_symbol(pde: PDE, eq: Equation) -> LinearSymbol | None:
    """ŝ(θ) of the equation's right-hand side when it is built from fixed stencils of the
    (single-channel) state; pointwise functions are linearised at 0. None otherwise."""
    if len(pde.states) != 1 or any(s.channels != 1 for s in pde.states.values()):
        return None
    linearised: list[str] = []

    def walk(expr: sympy.Expr) -> list[sympy.Expr] | None:
        if isinstance(expr, sympy.Symbol) and str(expr) in pde.states:
            return [sympy.Integer(1)]
        if isinstance(expr, Stencil | StencilT):
            inner = walk(expr.operand)
            decl = pde.stencils.get(expr.op)
            if inner is None or decl is None:
                return None
            symbols = stencil_symbols(decl)
            if isinstance(expr, Stencil):
                return [s * v for v in inner for s in symbols]
            m = len(symbols)
            if len(inner) % m:
                return None
            return [
                sum(sympy.conjugate(s) * v for s, v in zip(symbols, inner[i : i + m], strict=True))
                for i in range(0, len(inner), m)
            ]
        if isinstance(expr, Act):
            fn = pde.functions[expr.op]
            inner = walk(expr.operand)
            if inner is None:
                return None
            slope = sympy.diff(fn.expr, fn.var).subs(fn.var, 0)
            if not slope.is_number:
                slope = slopes(fn).high
            linearised.append(fn.name)
            return [slope * v for v in inner]
        if isinstance(expr, sympy.Add):
            parts = [walk(a) for a in expr.args]
            if any(p is None for p in parts) or len({len(p) for p in parts}) != 1:
                return None
            return [sum(vals) for vals in zip(*parts, strict=True)]
        if isinstance(expr, sympy.Mul):
            numbers = [a for a in expr.args if a.is_number]
            fields = [a for a in expr.args if not a.is_number]
            if len(fields) != 1:
                return None
            inner = walk(fields[0])
            return None if inner is None else [sympy.Mul(*numbers) * v for v in inner]
        return None

    result = walk(eq.rhs)
    if result is None or len(result) != 1:
        return None
    return LinearSymbol(_real_form(result[0]), pde.dims, tuple(dict.fromkeys(linearised)))


@functools.lru_cache(maxsize=256)
def _real_form(expr: sympy.Expr) -> sympy.Expr:
    """e^{iθ} terms rewritten with cos and sin, simplified (within the time budget)."""
    plain = sympy.expand_complex(sympy.expand(expr)).rewrite(sympy.cos)
    return _simplified(plain)


@functools.lru_cache(maxsize=512)
def _simplified(expr: sympy.Expr) -> sympy.Expr:
    """sympy.simplify within the time budget (else the expression as it is: the same value,
    less readable). Cached, like every budgeted computation, so that asking again gives
    the same answer."""
    return within_budget(lambda: sympy.simplify(expr), lambda: expr)


@dataclass(frozen=True)
class SymbolRange:
    """min and max of a real symbol over θ ∈ [0, 2π]^d, and where they are attained."""

    low: sympy.Expr
    high: sympy.Expr
    exact: bool


def symbol_range(symbol: LinearSymbol) -> SymbolRange | None:
    """The range of a real symbol, part by part when it separates into one sum term per
    direction (as sums of 1D stencils do). None for a complex symbol."""
    expr = symbol.expr
    if _is_complex(expr, symbol.thetas):
        return None
    return _range(sympy.re(expr) if expr.has(sympy.I) else expr, symbol.thetas)


@functools.lru_cache(maxsize=128)
def _range(expr: sympy.Expr, thetas: tuple[sympy.Symbol, ...]) -> SymbolRange:
    groups: dict[frozenset, sympy.Expr] = {}
    for term in sympy.Add.make_args(sympy.expand(expr)):
        key = frozenset(t for t in thetas if term.has(t))
        groups[key] = groups.get(key, 0) + term
    low, high, exact = sympy.Integer(0), sympy.Integer(0), True
    for key, part in groups.items():
        if not key:
            low, high = low + part, high + part
            continue
        if len(key) == 1:
            (theta,) = key
            exact_range = functools.partial(_function_range, part, theta)
            rng = within_budget(exact_range, lambda: None)
            if rng is not None:
                low, high = low + rng.inf, high + rng.sup
                continue
        least, most = _grid_extremes(part, tuple(t for t in thetas if t in key))
        low, high, exact = low + least, high + most, False
    return SymbolRange(_simplified(low), _simplified(high), exact)


def _function_range(part: sympy.Expr, theta: sympy.Symbol) -> sympy.Set | None:
    try:
        return function_range(part, theta, _PERIOD)
    except (NotImplementedError, ValueError):
        return None


@functools.lru_cache(maxsize=128)
def _is_complex(expr: sympy.Expr, thetas: tuple[sympy.Symbol, ...]) -> bool:
    imaginary = sympy.im(expr)
    return within_budget(
        lambda: sympy.simplify(imaginary) != 0, lambda: _nonzero(imaginary, thetas)
    )


def _nonzero(expr: sympy.Expr, thetas: tuple[sympy.Symbol, ...]) -> bool:
    """Whether expr (in θ and the grid spacing) is visibly non-zero on a grid of θ, the
    spacing set to 1: the numeric stand-in for simplify(expr) != 0."""
    values = _grid_floats(expr, thetas)
    return values is None or any(abs(v) > 1e-12 for _, v in values)


_GRID = 64  # points per direction, θ = 2πk/64


def _grid_floats(
    expr: sympy.Expr, thetas: tuple[sympy.Symbol, ...]
) -> list[tuple[tuple[int, ...], complex]] | None:
    """expr at every grid point (the spacing and other symbols set to 1), in floating
    point: (index, value); None when it cannot be evaluated numerically."""
    plugged = expr.subs({s: 1 for s in expr.free_symbols if s not in thetas})
    try:
        f = sympy.lambdify(thetas, plugged, modules="cmath", dummify=True)
        return [
            (index, complex(f(*(2 * math.pi * k / _GRID for k in index))))
            for index in itertools.product(range(_GRID), repeat=len(thetas))
        ]
    except Exception:  # a function cmath lacks, an overflow: no numeric values
        return None


def _grid_extremes(
    expr: sympy.Expr, thetas: tuple[sympy.Symbol, ...]
) -> tuple[sympy.Expr, sympy.Expr]:
    """min and max of a real expr over the θ grid: located in floating point, then
    evaluated exactly (in the grid spacing) at those two points."""
    values = _grid_floats(expr, thetas)
    if values is None:  # slow path: every point in SymPy
        exact = _grid_values(expr, thetas)
        return min(exact), max(exact)
    least = min(values, key=lambda iv: iv[1].real)[0]
    most = max(values, key=lambda iv: iv[1].real)[0]
    return _exact_at(expr, thetas, least), _exact_at(expr, thetas, most)


def _exact_at(expr: sympy.Expr, thetas: tuple[sympy.Symbol, ...], index: tuple[int, ...]):
    point = {t: 2 * sympy.pi * k / _GRID for t, k in zip(thetas, index, strict=True)}
    return sympy.nsimplify(expr.subs(point).evalf(30), rational=False)


def _grid_values(expr: sympy.Expr, thetas: tuple[sympy.Symbol, ...]) -> list[sympy.Expr]:
    points = [2 * sympy.pi * k / _GRID for k in range(_GRID)]
    return [
        sympy.nsimplify(expr.subs(dict(zip(thetas, p, strict=True))).evalf(30), rational=False)
        for p in itertools.product(points, repeat=len(thetas))
    ]


def operator_norm_squared(decl: StencilDecl) -> sympy.Expr:
    """‖S‖₂² ≤ max_θ Σ_c |ŝ_c(θ)|² (exact on the periodic grid, a bound on a zero grid), times
    the replicate padding's ‖P‖₂² on a Neumann grid for stencils wider than one cell."""
    power = sum(_real_form(s * sympy.conjugate(s)) for s in stencil_symbols(decl))
    rng = _range(_simplified(power), THETA[: decl.dims])
    if rng.exact:
        return rng.high * _replicate_factor(decl)
    # SymPy could not find the maximum: the triangle inequality |ŝ_c(θ)| ≤ Σ_k |w_k| is
    # a rigorous upper bound (a sample of the grid never is)
    return sum(sum(abs(w) for w in k) ** 2 for k in decl.kernels) * _replicate_factor(decl)


def operator_norm_attained(decl: StencilDecl) -> bool:
    """Whether `operator_norm_squared` is the supremum of the finite operators' ‖S_N‖₂²
    over grid sizes N, not only a bound: SymPy found the symbol's maximum exactly, and
    no padding factor multiplies it. On a periodic grid S_N is a circulant whose norm is
    the symbol's maximum over the N-th roots of unity; on a zero grid (and a Neumann grid
    with an even reflection) it is a section of the infinite operator, whose norms tend
    to the symbol's supremum as N grows. So a condition the bound breaks is broken on
    large enough grids."""
    power = sum(_real_form(s * sympy.conjugate(s)) for s in stencil_symbols(decl))
    exact = _range(_simplified(power), THETA[: decl.dims]).exact
    return exact and _replicate_factor(decl) == 1


def sum_norm_attained(terms: list[tuple[StencilDecl, sympy.Expr]]) -> bool:
    """Whether Σ w_i ‖S_i‖₂² (the bound of a sum of terms w_i S_i'S_i) is also the
    supremum of the finite sum's norms: each term's is (`operator_norm_attained`), and
    the symbols' maxima fall at one frequency, max_θ Σ w_i |ŝ_i(θ)|² = Σ w_i max |ŝ_i|²."""
    if not all(operator_norm_attained(d) for d, _ in terms):
        return False
    total = sum(w * operator_norm_squared(d) for d, w in terms)
    dims = max(d.dims for d, _ in terms)
    power = sum(
        w * sum(_real_form(s * sympy.conjugate(s)) for s in stencil_symbols(d)) for d, w in terms
    )
    rng = _range(_simplified(power), THETA[:dims])
    return rng.exact and sympy.simplify(rng.high - total) == 0


def _replicate_factor(decl: StencilDecl) -> sympy.Integer:
    """1, or on a Neumann grid ‖P‖₂² for the replicate padding P (each edge cell copied
    into up to p ghost cells per axis: Π (1 + p)): S_N = C P with C a compression of
    the infinite convolution, so ‖S_N‖₂² ≤ ‖P‖₂² max|ŝ|². Stencils one cell wide with
    a reversed kernel ± itself need no factor (even reflection, analysis/finite.py)."""
    from pde2net.analysis.finite import _reflection_safe

    if decl.boundary != "neumann" or _reflection_safe(decl):
        return sympy.Integer(1)
    pads = decl.pads
    return sympy.Mul(*(1 + max(pads[i], pads[i + 1]) for i in range(0, len(pads), 2)))


def amplification(symbol: LinearSymbol, tau: float, order: int):
    """|g(θ)| as a numeric function of the first θ (the others at 0), for plots."""
    expr = symbol.expr.subs({t: 0 for t in symbol.thetas[1:]})
    theta = symbol.thetas[0]

    def at(value: float) -> float:
        s = complex(expr.subs(theta, value).evalf())
        if order == 1:
            return abs(1 + tau * s)
        b = 2 + tau**2 * s
        disc = (b * b - 4) ** 0.5
        return max(abs((b + disc) / 2), abs((b - disc) / 2))

    return at
