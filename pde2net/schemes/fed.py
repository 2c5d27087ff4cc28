"""Fast Explicit Diffusion (Grewenig, Weickert, Bruhn 2010; Alt et al. 2023): cycles of n
explicit steps with the varying sizes τᵢ = τ_max / (2 cos²(π(2i+1)/(4n+2))). Single steps
exceed τ_max; a whole cycle is stable whenever the explicit step τ_max is, and reaches the
diffusion time τ_max (n² + n)/3, so time T costs O(√T) steps instead of O(T)."""

from __future__ import annotations

import dataclasses
import math

import sympy

from pde2net.analysis.amplification import cycle_step
from pde2net.analysis.report import Check, Number
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.schemes import register
from pde2net.schemes.base import Frame, Scheme
from pde2net.schemes.common import num, step_index
from pde2net.schemes.conditions import cycle_check
from pde2net.schemes.euler import Euler


def fed_steps(n: int, tau_max: float, reorder: bool = True) -> list[float]:
    """The n FED step sizes, in the κ-cycle order of the reference implementation
    (κ = n/2, indices permuted modulo the smallest prime ≥ n + 1) that tames rounding."""
    steps = [tau_max / (2 * math.cos(math.pi * (2 * i + 1) / (4 * n + 2)) ** 2) for i in range(n)]
    if not reorder or n < 3:
        return steps
    kappa = n // 2
    prime = n + 1
    while any(prime % d == 0 for d in range(2, math.isqrt(prime) + 1)):
        prime += 1
    ordered, k = [], 0
    for _ in range(n):
        while (index := ((k + 1) * kappa) % prime - 1) >= n or index < 0:
            k += 1
        ordered.append(steps[index])
        k += 1
    return ordered


def max_step(n: int, tau_max: sympy.Expr) -> sympy.Expr:
    """The longest FED step, exactly: τ_max / (2 cos²(π (2n − 1)/(4n + 2)))."""
    return tau_max / (2 * sympy.cos(sympy.pi * (2 * n - 1) / (4 * n + 2)) ** 2)


def cycle_time(n: int, tau_max: float) -> float:
    return tau_max * (n * n + n) / 3


def explicit_equivalent(block: Block, tau: float) -> Block:
    """The same block stepped by forward Euler with step τ: whose bound governs the cycle."""
    args = {
        "h": tau,
        "steps": 1,
        "shared": block.shared,
        "enforce": block.scheme.args.get("enforce", False),
    }
    exact = {"h": tau if isinstance(tau, sympy.Basic) else sympy.Rational(repr(tau))}
    call = dataclasses.replace(block.scheme, name="euler", args=args, given=("h",), exact=exact)
    return dataclasses.replace(block, scheme=call)


@register
class FED(Scheme):
    name = "fed"
    title = "fast explicit diffusion"
    order = 1
    arguments = (
        ArgSpec("tau_max", "positive", help="the largest stable explicit step"),
        ArgSpec("steps", "posint", 10, help="steps per cycle"),
        ArgSpec("cycles", "posint", 1),
        ArgSpec("shared", "bool", True, help="one set of weights for all steps"),
        ArgSpec("enforce", "bool", False, help="keep the step condition true by construction"),
    )

    def checks(self, block: Block) -> list[Check]:
        n, tau_max = block.steps, float(block.scheme.args["tau_max"])
        # A linear stencil system: the cycle's exact amplification, with the step sizes
        # the generated code uses (rounded to 12 digits), power-bounded or not.
        taus_code = [sympy.Rational(repr(round(t, 12))) for t in fed_steps(n, tau_max)]
        linear = cycle_check(
            block,
            lambda a: cycle_step(a, taus_code),
            block.scheme.number("tau_max"),
            rule=f"G(θ) = Π_i (I + τ_i A(θ)), the {n} FED steps as generated",
            name="FED cycle (von Neumann)",
            tau_name="τ_max",
        )
        if linear is not None:
            return [linear]
        exact_tau = block.scheme.number("tau_max")
        explicit = Euler().checks(explicit_equivalent(block, exact_tau))
        taus = fed_steps(n, tau_max)
        stable = all(c.status != "violated" for c in explicit)
        nonlinear = bool(block.pde.functions)
        cycle = Check(
            name="FED cycle",
            formula="a cycle is stable iff the explicit step τ_max is",
            condition=f"n = {n}: max τᵢ = {max(taus):.6g}, cycle time τ_max (n² + n)/3 = "
            f"{cycle_time(n, tau_max):.6g}",
            status=("unverified" if nonlinear else "proven") if stable else "violated",
            reason=(
                "The cycle theorem holds for a fixed linear operator; this flux is nonlinear "
                "and recomputed at every inner step, and no theorem covers such a cycle (its "
                "long steps can amplify), so stability is not guaranteed."
                if stable and nonlinear
                else f"The explicit conditions above hold at τ_max = {num(tau_max)}, so each FED cycle "
                f"(κ-cycle ordered) is stable although single steps reach {max(taus):.4g}."
                if stable
                else f"The explicit step τ_max = {num(tau_max)} already violates its bound."
            ),
            values={
                "cycle_time": Number.exact(exact_tau * (n * n + n) / 3),
                "steps": Number.exact(n),
                "max_step": Number.exact(max_step(n, exact_tau)),
            },
        )
        return [*explicit, cycle]

    def methods(self, block: Block, frame: Frame) -> list[list[str]]:
        (u,) = frame.states
        taus = fed_steps(block.steps, float(block.scheme.args["tau_max"]))
        cycles = int(block.scheme.args["cycles"])
        return [
            [
                f"taus = {tuple(round(t, 12) for t in taus)!r}",
            ],
            [
                f"def forward(self, {u}: torch.Tensor) -> torch.Tensor:",
                f"    for _ in range({cycles}):  # FED cycles of {block.steps} steps",
                "        for j, tau in enumerate(self.taus):",
                f"            {u} = {u} + tau * {frame.call(u, step_index(block))}",
                f"    return {u}",
            ],
        ]
