"""Normalisation layers inside a pde's right-hand side: their Lipschitz constants, and
why the symmetric-layer theorems stop covering a step once one is there.

The step conditions of Ruthotto & Haber (h L_σ ‖K‖₂² ≤ 2 and its kin) rest on the
Jacobian −K' diag(σ') K being symmetric negative semi-definite. With a normalisation N
between K and σ the Jacobian is −K' diag(σ') J_N K: J_N is not diagonal, the product is
not symmetric, and the secant of the step is no longer of that form. No theorem we know
bounds such a step by 1, so the check is `unverified`, whatever `enforce` says; what
can be said is the Lipschitz constant of the step, which the reason states.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from pde2net.analysis.forms import SymmetricLayer
from pde2net.analysis.functions import number, slopes
from pde2net.analysis.report import Check, Number
from pde2net.ir import Block, NormDecl
from pde2net.schemes.common import LIPSCHITZ, num, unusable_slope


def norm_lipschitz(decl: NormDecl) -> tuple[sympy.Expr, str]:
    """(L_N at initialisation, how it follows from the learned scale), exact in ε.

    tvnorm N(z) = w ⊙ z / √(|z|² + ε) per pixel and instancenorm
    (z − mean) / √(var + ε) · w per channel both have Jacobians of norm at most
    max|w| / √ε (attained at z = 0); batchnorm in evaluation is the affine map
    w (z − μ) / √(v + ε) with learned running statistics, max|w| / √(min v + ε).
    """
    eps = sympy.Rational(repr(decl.eps))
    scale = "max|w|" if decl.affine else "1"
    if decl.kind == "batchnorm":
        return 1 / sympy.sqrt(1 + eps), f"{scale} / √(min running_var + ε)"
    return 1 / sympy.sqrt(eps), f"{scale} / √ε"


def normalised_step(block: Block, form: SymmetricLayer, name: str, formula: str) -> Check:
    """The step check of a symmetric layer with a normalisation inside: unverified."""
    decl = block.pde.norms[form.norm]
    lip, how = norm_lipschitz(decl)
    enforced = bool(block.scheme.args.get("enforce"))
    k = form.weight
    note = (
        f" enforce = true bounds ‖{k}‖₂ only; it cannot bound the learned scale of "
        f"{form.norm}, so nothing is enforced."
        if enforced
        else ""
    )
    return Check(
        name=name,
        formula=formula,
        condition=f"{form.norm} = {decl.kind}(ε = {num(decl.eps)}): L_N = {how} = "
        f"{num(lip)} at initialisation; no step condition covers σ(N(·))",
        status="unverified",
        reason=f"The step condition needs the Jacobian −{k}' diag(σ') {k} to be symmetric; "
        f"with {form.norm} ({decl.kind}) between {k} and σ it is −{k}' diag(σ') J_N {k}, "
        f"which is not, so no theorem bounds the step by 1. What holds: the step is at most "
        f"(1 + h · c · L_σ · L_N · ‖{k}‖₂²)-Lipschitz with L_N = {how} "
        f"({num(lip)} at the initial scale w = 1), so differences can grow by that factor "
        f"per step.{note}",
        values={"L_norm_at_init": Number.exact(lip)},
    )


@dataclass(frozen=True)
class StepInputs:
    """What a symmetric layer's step condition is made of: L_σ = sup σ' (exact or a
    rigorous bound), the weight, its coefficient c, how its norm is written, and the
    condition's formula (naming c only when c ≠ 1)."""

    lip: sympy.Expr
    kind: str
    weight: str
    coefficient: sympy.Expr
    each: str  # ‖K‖₂, or ‖K_j‖₂ with per-step weights
    formula: str

    def values(self, h: sympy.Expr) -> dict[str, Number]:
        return {
            "h": Number.exact(h),
            "L_sigma": number(self.lip, self.kind),
            "c": Number.exact(self.coefficient),
        }


# Each step check's condition, without the coefficient c and with it.
STEP_CONDITIONS = {
    "forward Euler step": ("h · L_σ · ‖K‖₂² ≤ 2", "h · c · L_σ · ‖K‖₂² ≤ 2"),
    "leapfrog step": ("h · √(L_σ) · ‖K‖₂ ≤ 2", "h · √(c · L_σ) · ‖K‖₂ ≤ 2"),
}


def step_inputs(block: Block, form: SymmetricLayer, name: str) -> StepInputs | Check:
    """The inputs of the step check `name`, or the check that settles it first: the
    normalised step when a norm sits inside σ, or why sup σ' cannot bound the step
    (those two show the condition without c)."""
    plain, with_c = STEP_CONDITIONS[name]
    if form.norm:
        return normalised_step(block, form, name, plain)
    s = slopes(form.function, block.pde.params)
    refused = unusable_slope(s, name, plain)
    if refused is not None:
        return refused
    k = form.weight
    each = f"‖{k}_j‖₂" if block.copies > 1 else f"‖{k}‖₂"
    formula = plain if form.coefficient == 1 else with_c
    return StepInputs(s.high, s.kind, k, form.coefficient, each, formula)


def degenerate_step(
    name: str, formula: str, lip: sympy.Expr, values: dict[str, Number], constant: str
) -> Check:
    """L_σ = 0 (σ constant: `constant` says what the step then does) or L_σ = ∞ (σ' is
    unbounded: no step size is stable)."""
    zero = lip == 0
    return Check(
        name=name,
        formula=formula,
        condition="L_σ = 0: σ is constant" if zero else "L_σ = ∞",
        status="proven" if zero else "violated",
        reason=constant
        if zero
        else "σ' is unbounded (sup σ' = ∞), so no step size h > 0 is stable.",
        notion=LIPSCHITZ,
        values=values,
    )
