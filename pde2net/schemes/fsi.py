"""Fast Semi-Iterative scheme (Hafner et al. 2016; Alt et al. 2023), FED's extrapolation
form: u^(k+1) = α_k (u^k − τ K'Φ(K u^k)) + (1 − α_k) u^(k−1), α_k = (4k+2)/(2k+3), with
u^(−1) = u^0 at the start of every cycle: a skip connection two layers back.

As FED, a nonlinear flux's diffusivity g = Φ(K u)/(K u) is frozen for each cycle by
default (`freeze = false` re-evaluates it at every step); the cycle is then the FSI
polynomial of one symmetric positive semi-definite operator, covered by the theorem."""

from __future__ import annotations

import sympy

from pde2net.analysis.amplification import fsi_step
from pde2net.analysis.report import Check
from pde2net.ir import Block
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import Scheme, value
from pde2net.schemes.common import num
from pde2net.schemes.fed import CycleLoop, cycle_arguments, cycle_checks, cycle_time


def fsi_weights(n: int) -> list[float]:
    return [(4 * k + 2) / (2 * k + 3) for k in range(n)]


@register
class FSI(Scheme):
    name = "fsi"
    title = "fast semi-iterative"
    order = 1
    arguments = cycle_arguments("tau", "the explicit step, at most the explicit bound")

    def checks(self, block: Block) -> list[Check]:
        n, tau = block.steps, float(block.scheme.args["tau"])
        exact_tau = block.scheme.number("tau")
        # the generated α_k (rounded to 12 digits) and τ
        alphas = [sympy.Rational(repr(round(a, 12))) for a in fsi_weights(n)]

        def polynomial(z: sympy.Symbol) -> sympy.Poly:
            one = sympy.Poly(1, z, domain=sympy.QQ)
            prev, poly = one, one  # the FSI recursion in z, as polynomials over Q
            for alpha in alphas:
                step = sympy.Poly(1 - exact_tau * z, z, domain=sympy.QQ)
                prev, poly = poly, poly * step * alpha + prev * (1 - alpha)
            return poly

        def unfrozen(stable: bool, nonlinear: bool) -> tuple[str, str, str]:
            return (
                "α_k = (4k+2)/(2k+3); stable iff the explicit step τ is",
                f"n = {n}: cycle time τ (n² + n)/3 = {cycle_time(n, tau):.6g}",
                "FSI is FED in extrapolation form, whose cycle theorem holds for a fixed "
                "linear operator; this flux is nonlinear and recomputed at every step, "
                "and no theorem covers such a cycle."
                if stable and nonlinear
                else f"FSI is FED in extrapolation form: with the explicit step τ = "
                f"{num(tau)} stable, each cycle is."
                if stable
                else f"The explicit step τ = {num(tau)} already violates its bound.",
            )

        return cycle_checks(
            block,
            exact_tau,
            "FSI",
            "τ",
            linear=(
                lambda a: fsi_step(a, exact_tau, alphas),
                f"G(θ) = p_n(A(θ)), the {n}-step FSI recursion as generated",
            ),
            frozen=(polynomial, f"the {n}-step FSI recursion in A as generated"),
            unfrozen=unfrozen,
        )

    def update(self, block: Block) -> up.Update:
        """`cycles` times from u₋ = u: u, u₋ ← α (u + τ f(u)) + (1 − α) u₋, u."""
        (name,) = block.pde.states
        alpha, explicit = up.Local("alpha"), up.Local("explicit")
        prev, tau = up.Local(f"{name}_prev"), up.Number("tau")

        def step(u: up.State, rhs: up.Expr) -> tuple[up.Assign, ...]:
            return (
                up.Assign((explicit,), (u + tau * rhs,)),
                up.Assign((u, prev), (alpha * explicit + (1 - alpha) * prev, u)),
            )

        inner = CycleLoop(block, step, lambda u: (up.Assign((prev,), (u,)),))
        return up.Update(
            numbers={
                "tau": value(block.scheme.number("tau")),
                "alphas": tuple(round(a, 12) for a in fsi_weights(block.steps)),
                "cycles": int(block.scheme.args["cycles"]),
                "steps": block.steps,
            },
            body=(inner.loop(up.Number("alphas"), alpha),),
            pieces=inner.pieces,
        )
