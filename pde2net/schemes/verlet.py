"""Verlet (symplectic Euler) for a coupled pair dt(y) = f(z), dt(z) = g(y):
y ← y + h f(z), then z ← z + h g(y) with the new y. The Hamiltonian CNN of Ruthotto &
Haber; time-reversible."""

from __future__ import annotations

import sympy

from pde2net.analysis.forms import SymmetricLayer, states_used, symmetric
from pde2net.analysis.functions import number, slopes
from pde2net.analysis.report import Check, NormCondition, Number
from pde2net.ir import Block
from pde2net.lang.errors import SpecError
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import ENFORCE, SHARED, H, Scheme, step_index, steps_arg, value
from pde2net.schemes.common import (
    LIPSCHITZ,
    learned_step,
    linear_only,
    monotone_check,
    num,
    reversibility,
    structure_unknown,
    unusable_slope,
)
from pde2net.schemes.conditions import von_neumann
from pde2net.schemes.norms import normalised_step


@register
class Verlet(Scheme):
    name = "verlet"
    title = "Verlet"
    order = 1
    reversible = True
    arguments = (H, steps_arg(), SHARED, ENFORCE)

    def validate(self, block: Block) -> None:
        super().validate(block)
        pde = block.pde
        if len(pde.states) != 2:
            raise SpecError(
                f"scheme 'verlet' steps a pair of states (dt(y) = f(z), dt(z) = g(y)), but "
                f"{pde.name} has {len(pde.states)}",
                block.scheme.loc,
            )
        first, second = pde.equations
        for eq, other in ((first, second.state), (second, first.state)):
            used = states_used(pde, eq)
            if used - {other}:
                raise SpecError(
                    f"verlet needs dt({eq.state}) to depend only on {other}, but its "
                    f"right-hand side reads {', '.join(sorted(used - {other}))}",
                    eq.loc,
                )

    def checks(self, block: Block) -> list[Check]:
        h = block.scheme.number("h")
        linear = von_neumann(block, "verlet")
        if linear is not None:  # a linear stencil pair: the exact analysis of the step
            return [linear, reversibility(self.title)]
        forms = [symmetric(block.pde, eq) for eq in block.pde.equations]
        result: list[Check] = []
        for eq, form in zip(block.pde.equations, forms, strict=True):
            if form is None:
                result.append(structure_unknown(eq))
            else:
                result.append(monotone_check(form, f"dt({eq.state})", block.pde.params))
        if None in forms:
            return [*result, reversibility(self.title)]
        first, second = forms
        result.append(self._signs(first, second))
        result.append(reversibility(self.title))
        result.append(self._step(block, first, second, h))
        return result

    def _signs(self, first: SymmetricLayer, second: SymmetricLayer) -> Check:
        opposite = first.sign != second.sign
        return Check(
            name="Hamiltonian structure",
            formula="dt(y) = -A z, dt(z) = B y with A, B ⪰ 0 (opposite signs)",
            condition="opposite signs" if opposite else "equal signs",
            status="proven" if opposite else "violated",
            reason=(
                "The linearised system has the Jacobian [[0, -A], [B, 0]] with A, B "
                "positive semi-definite, whose eigenvalues are imaginary: energy is "
                "conserved and nothing grows or decays."
                if opposite
                else "With equal signs the linearised system is d²y/dt² = +AB y, whose "
                "eigenvalues are real and positive: solutions grow exponentially."
            ),
            notion=LIPSCHITZ,
        )

    def _step(self, block: Block, first: SymmetricLayer, second: SymmetricLayer, h) -> Check:
        for form in (first, second):
            if form.norm:
                return normalised_step(block, form, "Verlet step", "h · L_σ · ‖K₁‖₂ ‖K₂‖₂ ≤ 2")
        s1, s2 = slopes(first.function, block.pde.params), slopes(second.function, block.pde.params)
        for s in (s1, s2):
            refused = unusable_slope(s, "Verlet step", "h · L_σ · ‖K₁‖₂ ‖K₂‖₂ ≤ 2")
            if refused is not None:
                return refused
        l1, l2 = s1.high, s2.high
        lip = sympy.sqrt(first.coefficient * l1 * second.coefficient * l2)
        k1, k2 = first.weight, second.weight
        sub = "_j" if block.copies > 1 else ""
        norms = f"‖{k1}{sub}‖₂ ‖{k2}{sub}‖₂"
        same = first.function.expr == second.function.expr and first.coefficient == 1
        formula = (
            "h · L_σ · ‖K₁‖₂ ‖K₂‖₂ ≤ 2"
            if same and second.coefficient == 1
            else "h · √(c₁ L₁ c₂ L₂) · ‖K₁‖₂ ‖K₂‖₂ ≤ 2"
        )
        kind = "exact" if s1.kind == s2.kind == "exact" else "bound"  # both are sound here
        values = {"h": Number.exact(h), "L_sigma": number(lip, kind)}
        if lip == 0 or lip == sympy.oo:
            return Check(
                name="Verlet step",
                formula=formula,
                condition=f"L_σ = {num(lip)}",
                status="proven" if lip == 0 else "violated",
                reason="σ is constant." if lip == 0 else "σ' is unbounded.",
                notion=LIPSCHITZ,
                values=values,
            )
        product = 2 / (h * lip)
        each = sympy.sqrt(product)
        plugged = f"{num(h)} · {num(lip)} · {norms} ≤ 2, i.e. {norms} ≤ {num(product)}"
        check = learned_step(
            block,
            "Verlet step",
            formula,
            plugged,
            (
                f"The generated module rescales {k1} and {k2} so that each has "
                f"‖·‖₂ ≤ {num(each)}, hence the product is at most {num(product)}.",
                f"{k1} and {k2} are learned: the linearised Verlet step is stable "
                f"while {norms} ≤ {num(product)} (h² ρ(K₁'K₁ K₂'K₂) ≤ 4).",
            ),
            values,
            NormCondition.of((k1, k2), "product", product),
        )
        return linear_only(check, block, (first, second))

    def update(self, block: Block) -> up.Update:
        """y ← y + h f(z), then z ← z + h g(y) with the new y; undone in reverse order."""
        y, z = (up.State(s) for s in block.pde.states)
        j, h = up.Local("j"), up.Number("h")
        index = step_index(block, j)
        fy, fz = up.Rhs(y.name, index), up.Rhs(z.name, index)
        return up.Update(
            numbers={"h": value(block.scheme.number("h")), "steps": block.steps},
            reversible=up.Reversible(
                extra=(),
                start=(),
                step=(up.Assign((y,), (y + h * fy,)), up.Assign((z,), (z + h * fz,))),
                unstep=(up.Assign((z,), (z - h * fz,)), up.Assign((y,), (y - h * fy,))),
                index=j,
                doc=f"One Verlet step: {y.name} first, then {z.name} with the new {y.name}.",
                undoc=f"The step backwards: undo the update of {z.name}, then of {y.name}.",
            ),
        )
