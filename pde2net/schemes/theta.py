"""The θ-scheme for linear diffusion: (I − θτF) u⁺ = (I + (1 − θ)τF) u.

θ = 1 is backward Euler, θ = 1/2 Crank–Nicolson, θ = 0 forward Euler. F is a linear,
symmetric negative semi-definite operator: a stencil system with a real symbol ≤ 0 or
a learned −c K'K. The solve runs a fixed number of conjugate-gradient iterations from
zero: by Steihaug's theorem the CG iterates from zero grow monotonically in norm towards
the solution (Steihaug 1983, Thm. 2.1), so ‖u⁺‖ ≤ ‖(I − θτF)⁻¹(I + (1 − θ)τF) u‖ after
any number of iterations, and the step of the generated network inherits the exact
step's non-expansiveness, whatever `iterations` is.

F must be symmetric as the finite matrix the generated code applies: a real symbol ≤ 0
says so on a periodic grid only; on zero and Neumann grids the von Neumann check is
proven only where analysis/finite.py has a theorem (otherwise CG may run on a
non-symmetric system and diverge), else unverified.

Stability of the exact step: the eigenvalues of F lie in [−ρ, 0], and the step's
amplification R(τλ) = (1 + (1 − θ)τλ)/(1 − θτλ) has |R| ≤ 1 on all of (−∞, 0] for
θ ≥ 1/2 (unconditional, proven), and on [−2/(1 − 2θ), 0] below.
"""

from __future__ import annotations

from dataclasses import replace

import sympy

from pde2net.analysis import amplification as amp
from pde2net.analysis.butcher import interval_extent, theta_stability
from pde2net.analysis.forms import SymmetricLayer, symmetric
from pde2net.analysis.report import Check, NormCondition, Number
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import ENFORCE, SHARED, LinearSolveScheme, step_index, steps_arg, value
from pde2net.schemes.common import cg_from_zero, learned_step, num
from pde2net.schemes.conditions import EUCLIDEAN, linear_check, step_size

STEIHAUG = (
    "The solve is n conjugate-gradient iterations from zero on a symmetric positive "
    "definite system; their norms grow monotonically towards the solution's (Steihaug "
    "1983), so the generated step is no larger than the exact one."
)


@register
class Theta(LinearSolveScheme):
    name = "theta"
    title = "θ-scheme"
    arguments = (
        ArgSpec("theta", "number", sympy.Rational(1, 2), help="0 ≤ θ ≤ 1; 1/2: Crank–Nicolson"),
        ArgSpec("h", "positive", help="the step size", aliases=("tau",)),
        ArgSpec("iterations", "posint", 20, help="conjugate-gradient iterations per step"),
        steps_arg(),
        SHARED,
        ENFORCE,
    )

    def validate(self, block: Block) -> None:
        super().validate(block)
        theta = block.scheme.number("theta")
        if not 0 <= theta <= 1:
            raise SpecError(
                f"theta(theta = {num(theta)}): θ must lie in [0, 1] (1/2: Crank–Nicolson, "
                "1: backward Euler)",
                block.scheme.loc,
            )
        if self._system(block) is None and self._layer(block) is None:
            raise SpecError(
                "theta steps a linear, symmetric dissipative equation: a stencil system "
                "such as dt(u) = lap u, or dt(u) = -K' K u with K learned",
                block.scheme.loc,
            )

    @staticmethod
    def _system(block: Block) -> amp.LinearSystem | None:
        """A one-state stencil system whose symbol is real and ≤ 0 (symmetric, ≤ 0)."""
        system = amp.linear_system(block.pde)
        if system is None or system.n != 1 or system.reaction[0, 0] != 0:
            return None
        ends = amp.scalar_range(system)
        if ends is None or system.stencil_at().is_zero_matrix:
            return None
        return system if ends[1] <= 0 else None

    @staticmethod
    def _layer(block: Block) -> SymmetricLayer | None:
        """−c K'K u with K learned (no activation, no normalisation)."""
        if len(block.pde.equations) != 1:
            return None
        form = symmetric(block.pde, block.pde.equations[0])
        if form is None or form.sign > 0 or form.norm or form.stencil:
            return None
        return form if form.function.expr == form.function.var else None

    def checks(self, block: Block) -> list[Check]:
        theta, tau = block.scheme.number("theta"), step_size(block)
        extent = interval_extent(theta_stability(theta), 1)
        system = self._system(block)
        if system is not None:
            check = linear_check(
                block,
                system,
                lambda a: amp.theta_step(a, tau, theta),
                tau,
                rule=f"G(θ) = (I − θτA)⁻¹(I + (1 − θ)τA), θ = {num(theta)}",
                bound=amp.extent_bound(system, extent),
            )
            if check.status == "proven":
                check = replace(check, reason=f"{check.reason} {STEIHAUG}")
            return [check]
        form = self._layer(block)
        assert form is not None  # validate() refused every other form
        k, c = form.weight, form.coefficient
        rule = "|R(−τ c ‖K‖₂²)| ≤ 1, R(z) = (1 + (1 − θ)z)/(1 − θz)"
        values = {"theta": Number.exact(theta), "tau": Number.exact(tau)}
        if extent == sympy.oo:
            return [
                Check(
                    name="θ-step",
                    formula=rule,
                    condition=f"θ = {num(theta)} ≥ 1/2: every τ > 0, every K",
                    status="proven",
                    reason=f"−c K'K is symmetric with eigenvalues in (−∞, 0], where "
                    f"|R| ≤ 1 for θ ≥ 1/2, so the exact step is non-expansive for any "
                    f"learned K. {STEIHAUG}",
                    notion=EUCLIDEAN,
                    values=values,
                )
            ]
        bound = sympy.sqrt(extent / (tau * c))
        each = f"‖{k}_j‖₂" if block.copies > 1 else f"‖{k}‖₂"
        return [
            learned_step(
                block,
                "θ-step",
                rule,
                f"θ = {num(theta)} < 1/2: τ · c · {each}² ≤ 2/(1 − 2θ) = {num(extent)}, "
                f"i.e. {each} ≤ {num(bound)}",
                (
                    f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(bound)}. {STEIHAUG}",
                    f"{k} is learned, so the bound holds only while {each} ≤ {num(bound)}; "
                    "ask for 'enforce = true' to guarantee it.",
                ),
                values,
                NormCondition.of((k,), "each", bound),
            )
        ]

    def update(self, block: Block) -> up.Update:
        """b = u + (1 − θ)τ f(u); u ← CG on (I − θτ f) v = b from v = 0."""
        (name,) = block.pde.states
        u, j, v, b = up.State(name), up.Local("j"), up.Local("v"), up.Local("b")
        index = step_index(block, j)
        h, theta = up.Number("h"), up.Number("theta")
        implicit = up.Lambda((v,), theta * h * up.Rhs(name, index, (v,)))
        solve = cg_from_zero(implicit, b, up.Number("iterations"))
        body = (
            up.Assign((b,), (u + (1 - theta) * h * up.Rhs(name, index),)),
            up.Assign((u,), (solve,)),
        )
        return up.Update(
            numbers={
                "theta": value(block.scheme.number("theta")),
                "h": value(block.scheme.number("h")),
                "iterations": int(block.scheme.args["iterations"]),
                "steps": block.steps,
            },
            body=(up.Loop(body, count=up.Number("steps"), index=j),),
            helpers=("solvers",),
        )
