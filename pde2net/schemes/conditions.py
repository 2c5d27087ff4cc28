"""Step-size conditions shared by the explicit schemes, derived with SymPy.

- von Neumann: fixed stencils, linear (or linearised) right-hand sides;
- Euclidean (Alt et al.): u ← u − τ c K' Φ(K u) with 0 ≤ Φ(s)/s ≤ L is non-expansive in
  ‖·‖₂ when τ c L ‖K‖₂² ≤ 2, monotone Φ or not; for a sum of such terms, when
  τ Σ c_i L_i ‖K_i‖₂² ≤ 2.
"""

from __future__ import annotations

import sympy

from pde2net.analysis.forms import SymmetricLayer
from pde2net.analysis.functions import flux_ratio
from pde2net.analysis.report import Check, NormCondition, Number
from pde2net.analysis.vonneumann import (
    linear_symbol,
    operator_norm_squared,
    symbol_range,
)
from pde2net.ir import Block, Equation
from pde2net.schemes.common import num

EUCLIDEAN = "Euclidean non-expansiveness (Alt et al.): ‖u^(k+1)‖₂ ≤ ‖u^k‖₂"
VON_NEUMANN = "von Neumann: every Fourier mode's amplification |g(θ)| ≤ 1"
TAU = sympy.Symbol("tau", positive=True)


def formula(expr: sympy.Expr) -> str:
    """h**2/2 as h²/2 would be written by hand: h^2/2."""
    return sympy.sstr(expr).replace("**", "^").replace("theta", "θ")


def _grid_subs(block: Block) -> dict[sympy.Symbol, sympy.Expr]:
    grid = block.pde.grid
    return {grid.symbol: grid.value} if grid else {}


def _grid_text(block: Block) -> str:
    grid = block.pde.grid
    return f" ({grid.name} = {num(grid.value)})" if grid else ""


def step_size(block: Block) -> sympy.Expr:
    return block.scheme.number("h")


def von_neumann(block: Block, eq: Equation, order: int) -> Check | None:
    """Derive the step bound from the symbol ŝ(θ) of a stencil right-hand side."""
    symbol = linear_symbol(block.pde, eq)
    if symbol is None:
        return None
    tau = step_size(block)
    subs = _grid_subs(block)
    shown = formula(symbol.expr)
    lin = (
        f" (linearised: {', '.join(symbol.linearised)} by its slope at 0)"
        if symbol.linearised
        else ""
    )
    if order == 1:
        rule = f"|1 + τ ŝ(θ)| ≤ 1 for all θ, ŝ(θ) = {shown}"
    else:
        rule = f"both roots of g² − (2 + τ² ŝ(θ)) g + 1 have |g| ≤ 1, ŝ(θ) = {shown}"
    name = "von Neumann" + (" (linearised)" if symbol.linearised else "")
    rng = symbol_range(symbol)
    if rng is None:
        return Check(
            name=name,
            formula=rule,
            condition="ŝ(θ) is complex",
            status="conditional",
            reason="The symbol is not real, so pde2net derives no closed-form bound for it.",
            notion=VON_NEUMANN,
        )
    high, low = rng.high.subs(subs), rng.low.subs(subs)
    if high > 0:
        return Check(
            name=name,
            formula=rule,
            condition=f"max ŝ(θ) = {formula(rng.high)} > 0",
            status="violated",
            reason="The model itself amplifies some Fourier modes (ŝ(θ) > 0), so no step "
            f"size is stable.{lin}",
            notion=VON_NEUMANN,
        )
    if low == 0:
        return Check(
            name=name,
            formula=rule,
            condition="ŝ(θ) = 0",
            status="proven",
            reason="The symbol vanishes: every mode is left unchanged.",
            notion=VON_NEUMANN,
        )
    m = rng.low
    if order == 1:
        # |1 + τ m| ≤ 1 with m < 0 fails first where 1 + τ m = -1.
        crossing = sympy.solve(sympy.Eq(1 + TAU * m, -1), TAU)
    else:
        # Both roots lie on the unit circle while |2 + τ² m| ≤ 2; it fails at 2 + τ² m = -2.
        crossing = sympy.solve(sympy.Eq(2 + TAU**2 * m, -2), TAU)
    closed = sympy.simplify(crossing[0])
    bound = sympy.simplify(closed.subs(subs))
    ok = bool(tau <= bound)
    margin = float(bound / tau)
    where = f"min ŝ(θ) = {formula(m)}"
    return Check(
        name=name,
        formula=rule,
        condition=f"τ ≤ {formula(closed)} = {num(bound)}{_grid_text(block)}; τ = {num(tau)}",
        status="proven" if ok else "violated",
        reason=(
            f"{where}, so the scheme is stable exactly for τ ≤ {formula(closed)}; "
            f"τ = {num(tau)} is {'within' if ok else 'beyond'} it.{lin}"
        ),
        notion=VON_NEUMANN,
        margin=margin,
        values={"tau": float(tau), "bound": float(bound), "closed_form": formula(closed)},
    )


def _flux_check(form: SymmetricLayer, name: str) -> Check:
    """0 ≤ Φ(s)/s ≤ L for the flux Φ of one symmetric term."""
    fn = form.function
    ratio = flux_ratio(fn)
    return Check(
        name=name,
        formula=f"0 ≤ Φ(s)/s ≤ L for all s ≠ 0  (Φ = {fn.name})",
        condition=f"Φ(s)/s ∈ [{num(ratio.low)}, {num(ratio.high)}]",
        status="proven" if ratio.low >= 0 and ratio.high < sympy.oo else "violated",
        reason=(
            f"SymPy bounds Φ(s)/s between {num(ratio.low)} and L = {num(ratio.high)}; Φ need "
            "not be monotone for Euclidean stability."
            if ratio.low >= 0 and ratio.high < sympy.oo
            else f"Φ(s)/s is {num(ratio.low)} (< 0) near s = {ratio.worst_at}: the flux "
            "points uphill and amplifies differences."
            if ratio.low < 0
            else "Φ(s)/s is unbounded, so no step size is stable."
        ),
        notion=EUCLIDEAN,
        values={"L": num(ratio.high), "low": num(ratio.low)},
    )


def _fixed_step(
    block: Block, name: str, rule: str, measured: str, derivation: str, closed: sympy.Expr
) -> Check:
    """The step condition τ ≤ `closed` (in the grid symbol) of fixed stencils: proven or
    violated at the block's τ."""
    tau = step_size(block)
    bound = sympy.simplify(closed.subs(_grid_subs(block)))
    ok = bool(tau <= bound)
    return Check(
        name=name,
        formula=rule,
        condition=f"{measured}: τ ≤ {formula(closed)} = {num(bound)}{_grid_text(block)}; "
        f"τ = {num(tau)}",
        status="proven" if ok else "violated",
        reason=f"{derivation} {formula(closed)}; τ = {num(tau)} is "
        f"{'within' if ok else 'beyond'} it.",
        notion=EUCLIDEAN,
        margin=float(bound / tau),
        values={"tau": float(tau), "bound": float(bound), "closed_form": formula(closed)},
    )


def _derivative(eq: Equation) -> str:
    return f"{'dtt' if eq.order == 2 else 'dt'}({eq.state})"


def euclidean(block: Block, form: SymmetricLayer, eq: Equation) -> list[Check]:
    """Alt et al.: 0 ≤ Φ(s)/s ≤ L, then τ c L ‖K‖₂² ≤ 2."""
    flux_check = _flux_check(form, f"{_derivative(eq)}: flux")
    if flux_check.status == "violated":
        return [flux_check]
    if form.norm:
        from pde2net.schemes.norms import normalised_step

        return [flux_check, normalised_step(block, form, "Euclidean step", "τ · L · ‖K‖₂² ≤ 2")]
    lip = flux_ratio(form.function).high
    tau = step_size(block)
    c = form.coefficient
    k = form.weight
    rule = "τ · L · ‖K‖₂² ≤ 2" if c == 1 else "τ · c · L · ‖K‖₂² ≤ 2"
    if lip == 0:
        zero = Check(
            name="Euclidean step",
            formula=rule,
            condition="L = 0: the flux vanishes",
            status="proven",
            reason="Φ = 0, so the step leaves u unchanged for every τ.",
            notion=EUCLIDEAN,
        )
        return [flux_check, zero]
    if form.stencil:
        decl = block.pde.stencils[k]
        norm2 = operator_norm_squared(decl)
        closed = sympy.simplify(2 / (c * lip * norm2))
        step = _fixed_step(
            block,
            "Euclidean step",
            rule,
            f"‖{k}‖₂² = {formula(norm2)}",
            f"SymPy finds ‖{k}‖₂² = max_θ |ŝ(θ)|² = {formula(norm2)}, so τ ≤ 2/(L‖{k}‖₂²) =",
            closed,
        )
        return [flux_check, step]
    each = f"‖{k}_j‖₂" if block.copies > 1 else f"‖{k}‖₂"
    norm_bound = sympy.sqrt(2 / (tau * c * lip))
    enforced = bool(block.scheme.args.get("enforce"))
    step = Check(
        name="Euclidean step",
        formula=rule,
        condition=f"{num(tau)} · {num(c * lip)} · {each}² ≤ 2, i.e. {each} ≤ {num(norm_bound)}",
        status="enforced" if enforced else "conditional",
        reason=(
            f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(norm_bound)}."
            if enforced
            else f"{k} is learned, so the bound holds only while {each} ≤ {num(norm_bound)}; "
            "ask for 'enforce = true' to guarantee it."
        ),
        notion=EUCLIDEAN,
        margin=1.0 if enforced else None,
        values={"tau": Number.exact(tau), "norm_bound": Number.exact(norm_bound)},
        requires=NormCondition.of((k,), "each", norm_bound),
    )
    return [flux_check, step]


def euclidean_sum(block: Block, forms: list[SymmetricLayer], eq: Equation) -> list[Check]:
    """A sum of dissipative flux terms, u ← u − τ Σ c_i K_i' Φ_i(K_i u) with
    0 ≤ Φ_i(s)/s ≤ L_i: each term's secant Jacobian is symmetric positive semidefinite
    with norm ≤ c_i L_i ‖K_i‖₂², so their sum has norm ≤ Σ c_i L_i ‖K_i‖₂², and the step
    is non-expansive in ‖·‖₂ when τ Σ c_i L_i ‖K_i‖₂² ≤ 2. Fixed stencils contribute
    their exact norms; one learned kernel gets the bound that is left."""
    checks = [
        _flux_check(form, f"{_derivative(eq)}: flux {form.function.name} on {form.weight}")
        for form in forms
    ]
    if any(c.status == "violated" for c in checks):
        return checks
    tau = step_size(block)
    fixed = sympy.Integer(0)  # Σ c L ‖S‖₂² over the stencil terms, in the grid symbol
    learned: list[tuple[SymmetricLayer, sympy.Expr]] = []  # (form, c L) of learned terms
    for form in forms:
        strength = form.coefficient * flux_ratio(form.function).high
        if strength == 0:
            continue
        if form.stencil:
            fixed += strength * operator_norm_squared(block.pde.stencils[form.weight])
        else:
            learned.append((form, strength))
    rule = "τ · Σ_i c_i · L_i · ‖K_i‖₂² ≤ 2"
    stencils = ", ".join(f.weight for f in forms if f.stencil)
    closed = sympy.simplify(fixed)
    used = sympy.simplify(closed.subs(_grid_subs(block)))
    name = "Euclidean step (sum)"
    if not learned and closed == 0:
        zero = Check(
            name=name,
            formula=rule,
            condition="L_i = 0 for every term: the fluxes vanish",
            status="proven",
            reason="Every Φ_i = 0, so the step leaves u unchanged for every τ.",
            notion=EUCLIDEAN,
        )
        return [*checks, zero]
    if not learned:
        sums = f"Σ c L ‖S‖₂² over {stencils} = {formula(closed)}"
        bound = sympy.simplify(2 / closed)
        return [*checks, _fixed_step(block, name, rule, sums, f"SymPy finds {sums}, so τ ≤", bound)]
    fixed_text = f"{num(used)} + " if used != 0 else ""
    fixed_note = (
        f"; {stencils} contribute Σ c L ‖S‖₂² = {num(used)}{_grid_text(block)}" if used else ""
    )
    room = 2 / tau - used
    if len(learned) > 1:
        parts = " + ".join(f"{num(strength)} · ‖{f.weight}‖₂²" for f, strength in learned)
        checks.append(
            Check(
                name=name,
                formula=rule,
                condition=f"{fixed_text}{parts} ≤ {num(2 / tau)}{fixed_note}",
                status="conditional",
                reason="Two or more learned kernels share one step: the bound holds only "
                "while their norms satisfy it together; enforce covers a single learned "
                "kernel per equation.",
                notion=EUCLIDEAN,
            )
        )
        return checks
    form, strength = learned[0]
    k = form.weight
    each = f"‖{k}_j‖₂" if block.copies > 1 else f"‖{k}‖₂"
    if room <= 0:
        checks.append(
            Check(
                name=name,
                formula=rule,
                condition=f"{stencils} alone need τ ≤ {num(2 / used)}{_grid_text(block)}; "
                f"τ = {num(tau)}",
                status="violated",
                reason=f"The stencil terms use up the step before {k} adds anything: "
                f"τ · {num(used)} ≥ 2.",
                notion=EUCLIDEAN,
                margin=float(2 / used / tau),
            )
        )
        return checks
    norm_bound = sympy.sqrt(room / strength)
    enforced = bool(block.scheme.args.get("enforce"))
    checks.append(
        Check(
            name=name,
            formula=rule,
            condition=f"{num(tau)} · ({fixed_text}{num(strength)} · {each}²) ≤ 2, i.e. "
            f"{each} ≤ {num(norm_bound)}{fixed_note}",
            status="enforced" if enforced else "conditional",
            reason=(
                f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(norm_bound)}."
                if enforced
                else f"{k} is learned, so the bound holds only while {each} ≤ "
                f"{num(norm_bound)}; ask for 'enforce = true' to guarantee it."
            ),
            notion=EUCLIDEAN,
            margin=1.0 if enforced else None,
            values={"tau": Number.exact(tau), "norm_bound": Number.exact(norm_bound)},
            requires=NormCondition.of((k,), "each", norm_bound),
        )
    )
    return checks
