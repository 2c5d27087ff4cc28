"""Fast Explicit Diffusion (Grewenig, Weickert, Bruhn 2010; Alt et al. 2023): cycles of n
explicit steps with the varying sizes τᵢ = τ_max / (2 cos²(π(2i+1)/(4n+2))). Single steps
exceed τ_max; a whole cycle is stable whenever the explicit step τ_max is, and reaches the
diffusion time τ_max (n² + n)/3, so time T costs O(√T) steps instead of O(T).

On a nonlinear flux the diffusivity g = Φ(K u)/(K u) is frozen by default, as FED's
authors and users run it (Grewenig, Weickert, Bruhn; AKAZE): computed at each cycle's
start and held for its n steps. A cycle is then the polynomial p(A) = Π (I − τᵢ A) of
one symmetric positive semi-definite A = c K' diag(g) K with ‖A‖₂ ≤ c L ‖K‖₂², and the
FED theorem applies: |p| ≤ 1 on [0, 2/τ_max] (decided exactly for the step sizes as
generated), so the cycle is non-expansive whenever the explicit step τ_max is.
`freeze = false` re-evaluates Φ at every inner step, which no theorem covers."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import sympy

from pde2net.analysis.amplification import Undecided, cycle_step, poly_nonpositive_on
from pde2net.analysis.forms import symmetric
from pde2net.analysis.report import SEVERITY, Check, Number
from pde2net.ir import Act, Block
from pde2net.lang.args import ArgSpec
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import (
    CYCLE_STEPS,
    CYCLES,
    ENFORCE,
    SHARED_CYCLE,
    Scheme,
    step_index,
)
from pde2net.schemes.common import num
from pde2net.schemes.conditions import EUCLIDEAN, cycle_check
from pde2net.schemes.euler import Euler, stepped_by_euler
from pde2net.schemes.implicit import FrozenPieces


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


def freezes(block: Block) -> bool:
    """Whether the block's cycles run with the diffusivity frozen: `freeze = true` (the
    default) on one equation dt(u) = -c K' Φ(K u) with a nonlinear flux Φ and one set of
    weights for the cycle (a linear equation has nothing to freeze)."""
    if not block.scheme.args.get("freeze", True) or len(block.pde.equations) != 1:
        return False
    (eq,) = block.pde.equations
    form = symmetric(block.pde, eq)
    if form is None or form.sign > 0 or form.norm or not form.function.flux:
        return False
    if form.function.name not in block.pde.functions:
        return False
    return len(eq.rhs.atoms(Act)) == 1 and (block.shared or not block.pde.weights)


FREEZE = ArgSpec(
    "freeze",
    "bool",
    True,
    help="hold g = Φ(s)/s fixed for each cycle (false: re-evaluate Φ at every step)",
)


def frozen_cycle_check(
    block: Block,
    explicit: list[Check],
    cycle: sympy.Poly,
    z: sympy.Symbol,
    tau: sympy.Expr,
    *,
    name: str,
    tau_name: str,
    what: str,
    values: dict[str, Number],
) -> Check:
    """The cycle with the diffusivity frozen at its start: the polynomial `cycle` in the
    eigenvalue z of A = c K' diag(g) K, symmetric positive semi-definite. If the explicit
    checks bound the spectrum of A by 2/τ (0 ≤ g ≤ L and τ c L ‖K‖₂² ≤ 2) and |p(z)| ≤ 1
    on [0, 2/τ] (decided exactly, SymPy root isolation), ‖cycle‖₂ ≤ 1. The status is the
    explicit checks' worst: the cycle is as stable as its explicit step."""
    worst = max((c.status for c in explicit), key=SEVERITY.__getitem__, default="proven")
    requires = next((c.requires for c in explicit if c.requires is not None), None)
    rule = f"p(A) = {what}, A = c K' diag(g) K ⪰ 0, ‖A‖₂ ≤ c L ‖K‖₂² ≤ 2/{tau_name}"
    base = {"name": name, "formula": rule, "values": values, "notion": EUCLIDEAN}
    if worst in ("violated", "unverified"):
        return Check(
            **base,
            condition=f"the explicit step at {tau_name} = {num(tau)} is {worst}",
            status=worst,
            reason=f"The frozen cycle is stable when the explicit step {tau_name} is; that "
            f"step is {worst} above, so nothing follows for the cycle.",
        )
    try:
        top = 2 / tau
        bounded = poly_nonpositive_on(cycle - 1, 0, top) and poly_nonpositive_on(-cycle - 1, 0, top)
    except Undecided as why:
        return Check(
            **base,
            condition="|p(z)| ≤ 1 on [0, 2/τ] undecided",
            status="unverified",
            reason=f"The cycle polynomial could not be bounded exactly ({why}).",
        )
    if not bounded:
        return Check(
            **base,
            condition=f"|p(z)| > 1 somewhere on [0, 2/{tau_name}]",
            status="violated",
            reason="With the step sizes as generated the cycle polynomial leaves [−1, 1] "
            "inside the explicit step's spectral range, so a frozen cycle can amplify.",
        )
    return Check(
        **base,
        condition=f"g frozen per cycle; |p(z)| ≤ 1 on [0, 2/{tau_name}] = [0, {num(top)}]",
        status=worst,
        reason=f"The diffusivity g = Φ(Ku)/(Ku) ∈ [0, L] is held for the cycle, so each cycle "
        f"is p(A) with A = c K' diag(g) K symmetric positive semi-definite; the explicit "
        f"checks above give ‖A‖₂ ≤ c L ‖K‖₂² ≤ 2/{tau_name}, and SymPy decides |p(z)| ≤ 1 on "
        f"[0, 2/{tau_name}] exactly for the generated coefficients, so ‖u_cycle end‖₂ ≤ "
        f"‖u_cycle start‖₂" + ("." if worst == "proven" else f", {worst} as the explicit step is."),
        requires=requires,
        margin=1.0 if worst == "enforced" else None,
    )


# The exact decision of a cycle isolates the real roots of a polynomial of degree ~2n
# with rational coefficients: 2.7 s at n = 50, 7.8 s at 100, 67 s at 200 (a 1D heat
# cycle, this machine). Longer cycles are not decided, so `check` stays fast.
MAX_EXACT_STEPS = 64


def _too_long(label: str, n: int, values: dict[str, Number]) -> Check:
    return Check(
        name=f"{label} cycle",
        formula="|p(z)| ≤ 1 for the cycle's polynomial p on the symbol's range",
        condition=f"{n} steps per cycle; decided exactly up to {MAX_EXACT_STEPS}",
        status="unverified",
        reason=f"The cycle's stability rests on the exact decision for the step sizes as "
        f"generated (the theorem holds for exact ones; the code rounds them), and a cycle "
        f"of {n} steps is beyond what that decision does in seconds. Use cycles of at most "
        f"{MAX_EXACT_STEPS} steps (more cycles reach the same time).",
        values=values,
    )


def cycle_checks(
    block: Block,
    tau: sympy.Expr,
    label: str,
    tau_name: str,
    *,
    linear: tuple[Callable, str],
    frozen: tuple[Callable[[sympy.Symbol], sympy.Poly], str],
    unfrozen: Callable[[bool, bool], tuple[str, str, str]],
    values: dict[str, Number] | None = None,
) -> list[Check]:
    """The checks of a FED-like cycle of explicit steps at `tau`: the exact amplification
    of a linear stencil system (`linear`: the cycle's step map and its rule); else the
    explicit step's checks, then the frozen cycle's polynomial (`frozen`: in z, and what
    it is) or, unfrozen, the cycle theorem's verdict (`unfrozen(stable, nonlinear)`:
    formula, condition, reason). Every cycle reports its time and step count, then
    `values`."""
    n = block.steps
    values = {
        "cycle_time": Number.exact(tau * (n * n + n) / 3),
        "steps": Number.exact(n),
        **(values or {}),
    }
    if n > MAX_EXACT_STEPS:
        explicit = Euler().checks(stepped_by_euler(block, tau))
        return [*explicit, _too_long(label, n, values)]
    step, rule = linear
    exact = cycle_check(
        block, step, tau, rule=rule, name=f"{label} cycle (von Neumann)", tau_name=tau_name
    )
    if exact is not None:
        return [exact]
    explicit = Euler().checks(stepped_by_euler(block, tau))
    if freezes(block):
        z = sympy.Symbol("z")
        polynomial, what = frozen
        check = frozen_cycle_check(
            block,
            explicit,
            polynomial(z),
            z,
            tau,
            name=f"{label} cycle (frozen diffusivity)",
            tau_name=tau_name,
            what=what,
            values=values,
        )
        return [*explicit, check]
    stable = all(c.status != "violated" for c in explicit)
    nonlinear = bool(block.pde.functions)
    formula, condition, reason = unfrozen(stable, nonlinear)
    status = ("unverified" if nonlinear else "proven") if stable else "violated"
    cycle = Check(
        name=f"{label} cycle",
        formula=formula,
        condition=condition,
        status=status,
        reason=reason,
        values=values,
    )
    return [*explicit, cycle]


def cycle_arguments(tau: str, help: str) -> tuple[ArgSpec, ...]:
    """FED's and FSI's arguments: their positive explicit step `tau`, then the cycle's."""
    return (ArgSpec(tau, "positive", help=help), CYCLE_STEPS, CYCLES, SHARED_CYCLE, ENFORCE, FREEZE)


@register
class FED(Scheme):
    name = "fed"
    title = "fast explicit diffusion"
    order = 1
    arguments = cycle_arguments("tau_max", "the largest stable explicit step")

    def checks(self, block: Block) -> list[Check]:
        n, tau_max = block.steps, float(block.scheme.args["tau_max"])
        exact_tau = block.scheme.number("tau_max")
        taus = fed_steps(n, tau_max)

        @functools.cache
        def taus_code() -> list[sympy.Rational]:
            """The step sizes the generated code uses (rounded to 12 digits), exact; only
            the exact cycle decisions need them (cycles of at most MAX_EXACT_STEPS)."""
            return [sympy.Rational(repr(round(t, 12))) for t in taus]

        def polynomial(z: sympy.Symbol) -> sympy.Poly:
            poly = sympy.Poly(1, z, domain=sympy.QQ)
            for t in taus_code():  # Π (1 − τ_i z), as a polynomial over Q
                poly = poly * sympy.Poly(1 - t * z, z, domain=sympy.QQ)
            return poly

        def unfrozen(stable: bool, nonlinear: bool) -> tuple[str, str, str]:
            return (
                "a cycle is stable iff the explicit step τ_max is",
                f"n = {n}: max τᵢ = {max(taus):.6g}, cycle time τ_max (n² + n)/3 = "
                f"{cycle_time(n, tau_max):.6g}",
                "The cycle theorem holds for a fixed linear operator; this flux is nonlinear "
                "and recomputed at every inner step, and no theorem covers such a cycle (its "
                "long steps can amplify), so stability is not guaranteed."
                if stable and nonlinear
                else f"The explicit conditions above hold at τ_max = {num(tau_max)}, so each "
                f"FED cycle (κ-cycle ordered) is stable although single steps reach "
                f"{max(taus):.4g}."
                if stable
                else f"The explicit step τ_max = {num(tau_max)} already violates its bound.",
            )

        return cycle_checks(
            block,
            exact_tau,
            "FED",
            "τ_max",
            linear=(
                lambda a: cycle_step(a, taus_code()),
                f"G(θ) = Π_i (I + τ_i A(θ)), the {n} FED steps as generated",
            ),
            frozen=(polynomial, f"Π_i (I − τ_i A), the {n} FED steps as generated"),
            unfrozen=unfrozen,
            values={"max_step": Number.exact(max_step(n, exact_tau))},
        )

    def update(self, block: Block) -> up.Update:
        """`cycles` times: u ← u + τᵢ f(u) for the cycle's step sizes τᵢ."""
        tau = up.Local("tau")
        taus = tuple(
            round(t, 12) for t in fed_steps(block.steps, float(block.scheme.args["tau_max"]))
        )
        inner = CycleLoop(block, lambda u, rhs: (up.Assign((u,), (u + tau * rhs,)),))
        return up.Update(
            numbers={
                "taus": taus,
                "cycles": int(block.scheme.args["cycles"]),
                "steps": block.steps,
            },
            body=(inner.loop(up.Number("taus"), tau),),
            pieces=inner.pieces,
        )


class CycleLoop:
    """The loop of a FED-like scheme: `cycles` times, over the cycle's coefficients
    (`over`, one per step), `step(u, f)` with f the right-hand side, or, with the
    diffusivity frozen per cycle, the operator at the g computed at the cycle's start."""

    def __init__(self, block: Block, step, setup=()) -> None:
        self.block, self.step, self.setup = block, step, setup
        self.frozen = FrozenPieces(block) if freezes(block) else None
        self.pieces = self.frozen.used(jacobi=False) if self.frozen else ()

    def loop(self, over: up.Expr, var: up.Local) -> up.Loop:
        (name,) = self.block.pde.states
        u, j = up.State(name), up.Local("j")
        if self.frozen is not None:
            g = up.Local("g")
            rhs = up.Call(self.frozen.operator, (u, g, up.Num(0)))
            first = (up.Assign((g,), (up.Call(self.frozen.diffusivity, (u, up.Num(0))),)),)
        else:
            rhs, first = up.Rhs(name, step_index(self.block, j)), ()
        inner = up.Loop(tuple(self.step(u, rhs)), over=over, var=var, index=j)
        body = (*first, *self.setup(u), inner) if callable(self.setup) else (*first, inner)
        return up.Loop(body, count=up.Number("cycles"))
