"""Pieces shared by the schemes' stability checks: number formatting and σ's conditions."""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from pde2net.analysis.forms import SymmetricLayer
from pde2net.analysis.functions import (
    below_identity,
    number,
    param_reason,
    shown,
    slope_at,
    slopes,
    usable_bound,
)
from pde2net.analysis.report import Check, NormCondition, Number
from pde2net.ir import Block, Equation, derivative
from pde2net.schemes import update as up

LIPSCHITZ = "Lipschitz stability (Ruthotto & Haber): ‖Y(T) − Ỹ(T)‖ ≤ M ‖Y(0) − Ỹ(0)‖"
# the right-hand side the symmetric-layer theorems cover (N: an optional normalisation)
SYMMETRIC_LAYER = "f(u) = -K' σ(N(K u))"


def num(value: object) -> str:
    """A number as a person would write it: 1, 0.5, 0.0625000001 (a terminating decimal
    in full, up to 17 digits, so that τ just over a bound never prints as the bound),
    1.41421 (six digits of anything else), ∞."""
    value = sympy.sympify(value)
    if value in (sympy.oo, sympy.zoo):
        return "∞"
    if value == -sympy.oo:
        return "-∞"
    if value.is_Integer and abs(value) < 10**15:
        return str(int(value))
    if value.is_Rational and value.q > 1 and _terminates(value.q):
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


def monotone_check(form: SymmetricLayer, what: str, params: Mapping | None = None) -> Check:
    """Theorem 1's continuous condition: σ non-decreasing. Proven from an exact range
    (SymPy) or a rigorous enclosure of σ'; refuted by a rigorously confirmed negative
    slope; a sampled σ' proves nothing (unverified)."""
    fn = form.function
    s = slopes(fn, params)
    formula = f"σ'(x) ≥ 0 for all x  (σ = {fn.name})"
    name = f"{what}: σ monotone"
    derivative = sympy.diff(fn.expr, fn.var)
    how = "SymPy bounds" if s.exact else "interval arithmetic (arb) bounds"
    base = {"name": name, "formula": formula, "notion": LIPSCHITZ}
    if s.monotone and s.uniform:
        return Check(
            **base,
            condition=f"inf σ' {'=' if s.exact else '≥'} {shown(s.low, s.kind)} ≥ 0",
            status="proven",
            reason=f"{how} σ' = {derivative} below by {num(s.low)}, so the continuous flow "
            "is stable (Theorem 1).",
            values={"inf_slope": number(s.low, s.kind), "sup_slope": number(s.high, s.kind)},
        )
    if s.depends_on and not s.uniform:
        return Check(
            **base,
            condition=f"inf σ' = {shown(s.low, s.kind)} at {s.at_values}"
            if s.at_values
            else "depends on a learned parameter",
            status="conditional",
            reason=param_reason(s, s.monotone if s.sound else None) + ".",
        )
    if s.refuted and s.worst_at is not None:
        point = s.worst_at
        at = slope_at(fn, point)
        at_text = f"{at:.6g}" if at is not None else shown(s.low, s.kind)
        return Check(
            **base,
            condition=f"σ'({point:g}) = {at_text} < 0",
            status="violated",
            reason=f"{fn.name} is not monotone non-decreasing: σ'(x) = {derivative} is "
            f"{at_text} at x = {point:g}, so -K' σ(K u) is not a gradient flow of a convex "
            "energy and Theorem 1 does not apply.",
            values={
                "counterexample_x": Number.exact(sympy.Rational(point)),
                "slope_there": Number.estimate(at) if at is not None else None,
                "inf_slope": number(s.low, s.kind),
            },
        )
    return Check(
        **base,
        condition="undecided",
        status="unverified",
        reason=f"Neither SymPy nor interval arithmetic could bound σ' = {derivative} "
        f"({s.note}); sampling found no confirmed negative slope, which proves nothing.",
        values={"inf_slope": number(s.low, s.kind)} if s.low != -sympy.oo else {},
    )


def unusable_slope(s, name: str, formula: str) -> Check | None:
    """The check saying why sup σ' cannot bound the step (None when it can)."""
    unusable = usable_bound(s, "L_σ = sup σ'")
    if not unusable:
        return None
    return Check(
        name=name,
        formula=formula,
        condition=f"L_σ = {shown(s.high, s.kind)}",
        status="conditional" if s.depends_on and not s.uniform else "unverified",
        reason=f"{unusable[0].upper()}{unusable[1:]}.",
        notion=LIPSCHITZ,
    )


def learned_step(
    block: Block,
    name: str,
    formula: str,
    condition: str,
    reasons: tuple[str, str],
    values: dict[str, Number],
    requires: NormCondition,
) -> Check:
    """A step condition left to learned weights: `enforced` when the block asks for it
    (reasons[0]), else `conditional` (reasons[1])."""
    enforced = bool(block.scheme.args.get("enforce"))
    return Check(
        name=name,
        formula=formula,
        condition=condition,
        status="enforced" if enforced else "conditional",
        reason=reasons[0] if enforced else reasons[1],
        notion=LIPSCHITZ,
        margin=1.0 if enforced else None,
        values=values,
        requires=requires,
    )


def anti_dissipative(form: SymmetricLayer, eq: Equation) -> Check:
    """+K' σ(K u) has a positive semi-definite Jacobian: the backward heat equation."""
    return Check(
        name=f"{derivative(eq.order)}({eq.state}): sign",
        formula=f"{SYMMETRIC_LAYER} (a minus sign)",
        condition=f"{derivative(eq.order)}({eq.state}) = {eq.text} has a plus sign",
        status="violated",
        reason="With a plus sign the Jacobian K' diag(σ') K is positive semi-definite, so "
        "differences grow like in the backward heat equation; write -K' σ(K u).",
        notion=LIPSCHITZ,
    )


def theorem2_check(form: SymmetricLayer, block: Block, what: str) -> Check:
    """Theorem 2 (second order): |σ(x)| ≤ |x|, proven (SymPy or a rigorous enclosure) or
    refuted (a rigorously confirmed point); otherwise unverified."""
    fn = form.function
    verdict = below_identity(fn, block.pde.params)
    formula = f"|σ(x)| ≤ |x| for all x  (σ = {fn.name})"
    base = {"name": f"{what}: |σ(x)| ≤ |x|", "formula": formula, "notion": LIPSCHITZ}
    note = (
        " Theorem 2 assumes time-constant weights; this block has per-step weights."
        if block.copies > 1
        else ""
    )
    if verdict.depends_on and not verdict.uniform:
        return Check(
            **base,
            condition=f"{verdict.how} at {verdict.at_values}",
            status="conditional",
            reason=param_reason(verdict, verdict.holds) + f" ({verdict.how}).{note}",
        )
    if verdict.holds and verdict.kind != "estimate":
        return Check(
            **base,
            condition=verdict.how,
            status="proven",
            reason=f"{verdict.how}, so the second-order flow is stable (Theorem 2).{note}",
        )
    if verdict.holds is False:
        return Check(
            **base,
            condition=verdict.how,
            status="violated",
            reason=f"{fn.name} grows faster than the identity ({verdict.how}), so Theorem 2 "
            "does not apply.",
            values={"counterexample_x": Number.exact(sympy.Rational(verdict.counterexample))}
            if verdict.counterexample is not None
            else {},
        )
    return Check(
        **base,
        condition="undecided",
        status="unverified",
        reason=verdict.how + ".",
    )


def structure_unknown(eq: Equation) -> Check:
    """No theorem matches this right-hand side: reported, not refused."""
    deriv = derivative(eq.order)
    return Check(
        name=f"{deriv}({eq.state}): structure",
        formula=SYMMETRIC_LAYER,
        condition=f"{deriv}({eq.state}) = {eq.text} is not of that form",
        status="unverified",
        reason="pde2net knows no stability theorem for this right-hand side (it is not "
        "the symmetric layer -K' σ(K u), a linear stencil system, nor a semilinear "
        "equation), so the step is not checked.",
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


def linear_only(check: Check, block: Block, forms: tuple[SymmetricLayer, ...]) -> Check:
    """A second-order or Hamiltonian step condition (leapfrog, Verlet), kept only where it
    is a theorem: σ linear and the weights the same at every step. Its steps preserve a
    weight-dependent energy, not a fixed norm, so a nonlinear σ (whose slope changes along
    the trajectory) or per-step weights make the difference equation time-varying, and a
    time-varying energy-conserving recursion can grow (parametric resonance) although
    every frozen step satisfies the condition. Elsewhere the check is `unverified`, with
    the linear condition stated, and nothing is enforced."""
    nonlinear = [f.function.name for f in forms if f.function.expr != f.function.var]
    varying = block.copies > 1
    if check.status not in ("proven", "enforced", "conditional") or not (nonlinear or varying):
        return check
    why = []
    if nonlinear:
        why.append(f"σ = {', '.join(sorted(set(nonlinear)))} is nonlinear")
    if varying:
        why.append(f"the weights change from step to step ({block.copies} sets)")
    enforce = (
        " enforce = true therefore keeps nothing: no condition is known that makes this "
        "block stable."
        if block.scheme.args.get("enforce")
        else ""
    )
    return Check(
        name=check.name,
        formula=check.formula,
        condition=f"linear, time-constant case only: {check.condition}",
        status="unverified",
        reason=f"The condition is the linear theorem's (time-constant weights, σ linear), "
        f"but here {' and '.join(why)}: the step preserves an energy that changes with "
        "the weights and slopes, and such a time-varying recursion can grow (parametric "
        f"resonance) while every frozen step satisfies the condition.{enforce}",
        notion=check.notion,
        values=check.values,
    )


def cg_from_zero(apply: up.Expr, b: up.Expr, iterations: up.Expr) -> up.Call:
    """`iterations` conjugate-gradient steps on (I − apply) v = b, started at zero. On a
    symmetric positive definite system the iterates from zero grow monotonically in norm
    towards the solution (Steihaug 1983), so the computed step is bounded by the exact
    one whatever the iteration count; a start at b has no such bound."""
    return up.Call(
        "conjugate_gradients", (apply, b, up.Call("full_like", (b, up.Num(0.0))), iterations)
    )
