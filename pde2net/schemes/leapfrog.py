"""Leapfrog for second-order dynamics dtt(u) = f(u):  u₊ = 2u − u₋ + h² f(u), started at
rest (∂ₜu(0) = 0). The second-order CNN of Ruthotto & Haber; time-reversible.

Two starts: `euler` (Ruthotto & Haber's, the default) sets u₋₁ = u₀, a first-order start
(u₁ = u₀ + h² f(u₀)); `taylor` sets u₋₁ = u₀ + h²/2 f(u₀), so that the first step is the
Taylor step u₁ = u₀ + h²/2 f(u₀) (u₋₁ = u₁ as ∂ₜu(0) = 0 asks) and the scheme stays
second order. Either way the steps are the same recurrence, so the stability condition
(of the recurrence, for any starting pair) and the inverse (of `forward_pair`) are too."""

from __future__ import annotations

import sympy

from pde2net.analysis.forms import SymmetricLayer, symmetric
from pde2net.analysis.functions import slopes
from pde2net.analysis.report import Check, NormCondition
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import ENFORCE, SHARED, H, Scheme, step_index, steps_arg, value
from pde2net.schemes.common import (
    anti_dissipative,
    learned_step,
    linear_only,
    num,
    reversibility,
    structure_unknown,
    theorem2_check,
)
from pde2net.schemes.conditions import von_neumann
from pde2net.schemes.norms import degenerate_step, step_inputs


@register
class Leapfrog(Scheme):
    name = "leapfrog"
    title = "leapfrog"
    order = 2
    reversible = True
    arguments = (
        H,
        steps_arg(),
        SHARED,
        ENFORCE,
        ArgSpec(
            "start",
            "choice",
            "euler",
            choices=("euler", "taylor"),
            help="u_-1 = u_0 (euler, first order) or u_0 + h²/2 f(u_0) (taylor, second order)",
        ),
    )

    def validate(self, block: Block) -> None:
        super().validate(block)
        if len(block.pde.states) != 1:
            raise SpecError(
                f"scheme 'leapfrog' steps one state, but {block.pde.name} has "
                f"{len(block.pde.states)}",
                block.scheme.loc,
            )

    def checks(self, block: Block) -> list[Check]:
        h = block.scheme.number("h")
        (eq,) = block.pde.equations
        form = symmetric(block.pde, eq)
        linear = von_neumann(block, "leapfrog")
        if linear is not None:
            return [linear, reversibility(self.title)]
        if form is None:
            return [structure_unknown(eq), reversibility(self.title)]
        if form.sign > 0:
            return [anti_dissipative(form, eq), reversibility(self.title)]
        return [
            theorem2_check(form, block, f"dtt({eq.state})"),
            reversibility(self.title),
            self._step(block, form, h),
        ]

    def _step(self, block: Block, form: SymmetricLayer, h: sympy.Expr) -> Check:
        got = step_inputs(block, form, "leapfrog step")
        if isinstance(got, Check):
            return got
        lip, c, k, each, values = got.lip, got.coefficient, got.weight, got.each, got.values(h)
        bound = _norm_bound(form, h, block.pde.params)
        if bound is None:
            return degenerate_step(
                "leapfrog step",
                got.formula,
                lip,
                values,
                "σ is constant, so the step is the free wave.",
            )
        root = num(sympy.sqrt(c * lip))
        plugged = f"{num(h)} · {root} · {each} ≤ 2, i.e. {each} ≤ {num(bound)}"
        check = learned_step(
            block,
            "leapfrog step",
            got.formula,
            plugged,
            (
                f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(bound)}.",
                f"{k} is learned: the linearised leapfrog step is stable while "
                f"{each} ≤ {num(bound)} (h² ρ(K'K) L_σ ≤ 4).",
            ),
            values,
            NormCondition.of((k,), "each", bound),
        )
        return linear_only(check, block, (form,))

    def update(self, block: Block) -> up.Update:
        """u₊ = 2u − u₋ + h² f(u) on the pair (u, u₋), and its exact inverse."""
        (name,) = block.pde.states
        u, prev, j = up.State(name), up.Local(f"{name}_prev"), up.Local("j")
        h = up.Number("h")
        index = step_index(block, j)
        if block.scheme.args.get("start", "euler") == "taylor":
            start = u + h * h / 2 * up.Rhs(name, up.Num(0))
            how = f"{name}_prev = {name} + h²/2 f({name}), so the first step is Taylor's"
        else:
            start, how = u, f"{name}_prev = {name}: the step before the first is the input"
        return up.Update(
            numbers={"h": value(block.scheme.number("h")), "steps": block.steps},
            reversible=up.Reversible(
                extra=(prev,),
                start=(up.Assign((prev,), (start,)),),
                step=(up.Assign((u, prev), (2 * u - prev + h * h * up.Rhs(name, index), u)),),
                unstep=(
                    up.Assign(
                        (u, prev), (prev, 2 * prev - u + h * h * up.Rhs(name, index, (prev,)))
                    ),
                ),
                index=j,
                doc=f"One leapfrog step: ({name}_k, {name}_k-1) -> ({name}_k+1, {name}_k); "
                f"from rest, {how}.",
                undoc=f"The step backwards: ({name}_k+1, {name}_k) -> ({name}_k, {name}_k-1).",
            ),
        )


def _norm_bound(form: SymmetricLayer, h: sympy.Expr, params=None) -> sympy.Expr | None:
    """The largest ‖K‖₂ with h · √(c L_σ) · ‖K‖₂ ≤ 2 (None when L_σ is 0 or ∞)."""
    lip = slopes(form.function, params).high
    if lip == 0 or lip == sympy.oo:
        return None
    return 2 / (h * sympy.sqrt(form.coefficient * lip))
