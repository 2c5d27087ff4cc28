"""Forward Euler on a semilinear equation dt(u) = L u + f(u): a symmetric linear stencil
part L and a pointwise reaction f (Allen–Cahn: lap u + u − u³).

The difference of two solutions obeys δ⁺ = (I + τ (L + D)) δ with D = diag(f′(ξ)) for
points ξ between them (mean value theorem), so with f′ ∈ [m, M] and the spectrum of the
symmetric L in [λ_lo, λ_hi], Weyl's inequality puts the spectrum of the symmetric step
matrix in [1 + τ (λ_lo + m), 1 + τ (λ_hi + M)]. Hence

    ‖δ⁺‖₂ ≤ max(|1 + τ (λ_lo + m)|, 1 + τ μ) ‖δ‖₂,   μ = λ_hi + M,

where μ is the PDE's own growth rate (M is f's one-sided Lipschitz constant). The step is
non-expansive when μ ≤ 0 and τ (−λ_lo − m) ≤ 2; when μ > 0 the PDE itself grows like
e^{μt}, and the step is stable in the Lax–Richtmyer sense (it grows by at most 1 + τμ,
the PDE's own rate) under the same condition on the lower end. A reaction whose slope is
unbounded below (−u³) admits no explicit step for all amplitudes: unverified.
"""

from __future__ import annotations

import sympy

from pde2net.analysis.functions import slopes
from pde2net.analysis.report import Check, Number, StepBound
from pde2net.ir import APPLICATIONS, PDE, Act, Block, Equation, Function, Stencil, StencilT
from pde2net.schemes.common import num

SEMILINEAR = "Lipschitz stability of the step: ‖δu⁺‖₂ ≤ q ‖δu‖₂ (Weyl bounds, L symmetric)"


def semilinear(block: Block, eq: Equation) -> list[Check] | None:
    """The checks for forward Euler on dt(u) = L u + f(u); None when the right-hand side
    is not of that form (then no theorem covers it)."""
    parts = _split(block, eq)
    if parts is None:
        return None
    linear, reaction = parts
    spectrum = _spectrum(block, eq, linear)
    if spectrum is None:
        return None
    lam_lo, lam_hi = spectrum
    x = sympy.Dummy("s", real=True)
    state = sympy.Symbol(eq.state)
    fn = Function("f", x, reaction.subs(state, x))
    s = slopes(fn)
    kind = getattr(s, "kind", "exact" if s.exact else "estimate")
    deriv = sympy.diff(fn.expr, x)
    name = f"dt({eq.state}): semilinear step"
    formula = "max(|1 + τ (λ_lo + m)|, 1 + τ μ) with f′ ∈ [m, M], μ = λ_hi + M"
    shown = f"f(u) = {sympy.sstr(reaction)}, f′ = {sympy.sstr(deriv.subs(x, state))}"
    if kind == "estimate":
        return [
            Check(
                name=name,
                formula=formula,
                condition=f"{shown}: the range of f′ is only sampled",
                status="unverified",
                reason="SymPy could not bound f′ exactly or rigorously, and a sample proves "
                f"nothing. {getattr(s, 'note', '')}".strip(),
                notion=SEMILINEAR,
            )
        ]
    low, high = s.low, s.high
    if high == sympy.oo:
        return [
            Check(
                name=name,
                formula=formula,
                condition=f"{shown}: sup f′ = ∞",
                status="violated",
                reason="f′ is unbounded above, so the equation itself grows faster than any "
                "exponential (u′ = f(u) blows up from large data): no step is stable.",
                notion=SEMILINEAR,
            )
        ]
    tau = block.scheme.number("h")
    mu = sympy.simplify(lam_hi + high)
    if low == -sympy.oo:
        return [
            Check(
                name=name,
                formula=formula,
                condition=f"{shown}: inf f′ = −∞",
                status="unverified",
                reason=f"f′ is unbounded below, so the explicit step u + τ f(u) overshoots "
                f"for large amplitudes at every τ > 0 (on constant data u ↦ u + τ f(u) "
                f"diverges once |u| is large); stability holds at most on bounded data, "
                f"which the spec does not declare. The continuous flow has one-sided "
                f"Lipschitz constant sup f′ = {num(high)}.",
                notion=SEMILINEAR,
                values={"sup_slope": Number.exact(high)},
            )
        ]
    stiff = sympy.simplify(-(lam_lo + low))  # τ · stiff ≤ 2 keeps the lower end ≥ -1
    # the lower end 1 - τ stiff must stay ≥ -1, or ≥ -(1 + τ μ) when the PDE grows at μ > 0
    room = stiff - mu if mu > 0 else stiff
    closed = None if room <= 0 else sympy.simplify(2 / room)
    ok = bool(tau * room <= 2)
    bound_kind = "exact" if kind == "exact" else "bound"
    bound_text = "every τ" if closed is None else f"τ ≤ {num(closed)}"
    growth = (
        f"the PDE itself grows at rate μ = {num(mu)} (so no step is non-expansive); the step "
        f"grows by at most 1 + τμ = {num(1 + tau * mu)} per step, the PDE's own rate, "
        "(Lax–Richtmyer)"
        if mu > 0
        else "non-expansive"
    )
    values = {
        "lambda_lo": Number.exact(lam_lo),
        "lambda_hi": Number.exact(lam_hi),
        "inf_slope": Number(float(low), bound_kind),
        "sup_slope": Number(float(high), bound_kind),
        "tau": Number.exact(tau),
    }
    status = "proven" if ok else _beyond(fn, low, lam_hi)
    step = None
    if closed is not None:
        step = StepBound(Number.exact(tau), Number(float(closed), bound_kind), False, num(closed))
    return [
        Check(
            name=name,
            formula=formula,
            condition=f"{shown}; f′ ∈ [{num(low)}, {num(high)}], spectrum of L in "
            f"[{num(lam_lo)}, {num(lam_hi)}]: {bound_text}; τ = {num(tau)}",
            status=status,
            reason=(
                f"With f′ ∈ [{num(low)}, {num(high)}] and L symmetric with spectrum in "
                f"[{num(lam_lo)}, {num(lam_hi)}], the step is {growth} for {bound_text}; "
                f"τ = {num(tau)} is {'within' if ok else 'beyond'} it."
                + (
                    " Beyond it the condition is only sufficient: f′ = m is not attained at "
                    "a constant steady state, so no growing mode is proven."
                    if status == "unverified"
                    else ""
                )
            ),
            notion=SEMILINEAR,
            margin=None if closed is None else float(closed / tau),
            values=values,
            step=step,
        )
    ]


def _split(block: Block, eq: Equation) -> tuple[sympy.Expr, sympy.Expr] | None:
    """(linear stencil part, pointwise reaction in the state), or None."""
    pde = block.pde
    if eq.order != 1 or len(pde.states) != 1:
        return None
    state = sympy.Symbol(eq.state)
    linear, reaction = sympy.Integer(0), sympy.Integer(0)
    for term in sympy.Add.make_args(sympy.expand(eq.rhs)):
        if term.has(Stencil, StencilT):
            linear += term
            continue
        expanded = _expand_acts(pde, term)
        if expanded is None or expanded.free_symbols - {state}:
            return None
        reaction += expanded
    if linear == 0 or reaction == 0 or not reaction.has(state):
        return None
    return linear, reaction


def _expand_acts(pde: PDE, term: sympy.Expr) -> sympy.Expr | None:
    """The term with each pointwise function applied to the state written out."""
    for app in term.atoms(Act):
        fn = pde.functions.get(app.op)
        if fn is None or fn.expr.free_symbols - {fn.var}:
            return None
        term = term.subs(app, fn.expr.subs(fn.var, app.operand))
    return None if term.has(*APPLICATIONS) else term


def _spectrum(
    block: Block, eq: Equation, linear: sympy.Expr
) -> tuple[sympy.Expr, sympy.Expr] | None:
    """[λ_lo, λ_hi] enclosing the spectrum of the linear part, exactly, with the grid
    spacing plugged in; None unless its symbol is real (a symmetric stencil)."""
    from dataclasses import replace

    from pde2net.analysis import finite, vonneumann

    sub = replace(eq, rhs=linear)
    symbol = vonneumann.linear_symbol(block.pde, sub)
    if symbol is None or symbol.linearised:
        return None
    rng = vonneumann.symbol_range(symbol)
    if rng is None or not getattr(rng, "exact", False):
        return None
    grid = block.pde.grid
    subs = {grid.symbol: grid.value} if grid else {}
    low, high = sympy.simplify(rng.low.subs(subs)), sympy.simplify(rng.high.subs(subs))
    # the symbol's range encloses the generated finite operator's spectrum only where a
    # theorem says so (analysis/finite.py); elsewhere no theorem covers the block
    kind, _ = finite.covered(block.pde, [sub])
    if kind is None or (kind == "gram" and high != 0):  # toeplitz: real by the symbol
        return None
    return low, high


def _beyond(fn: Function, low: sympy.Expr, lam_hi: sympy.Expr) -> str:
    """Past the bound: `violated` when the slope m = inf f′ is taken at a zero u* of f and
    L annihilates constants (λ_hi = ŝ(0) = 0), for then the constant u* is a steady
    state whose linearisation has the growing checkerboard mode; else `unverified`."""
    if lam_hi != 0:
        return "unverified"
    x = fn.var
    try:
        zeros = sympy.solveset(fn.expr, x, sympy.S.Reals)
    except (NotImplementedError, ValueError, TypeError):
        return "unverified"
    if not isinstance(zeros, sympy.FiniteSet):
        return "unverified"
    slope = sympy.diff(fn.expr, x)
    attained = any(sympy.simplify(slope.subs(x, z) - low) == 0 for z in zeros)
    return "violated" if attained else "unverified"
