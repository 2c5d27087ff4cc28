"""Step-size conditions shared by the explicit schemes, derived with SymPy.

- von Neumann: fixed stencils, linear (or linearised) right-hand sides;
- Euclidean (Alt et al.): u ← u − τ c K' Φ(K u) with 0 ≤ Φ(s)/s ≤ L is non-expansive in
  ‖·‖₂ when τ c L ‖K‖₂² ≤ 2, monotone Φ or not.
"""

from __future__ import annotations

import sympy

from pde2net.analysis.forms import SymmetricLayer
from pde2net.analysis.functions import flux_ratio
from pde2net.analysis.report import Check
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
    return sympy.nsimplify(block.scheme.args["h"])


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


def euclidean(block: Block, form: SymmetricLayer, eq: Equation) -> list[Check]:
    """Alt et al.: 0 ≤ Φ(s)/s ≤ L, then τ c L ‖K‖₂² ≤ 2."""
    fn = form.function
    ratio = flux_ratio(fn)
    deriv = "dtt" if eq.order == 2 else "dt"
    flux_check = Check(
        name=f"{deriv}({eq.state}): flux",
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
    if flux_check.status == "violated":
        return [flux_check]
    lip = ratio.high
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
        bound = sympy.simplify(closed.subs(_grid_subs(block)))
        ok = bool(tau <= bound)
        step = Check(
            name="Euclidean step",
            formula=rule,
            condition=f"‖{k}‖₂² = {formula(norm2)}: τ ≤ {formula(closed)} = {num(bound)}"
            f"{_grid_text(block)}; τ = {num(tau)}",
            status="proven" if ok else "violated",
            reason=f"SymPy finds ‖{k}‖₂² = max_θ |ŝ(θ)|² = {formula(norm2)}, so "
            f"τ ≤ 2/(L‖{k}‖₂²) = {formula(closed)}; τ = {num(tau)} is "
            f"{'within' if ok else 'beyond'} it.",
            notion=EUCLIDEAN,
            margin=float(bound / tau),
            values={"tau": float(tau), "bound": float(bound), "closed_form": formula(closed)},
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
        values={"tau": float(tau), "norm_bound": float(norm_bound)},
    )
    return [flux_check, step]
