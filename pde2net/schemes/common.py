"""Pieces shared by the schemes' stability checks: number formatting and σ's conditions."""

from __future__ import annotations

import sympy

from pde2net.analysis.forms import SymmetricLayer
from pde2net.analysis.functions import below_identity, slope_at, slopes
from pde2net.analysis.report import Check
from pde2net.ir import Block, Equation

LIPSCHITZ = "Lipschitz stability (Ruthotto & Haber): ‖Y(T) − Ỹ(T)‖ ≤ M ‖Y(0) − Ỹ(0)‖"


def num(value: object) -> str:
    """A number as a person would write it: 1, 0.5, 0.0625000001 (a terminating decimal
    in full, up to 17 digits, so that τ just over a bound never prints as the bound),
    1.41421 (six digits of anything else), ∞."""
    value = sympy.sympify(value)
    if value in (sympy.oo, sympy.zoo):
        return "∞"
    if value == -sympy.oo:
        return "-∞"
    if value.is_Integer:
        return str(int(value))
    if value.is_Rational and _terminates(value.q):
        digits = sympy.Float(value, 30)
        text = f"{digits:.17f}".rstrip("0").rstrip(".") if abs(value) >= 1e-4 else ""
        if text and sympy.Rational(text) == value:
            return text
    return f"{float(value):.6g}"


def _terminates(q: int) -> bool:
    """Whether p/q has a finite decimal expansion (q has no prime factors but 2 and 5)."""
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return q == 1


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


def anti_dissipative(form: SymmetricLayer, eq: Equation) -> Check:
    """+K' σ(K u) has a positive semi-definite Jacobian: the backward heat equation."""
    return Check(
        name=f"dt({eq.state}): sign",
        formula="f(u) = -K' σ(N(K u)) (a minus sign)",
        condition=f"dt({eq.state}) = {eq.text} has a plus sign",
        status="violated",
        reason="With a plus sign the Jacobian K' diag(σ') K is positive semi-definite, so "
        "differences grow like in the backward heat equation; write -K' σ(K u).",
        notion=LIPSCHITZ,
    )


def theorem2_check(form: SymmetricLayer, block: Block, what: str) -> Check:
    """Theorem 2 (second order): |σ(x)| ≤ |x|, proven or refuted with SymPy."""
    fn = form.function
    verdict = below_identity(fn)
    formula = f"|σ(x)| ≤ |x| for all x  (σ = {fn.name})"
    note = (
        " Theorem 2 assumes time-constant weights; this block has per-step weights."
        if block.copies > 1
        else ""
    )
    if verdict.holds:
        return Check(
            name=f"{what}: |σ(x)| ≤ |x|",
            formula=formula,
            condition=verdict.how,
            status="proven",
            reason=f"{verdict.how}, so the second-order flow is stable (Theorem 2).{note}",
            notion=LIPSCHITZ,
        )
    if verdict.holds is False:
        return Check(
            name=f"{what}: |σ(x)| ≤ |x|",
            formula=formula,
            condition=verdict.how,
            status="violated",
            reason=f"{fn.name} grows faster than the identity ({verdict.how}), so Theorem 2 "
            "does not apply.",
            notion=LIPSCHITZ,
            values={"counterexample_x": verdict.counterexample},
        )
    return Check(
        name=f"{what}: |σ(x)| ≤ |x|",
        formula=formula,
        condition="undecided",
        status="conditional",
        reason=verdict.how + ".",
        notion=LIPSCHITZ,
    )


def structure_unknown(eq: Equation) -> Check:
    """No theorem matches this right-hand side: reported, not refused."""
    deriv = "dtt" if eq.order == 2 else "dt"
    return Check(
        name=f"{deriv}({eq.state}): structure",
        formula="f(u) = -K' σ(N(K u))",
        condition=f"{deriv}({eq.state}) = {eq.text} is not of that form",
        status="conditional",
        reason="pde2net knows no stability theorem for this right-hand side (it is not "
        "the symmetric layer -K' σ(K u)), so the step is not checked.",
    )


def reversibility(title: str) -> Check:
    return Check(
        name="reversibility",
        formula="(u_k+1, u_k) determines (u_k, u_k-1)",
        condition=f"{title} is time-reversible",
        status="proven",
        reason="Each step can be solved backwards exactly, so the generated module has an "
        "inverse() that reconstructs the block's input from its output.",
    )
