"""Pieces shared by the schemes' stability checks: number formatting and σ's conditions."""

from __future__ import annotations

import sympy

from pde2net.analysis.forms import SymmetricLayer
from pde2net.analysis.functions import slope_at, slopes
from pde2net.analysis.report import Check
from pde2net.ir import Block

LIPSCHITZ = "Lipschitz stability (Ruthotto & Haber): ‖Y(T) − Ỹ(T)‖ ≤ M ‖Y(0) − Ỹ(0)‖"


def num(value: object) -> str:
    """A number as a person would write it: 1, 0.5, 1.41421, ∞."""
    value = sympy.sympify(value)
    if value in (sympy.oo, sympy.zoo):
        return "∞"
    if value.is_Integer:
        return str(int(value))
    return f"{float(value):.6g}"


def monotone_check(form: SymmetricLayer, what: str) -> Check:
    """Theorem 1's continuous condition: σ non-decreasing, proven or refuted by SymPy."""
    fn = form.function
    s = slopes(fn)
    formula = f"σ'(x) ≥ 0 for all x  (σ = {fn.name})"
    if s.monotone and s.exact:
        return Check(
            name=f"{what}: σ monotone",
            formula=formula,
            condition=f"inf σ' = {num(s.low)} ≥ 0",
            status="proven",
            reason=f"SymPy bounds σ' = {sympy.diff(fn.expr, fn.var)} below by {num(s.low)}, "
            "so the continuous flow is stable (Theorem 1).",
            notion=LIPSCHITZ,
            values={"inf_slope": num(s.low), "sup_slope": num(s.high)},
        )
    if s.worst_at is not None and s.low < 0:
        point = s.worst_at
        value = sympy.diff(fn.expr, fn.var)
        at = slope_at(fn, point)
        return Check(
            name=f"{what}: σ monotone",
            formula=formula,
            condition=f"σ'({point:g}) = {at:.6g} < 0",
            status="violated",
            reason=f"{fn.name} is not monotone non-decreasing: σ'(x) = {value} is "
            f"{at:.6g} at x = {point:g}, so -K' σ(K u) is not a gradient flow of a convex "
            "energy and Theorem 1 does not apply.",
            notion=LIPSCHITZ,
            values={"counterexample_x": point, "slope_there": at, "inf_slope": num(s.low)},
        )
    return Check(
        name=f"{what}: σ monotone",
        formula=formula,
        condition="undecided",
        status="conditional",
        reason=f"SymPy could not bound σ' = {sympy.diff(fn.expr, fn.var)}; "
        "sampling on [-10, 10] found no negative slope.",
        notion=LIPSCHITZ,
    )


def step_index(block: Block) -> str:
    """How the generated loop picks weights: per step (`j`) or one shared set (`0`)."""
    return "0" if block.shared else "j"
