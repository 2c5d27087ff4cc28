"""Forward Euler: u ← u + h · f(u). The parabolic CNN of Ruthotto & Haber is this scheme
applied to the symmetric layer f(u) = -K' σ(N(K u))."""

from __future__ import annotations

import sympy

from pde2net.analysis.forms import SymmetricLayer, symmetric, symmetric_sum
from pde2net.analysis.functions import slopes
from pde2net.analysis.report import Check, NormCondition
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.schemes import register
from pde2net.schemes.base import Frame, Scheme
from pde2net.schemes.norms import normalised_step
from pde2net.schemes.common import (
    LIPSCHITZ,
    anti_dissipative,
    monotone_check,
    num,
    step_index,
    structure_unknown,
)
from pde2net.schemes.conditions import euclidean, euclidean_sum, von_neumann


@register
class Euler(Scheme):
    name = "euler"
    title = "forward Euler"
    order = 1
    arguments = (
        ArgSpec("h", "positive", help="the step size, e.g. h = 1", aliases=("tau",)),
        ArgSpec("steps", "posint", 1),
        ArgSpec("shared", "bool", False, help="one set of weights for all steps"),
        ArgSpec("enforce", "bool", False, help="keep the step condition true by construction"),
    )

    def checks(self, block: Block) -> list[Check]:
        h = block.scheme.number("h")
        result: list[Check] = []
        for eq in block.pde.equations:
            form = symmetric(block.pde, eq)
            if form is not None and form.sign > 0:
                result.append(anti_dissipative(form, eq))
            elif form is not None and (form.function.flux or form.stencil):
                result.extend(euclidean(block, form, eq))
                linear = von_neumann(block, eq, order=1) if form.stencil else None
                result.extend([linear] if linear else [])
            elif form is not None:
                result.append(monotone_check(form, f"dt({eq.state})"))
                result.append(self._step(block, form, h))
            elif (terms := _flux_terms(block, eq)) is not None:
                result.extend(euclidean_sum(block, terms, eq))
            else:
                linear = von_neumann(block, eq, order=1)
                result.append(linear or structure_unknown(eq))
        return result

    def _step(self, block: Block, form: SymmetricLayer, h: sympy.Expr) -> Check:
        if form.norm:
            return normalised_step(block, form, "forward Euler step", "h · L_σ · ‖K‖₂² ≤ 2")
        fn = form.function
        lip = slopes(fn).high
        c = form.coefficient
        k = form.weight
        each = f"‖{k}_j‖₂" if block.copies > 1 else f"‖{k}‖₂"
        scale = "" if c == 1 else f"{num(c)} · "
        formula = "h · L_σ · ‖K‖₂² ≤ 2" if c == 1 else "h · c · L_σ · ‖K‖₂² ≤ 2"
        values = {"h": num(h), "L_sigma": num(lip), "c": num(c)}
        norm_note = f" The norm {form.norm} is treated as 1-Lipschitz." if form.norm else ""
        if lip == 0:
            return Check(
                name="forward Euler step",
                formula=formula,
                condition="L_σ = 0: σ is constant",
                status="proven",
                reason="σ' = 0, so the step leaves differences unchanged.",
                notion=LIPSCHITZ,
                values=values,
            )
        if lip == sympy.oo:
            return Check(
                name="forward Euler step",
                formula=formula,
                condition="L_σ = ∞",
                status="violated",
                reason="σ' is unbounded (sup σ' = ∞), so no step size h > 0 is stable.",
                notion=LIPSCHITZ,
                values=values,
            )
        bound = _norm_bound(form, h)
        plugged = f"{num(h)} · {scale}{num(lip)} · {each}² ≤ 2, i.e. {each} ≤ {num(bound)}"
        requires = NormCondition.of((k,), "each", bound)
        if block.scheme.args.get("enforce"):
            return Check(
                name="forward Euler step",
                formula=formula,
                condition=plugged,
                status="enforced",
                reason=f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(bound)}, "
                f"estimated by power iteration on the convolution operator.{norm_note}",
                notion=LIPSCHITZ,
                margin=1.0,
                values=values,
                requires=requires,
            )
        return Check(
            name="forward Euler step",
            formula=formula,
            condition=plugged,
            status="conditional",
            reason=f"{k} is learned, so the bound holds only if training keeps {each} ≤ "
            f"{num(bound)}; ask for 'enforce = true' to guarantee it.{norm_note}",
            notion=LIPSCHITZ,
            values=values,
            requires=requires,
        )

    def methods(self, block: Block, frame: Frame) -> list[list[str]]:
        h = num(block.scheme.args["h"])
        step = "" if h == "1" else f"{h} * "
        index = step_index(block)
        targets = ", ".join(frame.states)
        updates = ", ".join(f"{s} + {step}{frame.call(s, index)}" for s in frame.states)
        return [
            [
                f"def forward(self, {frame.param}: torch.Tensor) -> torch.Tensor:",
                *[f"    {line}" for line in frame.unpack()],
                f"    for j in range({block.steps}):  # forward Euler, h = {h}",
                f"        {targets} = {updates}",
                f"    return {frame.pack()}",
            ]
        ]


def _norm_bound(form: SymmetricLayer, h: sympy.Expr) -> sympy.Expr | None:
    """The largest ‖K‖₂ with h · c · L_σ · ‖K‖₂² ≤ 2 (None when L_σ is 0 or ∞)."""
    lip = slopes(form.function).high
    if lip == 0 or lip == sympy.oo:
        return None
    return sympy.sqrt(2 / (h * form.coefficient * lip))


def _flux_terms(block: Block, eq) -> list[SymmetricLayer] | None:
    """The terms of a first-order right-hand side that is a sum of dissipative flux or
    stencil terms (Alt et al.'s Euclidean family), else None."""
    terms = symmetric_sum(block.pde, eq) if eq.order == 1 else None
    if terms is None or not all(t.function.flux or t.stencil for t in terms):
        return None
    return terms
