"""Forward Euler: u ← u + h · f(u). The parabolic CNN of Ruthotto & Haber is this scheme
applied to the symmetric layer f(u) = -K' σ(N(K u))."""

from __future__ import annotations

import dataclasses

import sympy

from pde2net.analysis.forms import (
    SymmetricLayer,
    states_used,
    symmetric,
    symmetric_sum,
    vector_flux,
)
from pde2net.analysis.functions import shown, slopes
from pde2net.analysis.report import Check, NormCondition
from pde2net.ir import Block
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import ENFORCE, SHARED, H, Scheme, step_index, steps_arg, value
from pde2net.schemes.common import (
    anti_dissipative,
    learned_step,
    monotone_check,
    num,
    structure_unknown,
)
from pde2net.schemes.conditions import euclidean, euclidean_sum, von_neumann
from pde2net.schemes.norms import degenerate_step, step_inputs


@register
class Euler(Scheme):
    name = "euler"
    title = "forward Euler"
    order = 1
    arguments = (H, steps_arg(), SHARED, ENFORCE)

    def checks(self, block: Block) -> list[Check]:
        h = block.scheme.number("h")
        # A linear stencil system (any number of states, reactions, couplings): the
        # exact von Neumann analysis of the whole block, and nothing else is needed.
        whole = von_neumann(block, "euler")
        if whole is not None:
            return [whole]
        result: list[Check] = []
        for eq in block.pde.equations:
            own = states_used(block.pde, eq) <= {eq.state}  # an autonomous equation
            form = symmetric(block.pde, eq)
            if form is not None and form.sign > 0:
                result.append(anti_dissipative(form, eq))
            elif form is not None and (form.function.flux or form.stencil):
                result.extend(euclidean(block, form, eq))
                linear = (
                    von_neumann(block, "euler", equations=[eq], linearise=True)
                    if form.stencil and own
                    else None
                )
                result.extend([linear] if linear else [])
            elif form is not None:
                result.append(monotone_check(form, f"dt({eq.state})", block.pde.params))
                result.append(self._step(block, form, h))
            elif (vector := vector_flux(block.pde, eq)) is not None:
                # g(|K u|²) K u: the secant K' diag(g) K, judged as the radial flux
                result.extend(euclidean(block, vector, eq))
            elif (terms := _flux_terms(block, eq)) is not None:
                result.extend(euclidean_sum(block, terms, eq))
            elif own and (linear := von_neumann(block, "euler", equations=[eq])) is not None:
                result.append(linear)
            else:
                result.extend(_semilinear(block, eq) or [structure_unknown(eq)])
        return result

    def _step(self, block: Block, form: SymmetricLayer, h: sympy.Expr) -> Check:
        got = step_inputs(block, form, "forward Euler step")
        if isinstance(got, Check):
            return got
        lip, c, k, each, values = got.lip, got.coefficient, got.weight, got.each, got.values(h)
        scale = "" if c == 1 else f"{num(c)} · "
        norm_note = f" The norm {form.norm} is treated as 1-Lipschitz." if form.norm else ""
        if lip in (0, sympy.oo):  # σ constant, or σ' unbounded
            return degenerate_step(
                "forward Euler step",
                got.formula,
                lip,
                values,
                "σ' = 0, so the step leaves differences unchanged.",
            )
        bound = _norm_bound(form, h, block.pde.params)
        plugged = (
            f"{num(h)} · {scale}{shown(lip, got.kind)} · {each}² ≤ 2, i.e. {each} ≤ {num(bound)}"
        )
        return learned_step(
            block,
            "forward Euler step",
            got.formula,
            plugged,
            (
                f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(bound)}, "
                f"estimated by power iteration on the convolution operator.{norm_note}",
                f"{k} is learned, so the bound holds only if training keeps {each} ≤ "
                f"{num(bound)}; ask for 'enforce = true' to guarantee it.{norm_note}",
            ),
            values,
            NormCondition.of((k,), "each", bound),
        )

    def update(self, block: Block) -> up.Update:
        """u ← u + h f(u) for every state at once, `steps` times."""
        j = up.Local("j")
        h = up.Number("h")
        states = tuple(up.State(s) for s in block.pde.states)
        new = tuple(u + h * up.Rhs(u.name, step_index(block, j)) for u in states)
        return up.Update(
            numbers={"h": value(block.scheme.number("h")), "steps": block.steps},
            body=(up.Loop((up.Assign(states, new),), count=up.Number("steps"), index=j),),
        )


def _norm_bound(form: SymmetricLayer, h: sympy.Expr, params=None) -> sympy.Expr | None:
    """The largest ‖K‖₂ with h · c · L_σ · ‖K‖₂² ≤ 2 (None when L_σ is 0 or ∞); L_σ is
    exact or a rigorous upper bound (the caller checked `usable_bound`)."""
    lip = slopes(form.function, params).high
    if lip == 0 or lip == sympy.oo:
        return None
    return sympy.sqrt(2 / (h * form.coefficient * lip))


def _semilinear(block: Block, eq) -> list[Check] | None:
    """Forward Euler on dt(u) = L u + f(u) (a linear stencil part and a pointwise
    reaction): the semilinear theorem's checks, or None when it does not apply."""
    from pde2net.schemes.semilinear import semilinear

    return semilinear(block, eq)


def _flux_terms(block: Block, eq) -> list[SymmetricLayer] | None:
    """The terms of a first-order right-hand side that is a sum of dissipative flux or
    stencil terms (Alt et al.'s Euclidean family), else None."""
    terms = symmetric_sum(block.pde, eq) if eq.order == 1 else None
    if terms is None or not all(t.function.flux or t.stencil for t in terms):
        return None
    return terms


def stepped_by_euler(block: Block, h: sympy.Expr | float, steps: int = 1) -> Block:
    """The same block (pde, weights, `shared`, `enforce`) stepped by forward Euler with
    step h: the explicit step whose conditions a FED or FSI cycle, or an SSP Runge–Kutta
    method at h = τ/C, inherits."""
    args = {
        "h": h,
        "steps": steps,
        "shared": block.shared,
        "enforce": block.scheme.args.get("enforce", False),
    }
    exact = {"h": h if isinstance(h, sympy.Basic) else sympy.Rational(repr(h))}
    call = dataclasses.replace(block.scheme, name="euler", args=args, given=("h",), exact=exact)
    return dataclasses.replace(block, scheme=call)
