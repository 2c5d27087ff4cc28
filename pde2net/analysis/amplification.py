"""Exact von Neumann analysis of linear, constant-coefficient stencil systems.

A right-hand side built from fixed stencils, their adjoints, scalar multiples and linear
couplings between states is, on the periodic grid, diagonalised by Fourier modes: the
mode e^{i j·θ} of every state is mapped to a combination of the same mode, with the
symbol matrix A(θ) = R + S(θ). R holds the zeroth-order (pointwise) couplings c·u and
S(θ) the stencil terms, as Laurent polynomials in z_k = e^{iθ_k}.

One step (or one cycle) of a scheme applied to that system multiplies each mode by an
amplification matrix G(θ), built here from the scheme's actual update (forward Euler
I + τA, leapfrog's companion matrix, Verlet's two half-updates, the product of a FED or
FSI cycle, the solver iterations of a semi-implicit step). The scheme is stable when
every G(θ) is power-bounded: its eigenvalues lie in the disk |λ| ≤ 1 + τμ and none on
that circle is defective. μ = max(0, the largest real part of R's eigenvalues) is the
growth the PDE's own zeroth-order terms allow (`dt(u) = lap u + u` grows like e^t, and a
scheme that follows it is stable in the Lax–Richtmyer sense, |g| ≤ 1 + τμ); stencil
terms are allowed no growth at all (downwind advection grows like e^{2at/h}: unstable).
At frequencies where the stencil part vanishes (θ = 0 for consistent differences), a
defective eigenvalue on the circle is the PDE's own polynomial growth (u = a + b t for
the wave equation) and is allowed.

Every decision is exact: trigonometric polynomials become polynomials in c = cos θ (in
1D, |p(e^{iθ})|² and the real parts needed are polynomials in c alone), and their signs
on [−1, 1] are decided by real-root isolation on rational coefficients. In d > 1 the
analysis goes through a real scalar symbol x(θ) whose range is the sum of its
per-direction ranges (separable stencils, as the Laplacian); otherwise it is undecided
and says so. No θ grid is ever sampled.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy
from sympy.polys.polyerrors import NotAlgebraic

from pde2net.ir import PDE, Act, Equation, Stencil, StencilDecl, StencilT

Z = tuple(sympy.Symbol(f"z{k}") for k in (1, 2, 3))  # z_k = e^{iθ_k}
C = sympy.Symbol("c", real=True)  # cos θ (1D)
X = sympy.Symbol("x", real=True)  # a real scalar symbol x(θ)
MARK = sympy.Symbol("stencil_marker")  # tags stencil contributions
TAU = sympy.Symbol("tau", positive=True)


def exact(value: object) -> sympy.Expr:
    """A spec number as an exact SymPy number: floats by their shortest repr, never
    nsimplify (0.0625000001 stays 625000001/10^10)."""
    if isinstance(value, bool):
        return sympy.Integer(int(value))
    if isinstance(value, float):
        return sympy.Rational(repr(value))
    if isinstance(value, int):
        return sympy.Integer(value)
    expr = sympy.sympify(value)
    floats = expr.atoms(sympy.Float)
    if floats:
        expr = expr.xreplace({f: sympy.Rational(repr(float(f))) for f in floats})
    return expr


# ---------------------------------------------------------------------------------------
# The symbol matrix


@dataclass(frozen=True)
class LinearSystem:
    """dt(states) = (R + S(θ)) states, mode by mode; S in z_k and the grid spacing."""

    states: tuple[str, ...]
    order: int
    reaction: sympy.Matrix
    stencil: sympy.Matrix
    dims: int
    grid: sympy.Symbol | None
    grid_value: sympy.Expr | None
    linearised: tuple[str, ...] = ()
    learned: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return len(self.states)

    @property
    def zs(self) -> tuple[sympy.Symbol, ...]:
        return Z[: self.dims]

    def stencil_at(self, spacing: bool = True) -> sympy.Matrix:
        """S(z) with the grid spacing plugged in (or kept as a symbol)."""
        if spacing and self.grid is not None:
            return self.stencil.subs(self.grid, self.grid_value).applyfunc(sympy.expand)
        return self.stencil

    def matrix(self) -> sympy.Matrix:
        return (self.reaction + self.stencil_at()).applyfunc(sympy.expand)


def stencil_laurent(decl: StencilDecl, adjoint: bool = False) -> list[sympy.Expr]:
    """ŝ_c(z) = Σ w_k z^(k − origin) per component; the adjoint conjugates (z → 1/z)."""
    out = []
    for kernel in decl.kernels:
        total = sympy.Integer(0)
        for index in itertools.product(*(range(n) for n in kernel.shape)):
            weight = kernel[index]
            if weight == 0:
                continue
            term = exact(weight)
            for i, o, z in zip(index, decl.origin, Z, strict=False):
                term *= z ** (-(i - o) if adjoint else (i - o))
            total += term
        out.append(total)
    return out


def linear_system(
    pde: PDE, equations: Sequence[Equation] | None = None, linearise: bool = False
) -> LinearSystem | None:
    """The symbol matrix of the equations' right-hand sides, when every one is a linear
    combination of stencils of the states (pointwise functions replaced by their slope at
    0 when `linearise`); None otherwise."""
    equations = list(pde.equations if equations is None else equations)
    if not equations or len({eq.order for eq in equations}) != 1:
        return None
    names = tuple(eq.state for eq in equations)
    channels = {pde.states[s].channels for s in names}
    if len(channels) != 1:
        return None
    linearised: list[str] = []
    learned: list[str] = []
    values: dict[sympy.Symbol, sympy.Expr] = {}
    for p in pde.params.values():
        values[sympy.Symbol(p.name)] = exact(p.value)
        values[sympy.Symbol(p.name, positive=True)] = exact(p.value)
        values[sympy.Symbol(p.name, real=True)] = exact(p.value)

    def scalar(expr: sympy.Expr) -> sympy.Expr | None:
        free = expr.free_symbols
        if not free <= set(values):
            return None
        for s in free:
            if str(s) not in learned and pde.params[str(s)].learn:
                learned.append(str(s))
        value = exact(expr.xreplace(values))
        return value if value.is_number else None

    def walk(expr: sympy.Expr) -> list[dict[str, sympy.Expr]] | None:
        if isinstance(expr, sympy.Symbol) and str(expr) in pde.states:
            return [{str(expr): sympy.Integer(1)}] if str(expr) in names else None
        if isinstance(expr, Stencil):  # StencilT is a Stencil too
            decl = pde.stencils.get(expr.op)
            inner = walk(expr.operand)
            if decl is None or inner is None:
                return None
            if isinstance(expr, StencilT):
                symbols = stencil_laurent(decl, adjoint=True)
                m = len(symbols)
                if len(inner) % m:
                    return None
                return [
                    _combine(
                        [(MARK * s, v) for s, v in zip(symbols, inner[i : i + m], strict=True)]
                    )
                    for i in range(0, len(inner), m)
                ]
            symbols = stencil_laurent(decl)
            return [_combine([(MARK * s, v)]) for v in inner for s in symbols]
        if isinstance(expr, Act):
            if not linearise:
                return None
            fn = pde.functions.get(expr.op)
            inner = walk(expr.operand)
            if fn is None or inner is None:
                return None
            slope = sympy.diff(fn.expr, fn.var).subs(fn.var, 0)
            slope = scalar(slope) if not slope.is_number else exact(slope)
            if slope is None or not slope.is_real:
                return None
            linearised.append(fn.name)
            return [_combine([(slope, v)]) for v in inner]
        if isinstance(expr, sympy.Add):
            parts = [walk(a) for a in expr.args]
            if any(p is None for p in parts) or len({len(p) for p in parts}) != 1:
                return None
            return [
                _combine([(sympy.Integer(1), v) for v in vals]) for vals in zip(*parts, strict=True)
            ]
        if isinstance(expr, sympy.Mul):
            fields = [a for a in expr.args if _has_state(a, pde)]
            numbers = [a for a in expr.args if not _has_state(a, pde)]
            if len(fields) != 1:
                return None
            coeff = scalar(sympy.Mul(*numbers))
            inner = walk(fields[0])
            if coeff is None or inner is None:
                return None
            return [_combine([(coeff, v)]) for v in inner]
        return None

    rows = []
    for eq in equations:
        result = walk(eq.rhs)
        if result is None or len(result) != 1:
            return None
        rows.append(result[0])
    n = len(names)
    reaction = sympy.zeros(n, n)
    stencil = sympy.zeros(n, n)
    for i, row in enumerate(rows):
        for state, coeff in row.items():
            j = names.index(state)
            coeff = sympy.expand(coeff)
            r = coeff.subs(MARK, 0)
            reaction[i, j] = r
            stencil[i, j] = sympy.expand((coeff - r).subs(MARK, 1))
    if any(not v.is_number for v in reaction):
        return None
    grid = pde.grid
    return LinearSystem(
        names,
        equations[0].order,
        reaction,
        stencil,
        pde.dims,
        grid.symbol if grid else None,
        exact(grid.value) if grid else None,
        tuple(dict.fromkeys(linearised)),
        tuple(learned),
    )


def _has_state(expr: sympy.Expr, pde: PDE) -> bool:
    return any(str(s) in pde.states for s in expr.free_symbols)


def _combine(terms: list[tuple[sympy.Expr, dict[str, sympy.Expr]]]) -> dict[str, sympy.Expr]:
    out: dict[str, sympy.Expr] = {}
    for coeff, row in terms:
        for state, value in row.items():
            out[state] = out.get(state, sympy.Integer(0)) + coeff * value
    return out


# ---------------------------------------------------------------------------------------
# One step of each scheme, as a matrix function of A


def euler_step(a: sympy.Matrix, tau: sympy.Expr) -> sympy.Matrix:
    return sympy.eye(a.rows) + tau * a


def leapfrog_step(a: sympy.Matrix, tau: sympy.Expr) -> sympy.Matrix:
    """(u, u_prev) ↦ (2u − u_prev + τ² A u, u)."""
    n = a.rows
    eye, zero = sympy.eye(n), sympy.zeros(n, n)
    return sympy.BlockMatrix([[2 * eye + tau**2 * a, -eye], [eye, zero]]).as_explicit()


def verlet_step(a: sympy.Matrix, tau: sympy.Expr) -> sympy.Matrix:
    """The states updated one after the other, each with the newest values."""
    g = sympy.eye(a.rows)
    for i in range(a.rows):
        e = sympy.zeros(a.rows, a.rows)
        e[i, i] = 1
        g = (sympy.eye(a.rows) + tau * e * a) * g
    return g


def cycle_step(a: sympy.Matrix, taus: Sequence[sympy.Expr]) -> sympy.Matrix:
    """A FED cycle: explicit steps τ_1, …, τ_n applied in order."""
    g = sympy.eye(a.rows)
    for t in taus:
        g = (sympy.eye(a.rows) + t * a) * g
    return g


def fsi_step(a: sympy.Matrix, tau: sympy.Expr, alphas: Sequence[sympy.Expr]) -> sympy.Matrix:
    """u^(k+1) = α_k (u^k + τ A u^k) + (1 − α_k) u^(k−1), u^(−1) = u^0: the cycle map."""
    eye = sympy.eye(a.rows)
    prev, cur = eye, eye
    for alpha in alphas:
        prev, cur = cur, alpha * (eye + tau * a) * cur + (1 - alpha) * prev
    return cur


def rk_step(a: sympy.Matrix, tau: sympy.Expr, stability: sympy.Poly) -> sympy.Matrix:
    """An explicit Runge–Kutta step on a linear system: G = R(τA), R the method's
    stability polynomial (analysis/butcher.py)."""
    g = sympy.zeros(a.rows, a.rows)
    power = sympy.eye(a.rows)
    for coeff in reversed(stability.all_coeffs()):
        g += coeff * power
        power = power * (tau * a)
    return g


def theta_step(a: sympy.Matrix, tau: sympy.Expr, theta: sympy.Expr) -> sympy.Matrix:
    """(I − θτA) u⁺ = (I + (1 − θ)τA) u: G = (I − θτA)⁻¹ (I + (1 − θ)τA)."""
    eye = sympy.eye(a.rows)
    return (eye - theta * tau * a).inv() * (eye + (1 - theta) * tau * a)


def extent_bound(system: LinearSystem, extent: sympy.Expr) -> Bound | None:
    """The largest τ for a method stable on [−β, 0] of the real axis (β = `extent`),
    for one state whose symbol is real and ≤ 0: τ* = β / max|ŝ|; None otherwise."""
    if system.n != 1 or system.reaction[0, 0] != 0 or system.stencil_at().is_zero_matrix:
        return None
    ends = scalar_range(system)
    if ends is None:
        return None
    low, high = ends
    if high > 0:
        return Bound(sympy.Integer(0), sympy.Integer(0), False)
    if low == 0 or extent == sympy.oo:
        return Bound(sympy.oo, sympy.oo, False)
    power = _homogeneity(system.stencil[0, 0], system.grid)
    value = extent / -low
    return Bound(value, _scaled(value, system, power), False)


# ---------------------------------------------------------------------------------------
# Exact sign decisions


class Undecided(Exception):
    """The exact method does not apply (irrational coefficients, a degenerate case)."""


def _poly(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Poly:
    """expr as a polynomial in var over Q. A constant that is irrational (99√2/200) keeps
    only its exact sign, which is all a root or sign test needs of it."""
    expr = sympy.expand(expr)
    if var not in expr.free_symbols and not expr.free_symbols and not expr.is_Rational:
        return sympy.Poly(_sign(expr), var, domain=sympy.QQ)
    try:
        return sympy.Poly(expr, var, domain=sympy.QQ)
    except (sympy.PolynomialError, sympy.CoercionFailed, sympy.GeneratorsNeeded) as err:
        scaled = _rational_multiple(expr, var)  # (99√2/200)·x: an irrational content
        if scaled is not None:
            return scaled
        raise Undecided(f"the polynomial {sympy.sstr(expr)} has non-rational coefficients") from err


def _rational_multiple(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Poly | None:
    """sign(c) · q when expr = c · q(var), c a real constant and q rational (the same
    roots and the same sign as expr); None otherwise."""
    try:
        general = sympy.Poly(expr, var)
    except sympy.PolynomialError:
        return None
    coeffs = general.all_coeffs()
    lead = next((c for c in coeffs if c != 0), None)
    if lead is None or lead.free_symbols:
        return None
    ratios = [sympy.expand(sympy.radsimp(c / lead)) for c in coeffs]  # exact, no guessing
    if not all(r.is_Rational for r in ratios):
        return None
    return sympy.Poly(ratios, var, domain=sympy.QQ) * _sign(lead)


def nonpositive_on(expr: sympy.Expr, var: sympy.Symbol, lo, hi) -> bool:
    """Whether a polynomial is ≤ 0 on [lo, hi] (rational ends), decided exactly: its sign
    is constant between consecutive real roots, so it is tested at the ends and at one
    rational point between each pair of isolated roots. Coefficients in Q(α), α one real
    radical (τ = 0.99 h/√2), go through the norm N = Res_y(p(x, y), minpoly_α(y)), a
    rational polynomial whose roots include p's: p is tested (exactly) between N's."""
    try:
        p = _poly(expr, var)
    except Undecided:
        return _nonpositive_algebraic(sympy.expand(expr), var, lo, hi)
    if p.is_zero:
        return True
    lo, hi = sympy.Rational(lo), sympy.Rational(hi)
    if p.degree() <= 0:
        return p.LC() <= 0
    return all(p.eval(t) <= 0 for t in _test_points(p, lo, hi))


def poly_nonpositive_on(p: sympy.Poly, lo, hi) -> bool:
    """`nonpositive_on` for a polynomial already over Q (no expansion: a FED cycle's
    polynomial of degree 100 with long rational coefficients stays fast)."""
    lo, hi = sympy.Rational(lo), sympy.Rational(hi)
    if p.is_zero:
        return True
    if p.degree() <= 0:
        return p.LC() <= 0
    return all(p.eval(t) <= 0 for t in _test_points(p, lo, hi))


def _nonpositive_algebraic(expr: sympy.Expr, var: sympy.Symbol, lo, hi) -> bool:
    radicals = {
        a
        for a in expr.atoms(sympy.Pow)
        if a.base.is_Rational and a.exp.is_Rational and not a.exp.is_Integer
    }
    if len(radicals) != 1 or expr.free_symbols - {var}:
        raise Undecided(f"the polynomial {sympy.sstr(expr)} has non-rational coefficients")
    (alpha,) = radicals
    y = sympy.Dummy("y")
    lifted = sympy.expand(expr.subs(alpha, y))
    if lifted.has(alpha) or not lifted.is_polynomial(var, y):
        raise Undecided(f"the polynomial {sympy.sstr(expr)} has non-rational coefficients")
    minimal = sympy.minimal_polynomial(alpha, y)
    norm = _poly(sympy.resultant(lifted, minimal, y), var)
    lo, hi = sympy.Rational(lo), sympy.Rational(hi)
    points = [lo, hi] if norm.is_zero or norm.degree() <= 0 else _test_points(norm, lo, hi)
    return all(_sign(expr.subs(var, t)) <= 0 for t in points)


def _sign(value: sympy.Expr) -> int:
    """The sign of a real number, exactly: an algebraic one is zero iff its minimal
    polynomial is the variable itself, a transcendental one iff SymPy proves it zero;
    otherwise enough digits of a certified evaluation (too few: Undecided)."""
    value = sympy.expand(value)
    if value.is_Rational:
        return int(sympy.sign(value))
    x = sympy.Dummy("x")
    try:
        if sympy.minimal_polynomial(value, x) == x:
            return 0
    except NotAlgebraic:  # π from erf's slope 2/√π: zero only if SymPy proves it
        if value.is_zero:
            return 0
    digits = value.evalf(60)
    if abs(digits) < sympy.Float("1e-50"):
        raise Undecided(f"the sign of {sympy.sstr(value)} needs more precision")
    return 1 if digits > 0 else -1


def _test_points(p: sympy.Poly, lo: sympy.Rational, hi: sympy.Rational) -> list:
    """The ends and one rational point between each pair of p's isolated roots."""
    points = [lo, hi]
    eps = None
    for attempt in range(8):
        roots = sorted(p.intervals(inf=lo, sup=hi, eps=eps), key=lambda r: r[0][0])
        between = []
        ok = True
        for ((_, b), _), ((a2, _), _) in itertools.pairwise(roots):
            if b >= a2:
                ok = False
                break
            between.append((b + a2) / 2)
        if ok:
            points += between
            break
        eps = (hi - lo) / 2 ** (20 + 8 * attempt)
    else:
        raise Undecided("root isolation did not separate the roots")
    return points


def roots_in(p: sympy.Poly, lo, hi) -> bool:
    """Whether p has a real root in [lo, hi]."""
    if p.is_zero:
        return True
    if p.degree() <= 0:
        return False
    return p.count_roots(sympy.Rational(lo), sympy.Rational(hi)) > 0


# ---------------------------------------------------------------------------------------
# From z to a real variable


def real_part_c(expr: sympy.Expr) -> sympy.Expr:
    """The real part of a 1D Laurent polynomial Σ a_k z^k (real a_k) at z = e^{iθ}, as a
    polynomial in c = cos θ: Σ a_k T_|k|(c)."""
    expr = sympy.expand(expr)
    z = Z[0]
    total = sympy.Integer(0)
    for term in sympy.Add.make_args(expr):
        coeff, power = _monomial(term, z)
        total += coeff * sympy.chebyshevt(abs(power), C)
    return sympy.expand(total)


def _monomial(term: sympy.Expr, z: sympy.Symbol) -> tuple[sympy.Expr, int]:
    coeff, rest = term.as_independent(z, as_Add=False)
    if rest == 1:
        return coeff, 0
    if rest == z:
        return coeff, 1
    base, exp = rest.as_base_exp()
    if base != z or not exp.is_Integer:
        raise Undecided(f"not a Laurent polynomial in {z}: {term}")
    return coeff, int(exp)


def conj(expr: sympy.Expr, zs: Sequence[sympy.Symbol]) -> sympy.Expr:
    """The complex conjugate of a real-coefficient Laurent polynomial on |z| = 1."""
    return expr.xreplace({z: 1 / z for z in zs})


def is_real_valued(expr: sympy.Expr, zs: Sequence[sympy.Symbol]) -> bool:
    return sympy.expand(expr - conj(expr, zs)) == 0


def abs2_c(expr: sympy.Expr) -> sympy.Expr:
    """|p(e^{iθ})|² as a polynomial in c (1D)."""
    return real_part_c(sympy.expand(expr * conj(expr, Z[:1])))


@dataclass(frozen=True)
class ScalarSymbol:
    """A real scalar symbol x(θ) that carries all of S(θ) = x(θ) S₁, with its exact
    range over the torus; `var`/`of` say how conditions in x are decided: in 1D as
    polynomials in c (x = of(c)), in d > 1 on x's range."""

    expr: sympy.Expr  # x(z), spacing plugged in
    s1: sympy.Matrix
    low: sympy.Expr
    high: sympy.Expr
    var: sympy.Symbol
    of: sympy.Expr  # x as a polynomial in var
    lo: sympy.Expr  # the domain of var (rational)
    hi: sympy.Expr
    enclosure: bool = False  # the domain is a rational enclosure of x's range


def scalar_symbol(system: LinearSystem) -> ScalarSymbol | None:
    """S(θ) = x(θ) S₁ with x real-valued: the reduction to one real variable."""
    s = system.stencil_at()
    zs = system.zs
    lead = next((v for v in s if v != 0), None)
    if lead is None:
        return None
    s1 = s.applyfunc(lambda v: sympy.cancel(v / lead))
    if any(v.free_symbols & set(zs) for v in s1):
        return None
    if not is_real_valued(lead, zs):
        return None
    if system.dims == 1:
        p = real_part_c(lead)
        low, high = _poly_range(p, C)
        return ScalarSymbol(lead, s1, low, high, C, p, sympy.Integer(-1), sympy.Integer(1))
    parts: dict[sympy.Symbol | None, sympy.Expr] = {}
    for term in sympy.Add.make_args(sympy.expand(lead)):
        used = [z for z in zs if term.has(z)]
        if len(used) > 1:
            return None  # not separable: no exact range here
        key = used[0] if used else None
        parts[key] = parts.get(key, 0) + term
    low, high = sympy.Integer(0), sympy.Integer(0)
    for key, part in parts.items():
        if key is None:
            low, high = low + part, high + part
            continue
        p = real_part_c(part.xreplace({key: Z[0]}))
        lo_k, hi_k = _poly_range(p, C)
        low, high = low + lo_k, high + hi_k
    enclosure = not (low.is_Rational and high.is_Rational)
    lo, hi = (low, high) if not enclosure else _rational_enclosure(low, high)
    return ScalarSymbol(lead, s1, low, high, X, X, lo, hi, enclosure)


def _poly_range(p: sympy.Expr, var: sympy.Symbol) -> tuple[sympy.Expr, sympy.Expr]:
    """Exact min and max of a polynomial on [−1, 1] (ends and critical points)."""
    poly = _poly(p, var)
    candidates = [sympy.Integer(-1), sympy.Integer(1)]
    if poly.degree() >= 2:
        candidates += [r for r in sympy.real_roots(poly.diff(var)) if -1 < r < 1]
    values = [sympy.simplify(poly.as_expr().subs(var, t)) for t in candidates]
    return min(values, key=lambda v: float(v)), max(values, key=lambda v: float(v))


def _rational_enclosure(low: sympy.Expr, high: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    lo = sympy.Rational(sympy.floor(sympy.N(low, 30) * 10**12), 10**12)
    hi = sympy.Rational(sympy.ceiling(sympy.N(high, 30) * 10**12), 10**12)
    return lo, hi


# ---------------------------------------------------------------------------------------
# Power-boundedness of G


@dataclass
class Decision:
    stable: bool | None  # None: undecided
    reason: str
    mu: sympy.Expr = field(default_factory=lambda: sympy.Integer(0))
    details: dict[str, object] = field(default_factory=dict)


def growth_allowance(system: LinearSystem) -> sympy.Expr:
    """μ = max(0, max Re λ(R)): the growth rate of the PDE's zeroth-order terms."""
    if system.reaction.is_zero_matrix:
        return sympy.Integer(0)
    eigen = system.reaction.eigenvals()
    top = max((sympy.re(v) for v in eigen), key=lambda v: float(v))
    return sympy.Max(0, top)  # exact: nsimplify would round 0.8333333333333334 to 5/6


def decide(
    system: LinearSystem, step: Callable[[sympy.Matrix], sympy.Matrix], tau: sympy.Expr
) -> Decision:
    """Whether G = step(A) is power-bounded for every θ, with |λ| ≤ 1 + τμ allowed."""
    mu = growth_allowance(system)
    if not mu.is_Rational:
        return Decision(None, f"the growth rate μ = {sympy.sstr(mu)} is not rational", mu)
    r = 1 + tau * mu
    try:
        if system.stencil_at().is_zero_matrix:
            return _decide_constant(system, step, r, mu)
        sym = scalar_symbol(system)
        if sym is not None:
            return _decide_scalar_symbol(system, sym, step, r, mu)
        if system.n == 1 and system.dims == 1:
            return _decide_complex_1d(system, step, r, mu)
    except Undecided as err:
        return Decision(None, str(err), mu)
    if system.dims > 1:
        why = "the symbol is not a real, separable function of one variable in d > 1"
    else:
        why = "a coupled system with a complex symbol"
    return Decision(None, f"no exact method for this case ({why})", mu)


def _decide_constant(system, step, r, mu) -> Decision:
    g = step(system.reaction).applyfunc(sympy.nsimplify)
    return _decide_matrix_in(g, None, sympy.Integer(0), sympy.Integer(0), r, mu, None)


def _decide_scalar_symbol(system, sym: ScalarSymbol, step, r, mu) -> Decision:
    a = system.reaction + X * sym.s1
    g = step(a).applyfunc(sympy.expand)
    g = g.xreplace({X: sym.of}).applyfunc(sympy.expand) if sym.var is C else g
    zero = sym.of  # x(var): the stencil part vanishes where this does
    d = _decide_matrix_in(g, sym.var, sym.lo, sym.hi, r, mu, zero)
    d.details["range"] = (sym.low, sym.high)
    if sym.enclosure and d.stable is False:
        d.stable = None
        d.reason += " (on a rational enclosure of the symbol's range: not conclusive)"
    return d


def _decide_complex_1d(system, step, r, mu) -> Decision:
    (a,) = system.matrix()
    g = sympy.cancel(step(sympy.Matrix([[a]]))[0, 0])
    num, den = sympy.fraction(g)
    cond = abs2_c(num) - r**2 * abs2_c(den)
    if den.has(Z[0]) and roots_in(_poly(abs2_c(den), C), -1, 1):
        raise Undecided("the step's denominator vanishes for some θ")
    ok = nonpositive_on(cond, C, -1, 1)
    return Decision(ok, "" if ok else "|g(θ)| exceeds the allowed bound for some θ", mu)


def _decide_matrix_in(g: sympy.Matrix, var, lo, hi, r, mu, zero) -> Decision:
    """G(var) on var ∈ [lo, hi] (var None: constant G)."""
    n = g.rows
    var = var or sympy.Dummy("v")
    if n == 1:
        num, den = sympy.fraction(sympy.cancel(g[0, 0]))
        if den.has(var) and roots_in(_poly(den, var), lo, hi):
            raise Undecided("the step's denominator vanishes for some θ")
        ok = nonpositive_on(num**2 - r**2 * den**2, var, lo, hi)
        return Decision(ok, "" if ok else "|g| exceeds the allowed bound for some θ", mu)
    if n != 2:
        raise Undecided(f"the amplification matrix is {n}×{n}; only 1×1 and 2×2 are decided")
    if any(sympy.fraction(sympy.cancel(v))[1].has(var) for v in g):
        raise Undecided("a rational 2×2 amplification matrix")
    t, d = sympy.expand(g.trace()), sympy.expand(g.det())
    # Schur–Cohn (Jury) for λ² − tλ + d with real coefficients: roots in |λ| ≤ r iff
    # |d| ≤ r² and r|t| ≤ r² + d.
    conditions = {
        "det ≤ r²": d - r**2,
        "det ≥ −r²": -d - r**2,
        "r·tr ≤ r² + det": r * t - r**2 - d,
        "−r·tr ≤ r² + det": -r * t - r**2 - d,
    }
    for name, cond in conditions.items():
        if not nonpositive_on(cond, var, lo, hi):
            return Decision(False, f"an eigenvalue leaves the disk |λ| ≤ {r} ({name} fails)", mu)
    # A double eigenvalue on the circle (d = r², |t| = 2r) must not be defective, unless
    # the stencil part vanishes there (the PDE's own polynomial growth).
    pd = _poly(d - r**2, var)
    off = (g - t / 2 * sympy.eye(2)).applyfunc(sympy.expand)
    for sign in (1, -1):
        common = sympy.gcd(pd, _poly(t - sign * 2 * r, var))
        if common.degree() <= 0 and not common.is_zero:
            continue
        if common.is_zero:  # every var: G has a double eigenvalue on the circle
            bad = _poly(sum(v**2 for v in off), var)
            if bad.is_zero:
                continue
            return Decision(False, "a defective eigenvalue on the circle", mu)
        rest = common
        for entry in off:
            rest = _strip(rest, _poly(entry, var))
        if zero is not None:
            rest = _strip(rest, _poly(zero, var))
        if rest.degree() > 0 and roots_in(rest, lo, hi):
            return Decision(
                False,
                f"a double eigenvalue {'' if sign > 0 else '−'}{r} on the circle is defective "
                "(grows linearly)",
                mu,
            )
    return Decision(True, "", mu)


def _strip(p: sympy.Poly, q: sympy.Poly) -> sympy.Poly:
    """p with every common factor with q removed (q = 0: p unchanged… but see callers)."""
    if q.is_zero:
        return p.one if hasattr(p, "one") else sympy.Poly(1, *p.gens, domain=p.domain)
    while True:
        g = sympy.gcd(p, q)
        if g.degree() <= 0:
            return p
        p = sympy.quo(p, g)


# ---------------------------------------------------------------------------------------
# Closed-form bounds for the common patterns


@dataclass(frozen=True)
class Bound:
    """τ ≤ value (τ < value when strict); `closed` in the grid spacing when derivable."""

    value: sympy.Expr  # the bound at the spec's spacing (oo: every τ; 0: none)
    closed: sympy.Expr | None
    strict: bool


def _homogeneity(expr: sympy.Expr, h: sympy.Symbol | None) -> int | None:
    """p with expr(h) = h^(-p) expr(1), or None."""
    if h is None or not expr.has(h):
        return 0
    t = sympy.Symbol("t", positive=True)
    ratio = sympy.simplify(expr.subs(h, h * t) / expr)
    if ratio.free_symbols - {t}:
        return None
    p = sympy.simplify(-sympy.expand_log(sympy.log(ratio), force=True) / sympy.log(t))
    return int(p) if p.is_Integer else None


def _scaled(value: sympy.Expr, system: LinearSystem, power) -> sympy.Expr | None:
    """A bound that scales like h^power, known at the spec's spacing h₀, in the spacing
    symbol: value · (h/h₀)^power."""
    if power is None:
        return None
    if system.grid is None or power == 0:
        return value
    return sympy.simplify(value * (system.grid / system.grid_value) ** power)


def euler_bound(system: LinearSystem) -> Bound | None:
    """Forward Euler on one state: |1 + τŝ| ≤ 1 + τμ ⟺ 2(Re ŝ − μ) + τ(|ŝ|² − μ²) ≤ 0
    for every θ, linear in τ; τ* = min_θ 2(μ − Re ŝ)/(|ŝ|² − μ²)."""
    if system.n == 2:
        return _euler_never(system)
    if system.n != 1:
        return None
    mu = growth_allowance(system)
    r0 = system.reaction[0, 0]
    sym = scalar_symbol(system)
    lead = system.stencil_at()[0, 0]
    power = _homogeneity(system.stencil[0, 0], system.grid)
    if sym is not None:
        k = sym.s1[0, 0]
        low = r0 + min(k * sym.low, k * sym.high, key=float)
        high = r0 + max(k * sym.low, k * sym.high, key=float)
        if high > mu:
            return Bound(sympy.Integer(0), sympy.Integer(0), False)
        if -low - mu <= 0:
            return Bound(sympy.oo, sympy.oo, False)
        value = sympy.simplify(2 / (-low - mu))
        closed = None
        if r0 == 0 and mu == 0:
            closed = _scaled(value, system, power)
        return Bound(value, closed, False)
    if system.dims != 1:
        return None
    re = real_part_c(lead) + r0
    w = abs2_c(lead + r0)
    if not nonpositive_on(re - mu, C, -1, 1):
        return Bound(sympy.Integer(0), sympy.Integer(0), False)
    ratio = sympy.cancel(2 * (mu - re) / (w - mu**2))
    value = _min_on(ratio, C)
    closed = _scaled(value, system, power) if r0 == 0 and mu == 0 and value != 0 else None
    if value == 0:
        closed = sympy.Integer(0)
    return Bound(value, closed, False)


def _euler_never(system: LinearSystem) -> Bound | None:
    """Forward Euler on a 2×2 system: every τ > 0 is unstable when some A(θ) has an
    eigenvalue λ ≠ 0 with Re λ ≥ 0 (|1 + τλ| > 1 for all τ > 0): tr A > 0, det A < 0,
    or tr A ≡ 0 with det A > 0 somewhere (an imaginary pair, the wave system)."""
    sym = scalar_symbol(system)
    if sym is None or growth_allowance(system) != 0:
        return None
    a = (system.reaction + sym.s1 * X).xreplace({X: sym.of} if sym.var is C else {})
    t, d = sympy.expand(a.trace()), sympy.expand(a.det())
    lo, hi, var = sym.lo, sym.hi, sym.var
    never = not nonpositive_on(t, var, lo, hi) or not nonpositive_on(-d, var, lo, hi)
    if not never and t == 0:
        never = not nonpositive_on(d, var, lo, hi)
    return Bound(sympy.Integer(0), sympy.Integer(0), False) if never else None


def _min_on(ratio: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """min over [−1, 1] of a rational function (where its denominator is positive)."""
    num, den = sympy.fraction(sympy.cancel(ratio))
    if not ratio.has(var):
        return sympy.simplify(ratio)
    candidates = [sympy.Integer(-1), sympy.Integer(1)]
    deriv = sympy.numer(sympy.together(sympy.diff(num / den, var)))
    poly = _poly(deriv, var)
    if poly.degree() > 0:
        candidates += [t for t in sympy.real_roots(poly) if -1 <= t <= 1]
    values = []
    for t in candidates:
        d = den.subs(var, t)
        if d == 0:
            continue
        values.append(sympy.simplify(num.subs(var, t) / d))
    if not values:
        return sympy.oo
    return min(values, key=float)


def second_order_bound(system: LinearSystem, g_of: Callable) -> Bound | None:
    """Leapfrog / Verlet pattern: det G ≡ 1 and tr G = 2 + τ² q(x) with q linear in x;
    stable iff −4 < τ² q(x) ≤ 0 on the range (strict: a double root at −1 grows)."""
    sym = scalar_symbol(system)
    if sym is None or growth_allowance(system) != 0:
        return None
    g = g_of(system.reaction + sym.s1 * X, TAU)
    if g.rows != 2 or sympy.simplify(g.det() - 1) != 0:
        return None
    q = sympy.expand((g.trace() - 2) / TAU**2)
    if q.has(TAU) or sympy.degree(q, X) > 1:
        return None
    q_low = min(q.subs(X, sym.low), q.subs(X, sym.high), key=float)
    q_high = max(q.subs(X, sym.low), q.subs(X, sym.high), key=float)
    if q_high > 0:
        return Bound(sympy.Integer(0), sympy.Integer(0), True)
    if q_low == 0:
        return Bound(sympy.oo, sympy.oo, True)
    value = sympy.simplify(2 / sympy.sqrt(-q_low))
    power = _homogeneity(system.stencil[_first_nonzero(system)], system.grid)
    closed = _scaled(value, system, None if power is None else sympy.Rational(power, 2))
    return Bound(value, closed, True)


def _first_nonzero(system: LinearSystem) -> tuple[int, int]:
    for i, j in itertools.product(range(system.n), repeat=2):
        if system.stencil[i, j] != 0:
            return i, j
    return 0, 0


def symbol_text(expr: sympy.Expr, dims: int) -> str:
    """A Laurent symbol written with cos and sin of θ₁, θ₂, … (θ in 1D)."""
    names = ("θ",) if dims == 1 else ("θ1", "θ2", "θ3")
    thetas = [sympy.Symbol(n, real=True) for n in names[:dims]]
    sub = {z: sympy.exp(sympy.I * t) for z, t in zip(Z, thetas, strict=False)}
    out = sympy.expand_complex(sympy.expand(expr.xreplace(sub))).rewrite(sympy.cos)
    out = sympy.collect(sympy.expand(out), sympy.I)
    return sympy.sstr(out).replace("**", "^")


def scalar_range(system: LinearSystem) -> tuple[sympy.Expr, sympy.Expr] | None:
    """Exact min and max of a real scalar symbol ŝ(θ) (one state), or None."""
    if system.n != 1:
        return None
    sym = scalar_symbol(system)
    if sym is None:
        return (system.reaction[0, 0],) * 2 if system.stencil_at().is_zero_matrix else None
    k, r0 = sym.s1[0, 0], system.reaction[0, 0]
    ends = [r0 + k * sym.low, r0 + k * sym.high]
    return min(ends, key=float), max(ends, key=float)


def diagonal(system: LinearSystem) -> sympy.Expr:
    """The z⁰ coefficient of a scalar symbol: the stencil's weight on the point itself."""
    terms = sympy.Add.make_args(sympy.expand(system.stencil_at()[0, 0]))
    return system.reaction[0, 0] + sum((t for t in terms if not t.has(*system.zs)), 0)
