"""Semi-implicit diffusion as a recurrent network (Alt et al. 2023).

Each time step solves (I + τ c K' G K) u^(k+1) = u^k with the lagged diffusivity
G = Φ(K u^k) / (K u^k), by a fixed number of fixed-point, Jacobi or conjugate-gradient
iterations. The iterations share their weights, and u^k enters every one of them.
"""

from __future__ import annotations

import sympy

from pde2net.analysis import amplification as amp
from pde2net.analysis.forms import SymmetricLayer, symmetric
from pde2net.analysis.functions import flux_ratio
from pde2net.analysis.report import Check, NormCondition, Number
from pde2net.analysis.vonneumann import operator_norm_squared
from pde2net.ir import Act, Block, Conv, SquaredT, Stencil, StencilSquaredT
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError
from pde2net.plan import LOOP_MIN
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import LinearSolveScheme, step_index, steps_arg, value
from pde2net.schemes.common import cg_from_zero, num
from pde2net.schemes.conditions import EUCLIDEAN, _flux_check, formula

SOLVERS = ("fixed_point", "jacobi", "cg")


def form_of(block: Block) -> SymmetricLayer:
    (eq,) = block.pde.equations
    form = symmetric(block.pde, eq)
    if form is None or form.sign > 0:
        raise SpecError(
            f"implicit needs a diffusion equation dt(u) = -K' phi(K u) (K learned or a "
            f"stencil), but {block.pde.name} has dt({eq.state}) = {eq.text}",
            block.scheme.loc,
        )
    return form


def frozen_operator(
    block: Block, v: sympy.Symbol, g: sympy.Symbol
) -> tuple[sympy.Expr, sympy.Expr, sympy.Expr]:
    """(F(v) with the diffusivity frozen at g, the argument s = K u of Φ, the diagonal of
    -F as c (K∘K)' g)."""
    (eq,) = block.pde.equations
    form = form_of(block)
    state = sympy.Symbol(form.operand)
    act = next(iter(eq.rhs.atoms(Act)), None)
    inner = act.operand if act is not None else None
    lin = eq.rhs.subs(act, g * inner) if act is not None else eq.rhs
    lin = lin.subs(state, v)
    conv = next(a for a in eq.rhs.atoms(Conv, Stencil) if type(a) in (Conv, Stencil))
    if isinstance(conv, Stencil):
        diag = StencilSquaredT(sympy.Symbol(conv.op), g, conv.groups)
    else:
        diag = SquaredT(sympy.Symbol(conv.op), g)
    return lin, (inner if inner is not None else conv), form.coefficient * diag


@register
class Implicit(LinearSolveScheme):
    name = "implicit"
    title = "semi-implicit (recurrent)"
    arguments = (
        ArgSpec("tau", "positive", help="the time step; any size is stable"),
        ArgSpec("solver", "choice", "cg", choices=SOLVERS),
        ArgSpec("iterations", "posint", 10, help="solver iterations per time step"),
        steps_arg(help="time steps"),
        ArgSpec("shared", "bool", True, help="one set of weights for all time steps"),
    )

    def looped_counts(self, block: Block) -> tuple[str, ...]:
        """The solver's iterations: an ONNX Loop from LOOP_MIN on."""
        return ("iterations",) if int(block.scheme.args["iterations"]) >= LOOP_MIN else ()

    def validate(self, block: Block) -> None:
        super().validate(block)
        if len(block.pde.equations) != 1:
            raise SpecError("implicit steps a single state", block.scheme.loc)
        form_of(block)

    def checks(self, block: Block) -> list[Check]:
        form = form_of(block)
        flux = _flux_check(form, "semi-implicit step: flux", block.pde.params)
        if flux.status != "proven":  # G ≥ 0 is not proven (or refuted): nothing follows
            return [flux]
        ratio = flux_ratio(form.function, block.pde.params)  # exact or a rigorous bound
        tau = block.scheme.number("tau")
        c, lip = form.coefficient, ratio.high
        spd = ratio.low >= 0
        step = Check(
            name="semi-implicit step",
            formula="(I + τ c K' G K) u⁺ = u, G = Φ(K u)/(K u) ≥ 0",
            condition=f"G ∈ [{num(ratio.low)}, {num(lip)}]",
            status="proven" if spd else "violated",
            reason=(
                "With G ≥ 0 the system matrix is symmetric with eigenvalues ≥ 1, so "
                "‖u⁺‖₂ ≤ ‖u‖₂ for every τ: unconditionally stable."
                if spd
                else "Φ(s)/s takes negative values, so the system matrix can be indefinite."
            ),
            notion=EUCLIDEAN,
        )
        return [step, self._solver(block, form, tau, c * lip)]

    def _solver(self, block: Block, form: SymmetricLayer, tau, cl) -> Check:
        solver = block.scheme.args["solver"]
        k = form.weight
        if solver == "cg":
            return Check(
                name="solver: conjugate gradients",
                formula="A symmetric positive definite",
                condition=f"{block.scheme.args['iterations']} iterations from zero",
                status="proven",
                reason="CG converges for any symmetric positive definite A, and the iterates "
                "from zero grow monotonically in norm towards the solution (Steihaug 1983, "
                "Thm. 2.1): after any number of iterations ‖u⁺‖₂ ≤ ‖A⁻¹u‖₂ ≤ ‖u‖₂, so the "
                "computed step, not only the exact one, is non-expansive.",
            )
        if solver == "jacobi":
            system = amp.linear_system(block.pde)
            if system is not None:
                return jacobi_check(block, system, tau, sympy.Integer(1), (0,), "solver: Jacobi")
            if form.stencil and _first_difference(block, k):
                return Check(
                    name="solver: Jacobi",
                    formula="2 diag(A) − A positive definite",
                    condition="A = I + τ D' G D with D a first difference",
                    status="proven",
                    reason="D' G D is a weighted graph Laplacian, so 2 diag(A) − A = I + τ "
                    "(signless Laplacian) is positive definite: Jacobi converges for every τ.",
                )
            return Check(
                name="solver: Jacobi",
                formula="2 diag(A) − A positive definite",
                condition="depends on the learned K",
                status="conditional",
                reason="Jacobi converges when 2 diag(A) − A is positive definite; with a learned "
                "K this is not known in advance.",
            )
        # fixed point: v ← u + τ F(v) contracts when τ c L ‖K‖₂² < 1
        rule = "τ · c · L · ‖K‖₂² < 1"
        if form.stencil:
            norm2 = operator_norm_squared(block.pde.stencils[k])
            closed = sympy.simplify(1 / (cl * norm2))
            subs = {block.pde.grid.symbol: block.pde.grid.value} if block.pde.grid else {}
            bound = sympy.simplify(closed.subs(subs))
            ok = bool(tau < bound)
            return Check(
                name="solver: fixed point",
                formula=rule,
                condition=f"τ < {formula(closed)} = {num(bound)}; τ = {num(tau)}",
                status="proven" if ok else "violated",
                reason=f"The fixed-point map contracts exactly when τ < {formula(closed)}. "
                "Its n-th iterate from u is p_n(τB) u with B = K'GK ⪰ 0 and p_n(x) = "
                "Σ_{k≤n} (−x)^k, |p_n| ≤ 1 on [0, 1): the computed step is non-expansive for "
                "any number of iterations.",
                margin=float(bound / tau),
                values={"tau": Number.exact(tau), "bound": Number.exact(bound)},
            )
        norm_bound = sympy.sqrt(1 / (tau * cl))
        return Check(
            name="solver: fixed point",
            formula=rule,
            condition=f"‖{k}‖₂ < {num(norm_bound)}",
            status="conditional",
            reason=f"{k} is learned: the iteration contracts only while ‖{k}‖₂ < {num(norm_bound)}.",
            values={"norm_bound": Number.exact(norm_bound)},
            requires=NormCondition.of((k,), "each", norm_bound),
        )

    def update(self, block: Block) -> up.Update:
        """Each time step freezes g at u and solves (I - tau F_g) v = u by the solver."""
        (name,) = block.pde.states
        u, j, v, g = up.State(name), up.Local("j"), up.Local("v"), up.Local("g")
        solver = block.scheme.args["solver"]
        pieces = FrozenPieces(block)
        index = step_index(block, j)
        tau = up.Number("tau")
        apply = up.Lambda((v,), tau * up.Call(pieces.operator, (v, g, index)))
        iterations = up.Number("iterations")
        body: list[up.Stmt] = [up.Assign((g,), (up.Call(pieces.diffusivity, (u, index)),))]
        if solver == "jacobi":
            d = up.Local("d")
            body.append(up.Assign((d,), (1 + tau * up.Call(pieces.diagonal, (g, index)),)))
            solve = up.Call("jacobi", (apply, u, u, d, up.Num(1), iterations))
        elif solver == "cg":
            solve = cg_from_zero(apply, u, iterations)
        else:
            solve = up.Call("fixed_point", (apply, u, u, iterations))
        body.append(up.Assign((u,), (solve,)))
        return up.Update(
            numbers={
                "tau": value(block.scheme.number("tau")),
                "iterations": int(block.scheme.args["iterations"]),
                "steps": block.steps,
            },
            body=(up.Loop(tuple(body), count=up.Number("steps"), index=j),),
            pieces=pieces.used(jacobi=solver == "jacobi"),
            helpers=("solvers",),
        )


def jacobi_check(
    block: Block,
    system: amp.LinearSystem,
    tau: sympy.Expr,
    omega: sympy.Expr,
    levels: tuple[int, ...],
    name: str,
) -> Check:
    """Damped Jacobi on (I − τ 4^(−l) A) v = b for a linear stencil symbol ŝ(θ): the
    iteration matrix I − ω D⁻¹A has the symbol 1 − ω λ(θ), λ = (1 − τ_l ŝ)/(1 − τ_l ŝ₀)
    with ŝ₀ the stencil's diagonal, so it converges iff 0 < ω λ(θ) < 2 for every θ:
    0 < ω < 2/λ_max, decided exactly from the symbol's range on every smoothed level."""
    rng = amp.scalar_range(system)
    rule = "0 < ω < 2 / λ_max(D⁻¹A), λ(θ) = (1 − τ ŝ(θ)) / (1 − τ ŝ₀)"
    if rng is None:
        return Check(
            name=name,
            formula=rule,
            condition="the symbol is not real",
            status="unverified",
            reason="pde2net has no exact range of this symbol, so Jacobi's convergence is "
            "not decided.",
        )
    low, high = rng
    s0 = amp.diagonal(system)
    lam_max, lam_min, worst = None, None, 0
    for level in levels:
        t = tau * sympy.Rational(1, 4**level)
        d = 1 - t * s0
        if d <= 0:
            lam_max = None
            break
        hi_l, lo_l = (1 - t * low) / d, (1 - t * high) / d
        if lam_max is None or hi_l > lam_max:
            lam_max, worst = hi_l, level
        lam_min = lo_l if lam_min is None else min(lam_min, lo_l)
    if lam_max is None or lam_min <= 0:
        return Check(
            name=name,
            formula=rule,
            condition="D⁻¹A is not positive definite",
            status="violated",
            reason="The diagonal or the system is not positive, so Jacobi need not converge.",
        )
    bound = 2 / lam_max
    ok = bool(omega < bound)
    where = f" (level {worst})" if len(levels) > 1 else ""
    return Check(
        name=name,
        formula=rule,
        condition=f"ω < 2/λ_max = {num(bound)}{where}; ω = {num(omega)}",
        status="proven" if ok else "violated",
        reason=(
            f"Exactly from the symbol's range ŝ ∈ [{num(low)}, {num(high)}] and diagonal "
            f"ŝ₀ = {num(s0)}: λ(D⁻¹A) ∈ [{num(lam_min)}, {num(lam_max)}]{where}, so the "
            f"damped Jacobi iteration {'contracts' if ok else 'diverges'} (|1 − ωλ| "
            f"{'<' if ok else '≥'} 1 {'for every θ' if ok else 'at the top frequency'})."
        ),
        margin=float(bound / omega),
        values={
            "omega": Number.exact(omega),
            "omega_bound": Number.exact(bound),
            "lambda_max": Number.exact(lam_max),
        },
    )


def _first_difference(block: Block, name: str) -> bool:
    decl = block.pde.stencils[name]
    return (
        all(
            sorted(v for v in k.reshape(len(k)) if v != 0)
            in ([-(1 / decl.grid.symbol), 1 / decl.grid.symbol],)
            for k in decl.kernels
        )
        if decl.grid
        else False
    )


class FrozenPieces:
    """`diffusivity`, `operator` and `diagonal` of a block whose equation is
    dt(u) = -c K' Φ(K u): the lagged-diffusivity linear system's pieces, as data."""

    def __init__(self, block: Block) -> None:
        (name,) = block.pde.states
        u = up.State(name)
        v, g, s = up.Local("v"), up.Local("g"), up.Local("s")
        lin, inner, diag = frozen_operator(block, v.symbol, g.symbol)
        fn = form_of(block).function
        if fn.name not in block.pde.functions:  # no flux: the system is linear, g = 1
            body: tuple[up.Stmt, ...] = (up.Return(up.Call("ones_like", (up.Math(inner),))),)
        else:
            slope0 = float(sympy.diff(fn.expr, fn.var).subs(fn.var, 0))
            small, safe = up.Local("small"), up.Local("safe")
            ratio = Act(sympy.Symbol(fn.name), safe.symbol) / safe.symbol
            body = (
                up.Assign((s,), (up.Math(inner),)),
                up.Assign((small,), (up.Call("abs", (s,)) <= 1e-6,)),
                up.Assign((safe,), (up.Call("where", (small, up.Call("ones_like", (s,)), s)),)),
                up.Return(
                    up.Call(
                        "where", (small, up.Call("full_like", (s, up.Num(slope0))), up.Math(ratio))
                    )
                ),
            )
        j = up.Local("j")
        self.diffusivity = up.Piece(
            "diffusivity",
            (u, j),
            "The lagged diffusivity g = phi(s)/s at s = K u (phi'(0) where s = 0).",
            body,
        )
        self.operator = up.Piece(
            "operator",
            (v, g, j),
            "The right-hand side with the diffusivity g frozen: linear in v.",
            (up.Return(up.Math(lin)),),
        )
        self.diagonal = up.Piece(
            "diagonal",
            (g, j),
            "The diagonal of -operator(., g): (K*K)' g.",
            (up.Return(up.Math(diag)),),
        )

    def used(self, jacobi: bool) -> tuple[up.Piece, ...]:
        return (self.diffusivity, self.operator) + ((self.diagonal,) if jacobi else ())
