"""IMEX (implicit–explicit) Euler, as IMEXnet (Haber, Lensink, Treister, Ruthotto 2019)
steps: u⁺ = (I − τL)⁻¹ (u + τ N(u)).

The right-hand side is split term by term, automatically: a term that applies fixed
stencils to the state linearly, with constant coefficients and a real symbol (a
symmetric stencil: lap u, dx' dx u, kappa * lap u) is implicit, part of L; every other
term (reactions, learned layers, advection's non-symmetric differences) is explicit, part
of N. L must be symmetric negative semi-definite on the grid the code runs on: then
‖(I − τL)⁻¹‖₂ = 1/(1 − τ λ_max(L)) ≤ 1 for every τ. The solve is exact by FFT on a
periodic grid (the real DFT as matrix products, `periodic_solve`), else conjugate
gradients from zero, whose iterates never outgrow the exact solution (Steihaug 1983), so
the computed step inherits the bound whatever `iterations` is.

Stability: with N = r u (a linear reaction, or nothing) each Fourier mode is multiplied
by g(θ) = (1 + τr)/(1 − τ l(θ)), decided exactly (von Neumann); otherwise the step is
stable in whatever sense the explicit map u ↦ u + τN(u) is (a pointwise reaction with
f′ ∈ [m, M]: Lipschitz constant max(|1 + τm|, 1 + τM); anything else: forward Euler's own
checks of N), since the implicit solve only shrinks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy

from pde2net.analysis import amplification as amp
from pde2net.analysis.functions import slopes
from pde2net.analysis.report import Check, Number, StepBound
from pde2net.ir import APPLICATIONS, Block, Conv, ConvT, Equation, Function, Stencil, StencilT
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import ENFORCE, SHARED, LinearSolveScheme, step_index, steps_arg, value
from pde2net.schemes.common import cg_from_zero, num
from pde2net.schemes.conditions import linear_check
from pde2net.schemes.euler import Euler, stepped_by_euler
from pde2net.schemes.semilinear import SEMILINEAR, _beyond, _expand_acts

SOLVERS = ("auto", "fft", "cg")
SHRINKS = {
    "fft": "The solve is exact: (I − τL) is diagonal in Fourier space on the periodic "
    "grid, and the generated code divides each mode of the real DFT (matrix products with "
    "cos/sin matrices) by 1 − τ l(θ) ≥ 1.",
    "cg": "The solve is n conjugate-gradient iterations from zero on the symmetric "
    "positive definite I − τL; their norms grow monotonically towards the solution's "
    "(Steihaug 1983), so the computed solve is no larger than the exact one.",
}


@dataclass(frozen=True)
class Split:
    """dt(u) = L u + N(u): the implicit linear part, the explicit rest, the symbol of L's
    stencil terms and its exact range [low, high] (high ≤ 0), and `top` ≥ λ_max of the
    operator the code applies (high on a periodic grid; on others the single stencils' own
    maximum, as the Gram terms' finite sections need not reach their symbol's maximum).
    `grams` are L's learned Gram terms -c D' D u as (c > 0, D): symmetric ⪯ 0 for every
    value of D, so they lower no bound; `system` is None when L has no stencil term."""

    eq: Equation
    implicit: sympy.Expr
    explicit: sympy.Expr
    system: amp.LinearSystem | None
    low: sympy.Expr
    high: sympy.Expr
    boundary: str
    top: sympy.Expr
    grams: tuple[tuple[sympy.Expr, str], ...] = ()

    def text(self, expr: sympy.Expr) -> str:
        return written(expr)


def written(expr: sympy.Expr) -> str:
    """An IR expression as the spec writes it: lap u, D' (D u), K' relu(K u)."""
    if expr == 0:
        return "0"

    def name(app: sympy.Expr) -> sympy.Symbol:
        inner = written(app.operand)
        inner = f"({inner})" if not isinstance(app.operand, sympy.Symbol) else inner
        if isinstance(app, StencilT | ConvT):
            return sympy.Symbol(f"{app.op}' {inner}")
        if isinstance(app, Stencil | Conv):
            return sympy.Symbol(f"{app.op} {inner}")
        return sympy.Symbol(f"{app.op}{inner if inner.startswith('(') else f'({inner})'}")

    apps = list(expr.atoms(*APPLICATIONS))
    top = [a for a in apps if not any(a != b and b.has(a) for b in apps)]
    return sympy.sstr(expr.xreplace({a: name(a) for a in top})).replace("**", "^")


def _term_system(block: Block, eq: Equation, term: sympy.Expr) -> amp.LinearSystem | None:
    return amp.linear_system(block.pde, [dataclasses.replace(eq, rhs=term)])


def _is_implicit(block: Block, eq: Equation, term: sympy.Expr) -> bool:
    """A linear stencil term with constant coefficients and a real symbol."""
    if not term.has(Stencil):
        return False
    system = _term_system(block, eq, term)
    if system is None or system.stencil_at().is_zero_matrix or system.linearised:
        return False
    if system.learned:
        raise SpecError(
            f"imex: the stencil term {written(term)} has the learned coefficient "
            f"{', '.join(system.learned)}; the implicit part needs constant coefficients "
            "(drop ': learn', or step the block with an explicit scheme)",
            block.scheme.loc,
        )
    return amp.is_real_valued(system.stencil_at()[0, 0], system.zs)


def _gram(block: Block, eq: Equation, term: sympy.Expr) -> tuple[sympy.Expr, str] | None:
    """(c, D) when the term is -c D' D u with a learned weight D (no bias) and a constant
    c > 0: symmetric negative semi-definite for every D, as D' is D's exact adjoint in the
    generated code (a transposed convolution with the same weight, zero padding; on a
    periodic grid the FFT solve uses the circulant D)."""
    apps = [f for f in sympy.Mul.make_args(term) if isinstance(f, ConvT)]
    if len(apps) != 1:
        return None
    (app,) = apps
    inner, state = app.operand, sympy.Symbol(eq.state)
    if not (isinstance(inner, Conv) and inner.op == app.op and inner.operand == state):
        return None
    weight = block.pde.weights.get(str(app.op))
    if weight is None or weight.bias:
        return None
    coeff = _constants(block, sympy.Mul(*[f for f in sympy.Mul.make_args(term) if f != app]))
    learned = [str(p) for p in coeff.free_symbols if str(p) in block.pde.params]
    if learned:
        raise SpecError(
            f"imex: the term {written(term)} has the learned coefficient "
            f"{', '.join(sorted(learned))}; scale the weight instead (a learned D already "
            "learns its size)",
            block.scheme.loc,
        )
    if not coeff.is_number or not coeff < 0:
        return None
    return -coeff, weight.name


def _placed(block: Block, explicit: sympy.Expr) -> None:
    """A depthwise weight may only be an implicit Gram term's D (its norm is never
    checked, and the explicit checks assume full kernels)."""
    for w in block.pde.weights.values():
        if w.depthwise and explicit.has(sympy.Symbol(w.name)):
            raise SpecError(
                f"imex: the depthwise weight '{w.name}' may only appear as an implicit "
                f"term -c {w.name}' {w.name} u (c > 0 constant)",
                w.loc,
            )


def split(block: Block) -> Split:
    """The IMEX split of the block's one equation; a located error when L is empty or not
    provably symmetric negative semi-definite on the block's grid."""
    pde, loc = block.pde, block.scheme.loc
    if len(pde.equations) != 1:
        raise SpecError("imex steps one state: dt(u) = L u + N(u)", loc)
    (eq,) = pde.equations
    stencil, learned, explicit = sympy.Integer(0), sympy.Integer(0), sympy.Integer(0)
    grams: list[tuple[sympy.Expr, str]] = []
    for term in sympy.Add.make_args(sympy.expand(eq.rhs)):
        gram = _gram(block, eq, term)
        if gram is not None:
            grams.append(gram)
            learned += term
        elif _is_implicit(block, eq, term):
            stencil += term
        else:
            explicit += term
    _placed(block, explicit)
    if stencil == 0 and not grams:
        raise SpecError(
            f"imex needs an implicit part, but dt({eq.state}) = {eq.text} has no term that "
            "applies a symmetric stencil linearly with a constant coefficient (lap u, "
            "dx' dx u, kappa * lap u) or a learned -c D' D u; other learned layers and "
            "reactions are explicit",
            loc,
        )
    grid = pde.grid.boundary if pde.grid is not None else "zero"
    if stencil == 0:  # learned Gram terms only: zero padding, or the circulant D
        bc = "periodic" if grid == "periodic" else "zero"
        zero = sympy.Integer(0)
        return Split(eq, learned, explicit, None, zero, zero, bc, zero, tuple(grams))
    implicit = stencil
    system = _term_system(block, eq, implicit)
    assert system is not None  # a sum of linear stencil terms is linear
    ends = amp.scalar_range(system)
    shown = written(implicit)
    if ends is None:
        raise SpecError(
            f"imex: the implicit part L u = {shown} has no exact symbol range here (a "
            "non-separable stencil in more than one dimension), so L ⪯ 0 is not decided",
            loc,
        )
    low, high = ends
    if high > 0:
        raise SpecError(
            f"imex: the implicit part L u = {shown} is not negative semi-definite: its "
            f"symbol reaches {num(high)} > 0, so I − τL is not an SPD system and "
            "(I − τL)⁻¹ can amplify; only dissipative stencil terms can be implicit",
            loc,
        )
    boundaries = {pde.stencils[a.op].boundary for a in implicit.atoms(Stencil)}
    if len(boundaries) != 1:
        raise SpecError("imex: the implicit stencils have different boundary rules", loc)
    (boundary,) = boundaries
    top = high
    if boundary != "periodic":
        top = _symmetric_on_boundary(block, eq, implicit, boundary)
    if grams and (boundary == "periodic") != (grid == "periodic"):
        raise SpecError(
            f"imex: the implicit stencils have {boundary} boundaries but the learned "
            f"convolutions {'zero-pad' if boundary == 'periodic' else 'are periodic'}",
            loc,
        )
    return Split(eq, implicit + learned, explicit, system, low, high, boundary, top, tuple(grams))


def _symmetric_on_boundary(block: Block, eq: Equation, implicit: sympy.Expr, bc: str) -> sympy.Expr:
    """On a zero or Neumann boundary the operator the code applies is not the circulant
    of the symbol; it is symmetric ⪯ 0 when L is a sum of (a) single stencils whose sum
    has a real symbol ≤ 0 (zero: a principal section of the Toeplitz operator; Neumann:
    only weights on the point and its axis neighbours, where the replicated ghost cell
    gives the Kronecker sum of (b + 2a)I − aΛ, Λ the path graph's Laplacian, with spectrum
    inside the symbol's range) and (b) Gram terms −c S'S u, c ≥ 0 (S' is S's exact
    transpose, boundary included). Returns an upper bound of λ_max(L) there: the single
    stencils' symbol maximum (0 without them)."""
    state = sympy.Symbol(eq.state)
    single, gram_ok, top = sympy.Integer(0), True, sympy.Integer(0)
    for term in sympy.Add.make_args(implicit):
        (app,) = [f for f in sympy.Mul.make_args(term) if f.has(Stencil)] or [None]
        if type(app) is Stencil and app.operand == state:
            single += term
            continue
        inner = app.operand if type(app) is StencilT else None
        if type(inner) is Stencil and inner.op == app.op and inner.operand == state:
            ends = amp.scalar_range(_term_system(block, eq, term))
            gram_ok = gram_ok and ends is not None and ends[1] <= 0
            continue
        gram_ok = False
    reason = ""
    if not gram_ok:
        reason = "a term is neither a stencil of u nor a Gram term -c S'S u with c ≥ 0"
    elif single != 0:
        system = _term_system(block, eq, single)
        ends = amp.scalar_range(system) if system is not None else None
        top = ends[1] if ends is not None else top
        if ends is None or ends[1] > 0:
            reason = f"the single-stencil part {written(single)} has a symbol that is not ≤ 0"
        elif bc == "neumann" and not _nearest_neighbour(system):
            reason = (
                f"{written(single)} reaches beyond the nearest neighbours, where the "
                "replicated ghost cells make the operator non-symmetric"
            )
    if reason:
        raise SpecError(
            f"imex: on the {bc} boundary L u = {written(implicit)} is not provably "
            f"symmetric negative semi-definite ({reason}); use a periodic grid, or write "
            "L as -D' D u",
            block.scheme.loc,
        )
    return top


def _nearest_neighbour(system: amp.LinearSystem) -> bool:
    """Every monomial of the symbol is 1 or z_k^(±1)."""
    for term in sympy.Add.make_args(sympy.expand(system.stencil_at()[0, 0])):
        powers = term.as_powers_dict()
        if sum(abs(int(powers.get(z, 0))) for z in system.zs) > 1:
            return False
    return True


def _constants(block: Block, expr: sympy.Expr) -> sympy.Expr:
    """expr with every parameter that is not learned replaced by its exact value."""
    fixed = {p.name: amp.exact(p.value) for p in block.pde.params.values() if not p.learn}
    return expr.xreplace({s: fixed[s.name] for s in expr.free_symbols if s.name in fixed})


def taps(system: amp.LinearSystem) -> tuple[list[list[float]], list[float]]:
    """L's symbol as offsets k and weights w with l(θ) = Σ w cos(k·θ) (the symbol is
    real, so the weights are symmetric and the sines cancel)."""
    collected: dict[tuple[int, ...], sympy.Expr] = {}
    for term in sympy.Add.make_args(sympy.expand(system.stencil_at()[0, 0])):
        powers = term.as_powers_dict()
        offset = tuple(int(powers.get(z, 0)) for z in system.zs)
        coeff = term.subs({z: 1 for z in system.zs})
        collected[offset] = collected.get(offset, 0) + coeff
    items = [(k, w) for k, w in sorted(collected.items()) if w != 0]
    return [[float(o) for o in k] for k, _ in items], [float(w) for _, w in items]


@register
class Imex(LinearSolveScheme):
    name = "imex"
    title = "IMEX Euler"
    depthwise_weights = True
    arguments = (
        ArgSpec("tau", "positive", help="the time step", aliases=("h",)),
        ArgSpec("solver", "choice", "auto", choices=SOLVERS),
        ArgSpec("iterations", "posint", 20, help="conjugate-gradient iterations per step"),
        steps_arg(help="time steps"),
        SHARED,
        ENFORCE,
    )

    def validate(self, block: Block) -> None:
        super().validate(block)
        s = split(block)
        chosen = block.scheme.args["solver"]
        if chosen == "fft" and s.boundary != "periodic":
            raise SpecError(
                f"imex(solver = fft) needs a periodic grid (grid h : periodic), but the "
                f"implicit stencils have {s.boundary} boundaries; use solver = cg",
                block.scheme.loc,
            )
        if chosen == "fft" and block.pde.dims not in (1, 2):
            raise SpecError("imex(solver = fft) solves 1D and 2D grids", block.scheme.loc)
        if s.grams and s.boundary == "periodic":
            full = [d for _, d in s.grams if not block.pde.weights[d].depthwise]
            why = ""
            if full:
                why = (
                    f"'{full[0]}' is not depthwise (its symbol couples the channels; "
                    "declare it conv(..., depthwise = true))"
                )
            elif chosen == "cg" or block.pde.dims not in (1, 2):
                why = "only the exact FFT solve (1D and 2D) applies the circulant D"
            if why:
                raise SpecError(
                    f"imex: on a periodic grid the learned implicit part is solved exactly "
                    f"by FFT, but {why}; or drop 'grid : periodic' to solve the "
                    "zero-padded D' D by conjugate gradients",
                    block.scheme.loc,
                )

    def solver(self, block: Block, s: Split) -> str:
        chosen = block.scheme.args["solver"]
        if chosen != "auto":
            return chosen
        return "fft" if s.boundary == "periodic" and block.pde.dims in (1, 2) else "cg"

    def checks(self, block: Block) -> list[Check]:
        s = split(block)
        tau = block.scheme.number("tau")
        solver = self.solver(block, s)
        symbol = f"symbol in [{num(s.low)}, {num(s.high)}] ⊂ (−∞, 0]"
        learned = ""
        if s.grams:
            names = ", ".join(d for _, d in s.grams)
            symbol = "−c D' D ⪯ 0 for every value of the learned " + names
            if s.system is not None:
                symbol = f"stencil symbol in [{num(s.low)}, {num(s.high)}], {symbol}"
            padded = "circulant" if s.boundary == "periodic" else "zero-padded"
            learned = (
                f" The learned terms −c D' D (c > 0) are symmetric negative semi-definite "
                f"for every D, with no condition on its weights: D' is the exact adjoint of "
                f"the {padded} D the step uses, and ⟨v, −D'Dv⟩ = −‖Dv‖² ≤ 0."
            )
        implicit = Check(
            name="implicit part",
            formula="L symmetric ⪯ 0 ⟹ ‖(I − τL)⁻¹‖₂ = 1/(1 − τ λ_max(L)) ≤ 1",
            condition=f"L u = {s.text(s.implicit)}: {symbol} ({s.boundary} boundary)",
            status="proven",
            reason=f"L is symmetric negative semi-definite on the {s.boundary} grid, so the "
            f"implicit solve is non-expansive for every τ.{learned} {SHRINKS[solver]}",
        )
        return [implicit, *self._explicit(block, s, tau)]

    def _explicit(self, block: Block, s: Split, tau: sympy.Expr) -> list[Check]:
        whole = amp.linear_system(block.pde)
        same = (
            whole is not None
            and s.system is not None
            and (
                (whole.stencil_at() - s.system.stencil_at()).applyfunc(sympy.expand).is_zero_matrix
            )
        )
        if same and s.top == s.high:  # N = r u, and the symbol's maximum is the grid's
            return [self._von_neumann(block, s, whole, tau)]
        state = sympy.Symbol(s.eq.state)
        reaction = _expand_acts(block.pde, _constants(block, s.explicit))
        if reaction is not None and reaction.free_symbols <= {state}:
            return [self._reaction(block, s, reaction, tau)]
        return self._composed(block, s, tau)

    def _von_neumann(self, block, s: Split, whole: amp.LinearSystem, tau) -> Check:
        """N = r u: g(θ) = (1 + τr)/(1 − τ l(θ)), as a function of a = l + r."""
        r = whole.reaction
        eye = sympy.eye(r.rows)

        def step(a: sympy.Matrix) -> sympy.Matrix:
            return (eye - tau * (a - r)).inv() * (eye + tau * r)

        r0 = r[0, 0]
        bound = amp.Bound(sympy.oo, sympy.oo, False)
        if r0 < s.high:  # |1 + τr| ≤ 1 − τ l_max ⟺ τ (l_max − r) ≤ 2
            limit = 2 / (s.high - r0)
            bound = amp.Bound(limit, limit, False)
        return linear_check(
            block,
            whole,
            step,
            tau,
            rule=f"G(θ) = (1 + τr)/(1 − τ l(θ)), r = {num(r0)}, L implicit",
            bound=bound,
        )

    def _reaction(self, block, s: Split, reaction: sympy.Expr, tau) -> Check:
        """N = f(u) pointwise: ‖δ⁺‖₂ ≤ ‖(I − τL)⁻¹‖₂ max_i |1 + τ f′(ξ_i)| ‖δ‖₂."""
        x = sympy.Dummy("s", real=True)
        fn = Function("f", x, reaction.subs(sympy.Symbol(s.eq.state), x))
        got = slopes(fn)
        name = f"dt({s.eq.state}): explicit reaction"
        formula = "q = max(|1 + τm|, 1 + τM), f′ ∈ [m, M]; ‖(I − τL)⁻¹‖₂ ≤ 1"
        shown = f"N(u) = {written(reaction)}"
        base = {"name": name, "formula": formula, "notion": SEMILINEAR}
        if not got.sound:
            return Check(
                **base,
                condition=f"{shown}: the range of f′ is only sampled",
                status="unverified",
                reason="f′ could not be bounded exactly or rigorously; a sample proves nothing.",
            )
        low, high = got.low, got.high
        if high == sympy.oo:
            return Check(
                **base,
                condition=f"{shown}: sup f′ = ∞",
                status="violated",
                reason="f′ is unbounded above: u′ = f(u) itself blows up from large data.",
            )
        if low == -sympy.oo:
            return Check(
                **base,
                condition=f"{shown}: inf f′ = −∞",
                status="unverified",
                reason="f′ is unbounded below, so the explicit part u + τ f(u) overshoots for "
                "large amplitudes at every τ > 0; the implicit solve does not damp constant "
                "data, so stability holds at most on bounded data, which the spec does not "
                f"declare. The flow's one-sided Lipschitz constant is sup f′ = {num(high)}.",
                values={"sup_slope": Number.exact(high)},
            )
        kind = "exact" if got.exact else "bound"
        mu = sympy.Max(0, high)
        room = -low - mu  # 1 + τm ≥ −(1 + τμ)
        closed = None if room <= 0 else 2 / room
        ok = closed is None or bool(tau <= closed)
        growth = (
            f"grows by at most 1 + τM = {num(1 + tau * high)} per step, the reaction's own "
            "rate (Lax–Richtmyer)"
            if high > 0
            else "is non-expansive"
        )
        bound_text = "every τ" if closed is None else f"τ ≤ {num(closed)}"
        return Check(
            **base,
            condition=f"{shown}, f′ ∈ [{num(low)}, {num(high)}]: {bound_text}; τ = {num(tau)}",
            # past the bound a learned D may damp the growing mode (or, D = 0, not)
            status="proven" if ok else "unverified" if s.grams else _beyond(fn, low, s.top),
            reason=f"The difference of two solutions obeys δ⁺ = (I − τL)⁻¹ (I + τD) δ with "
            f"D = diag(f′(ξ)), f′(ξ) ∈ [{num(low)}, {num(high)}], and ‖(I − τL)⁻¹‖₂ ≤ 1: the "
            f"step {growth} for {bound_text}; τ = {num(tau)} is "
            f"{'within' if ok else 'beyond'} it."
            + (
                ""
                if ok
                else " Beyond it the condition is only sufficient unless the slope m "
                "is taken at a steady state that L does not damp."
            ),
            margin=None if closed is None else float(closed / tau),
            values={
                "inf_slope": Number(float(low), kind),
                "sup_slope": Number(float(high), kind),
                "tau": Number.exact(tau),
            },
            step=None
            if closed is None
            else StepBound(Number.exact(tau), Number(float(closed), kind), False, num(closed)),
        )

    def _composed(self, block, s: Split, tau) -> list[Check]:
        """Anything else: forward Euler's checks of u ↦ u + τN(u), each carried over and
        composed with the non-expansive solve."""
        eq = dataclasses.replace(s.eq, rhs=s.explicit, text=s.text(s.explicit))
        pde = dataclasses.replace(block.pde, equations=[eq])
        checks = Euler().checks(stepped_by_euler(dataclasses.replace(block, pde=pde), tau))
        composed = " Composed with ‖(I − τL)⁻¹‖₂ ≤ 1, the IMEX step is at least as stable."
        damped = (
            " The explicit part alone is not stable here, but the implicit solve may damp "
            "it, so nothing is proven either way."
        )
        return [
            dataclasses.replace(
                c,
                name=f"explicit part N(u) = {s.text(s.explicit)}: {c.name}",
                status="unverified" if c.status == "violated" else c.status,
                reason=c.reason + (damped if c.status == "violated" else composed),
            )
            for c in checks
        ]

    def update(self, block: Block) -> up.Update:
        """b = u + τ N(u); u ← (I − τL)⁻¹ b, by FFT or CG from zero."""
        s = split(block)
        (name,) = block.pde.states
        state = sympy.Symbol(name)
        u, j, v, b = up.State(name), up.Local("j"), up.Local("v"), up.Local("b")
        index, tau = step_index(block, j), up.Number("tau")
        numbers: dict = {"tau": value(block.scheme.number("tau")), "steps": block.steps}
        pieces: list[up.Piece] = []
        rhs: up.Expr = u
        if s.explicit != 0:
            explicit = up.Piece(
                "explicit",
                (u, up.Local("j")),
                "N(u): the explicit terms of the right-hand side.",
                (up.Return(up.Math(s.explicit)),),
            )
            pieces.append(explicit)
            rhs = u + tau * up.Call(explicit, (u, index))
        buffers = {}
        if self.solver(block, s) == "fft":
            offsets, weights = taps(s.system) if s.system else ([[0.0] * block.pde.dims], [0.0])
            buffers = {
                "offsets": (offsets, (len(offsets), block.pde.dims)),
                "weights": (weights, (len(weights),)),
            }
            args: tuple[up.Expr, ...] = (b, up.Buffer("offsets"), up.Buffer("weights"), tau)
            solve: up.Expr = up.Call("periodic_solve", args)
            if s.grams:  # the learned kernels of step j: a piece, which binds them
                grams = tuple(
                    x for c, d in s.grams for x in (up.Num(value(c)), up.Math(sympy.Symbol(d)))
                )
                g = up.Local("g")
                learned = up.Piece(
                    "solve",
                    (g, up.Local("j")),
                    "(I − τL)⁻¹ g, exactly: L's symbol with the learned |D̂(θ)|² per channel.",
                    (up.Return(up.Call("periodic_solve", (g, *args[1:], *grams))),),
                )
                pieces.append(learned)
                solve = up.Call(learned, (b, index))
            helpers = ("fourier",)
        else:
            implicit = up.Piece(
                "implicit",
                (v, up.Local("j")),
                "L v: the implicit (linear, symmetric, dissipative) terms.",
                (up.Return(up.Math(s.implicit.subs(state, v.symbol))),),
            )
            pieces.append(implicit)
            apply = up.Lambda((v,), tau * up.Call(implicit, (v, index)))
            solve = cg_from_zero(apply, b, up.Number("iterations"))
            numbers["iterations"] = int(block.scheme.args["iterations"])
            helpers = ("solvers",)
        body = (up.Assign((b,), (rhs,)), up.Assign((u,), (solve,)))
        return up.Update(
            numbers=numbers,
            body=(up.Loop(body, count=up.Number("steps"), index=j),),
            pieces=tuple(pieces),
            buffers=buffers,
            helpers=helpers,
        )
