"""Explicit Runge–Kutta steps: `by rk4(…)`, `heun`, `midpoint`, `ssprk3`, and any explicit
tableau, `by rk(a = [[0, 0], [1, 0]], b = [1/2, 1/2], tau = …, steps = …)`.

One step of an s-stage method, for every state at once:
    k_i = f(u + τ Σ_{j<i} a_ij k_j),    u ← u + τ Σ_i b_i k_i.

Stability, each verdict sound:
- a linear stencil system: the exact von Neumann analysis of G(θ) = R(τ A(θ)), R the
  method's stability polynomial; for one state with a real symbol, τ ≤ β / max|ŝ| with
  β the exact extent of the stability region on the negative real axis (RK4 on the 1D
  Laplacian: τ ≤ 2.7853 h²/4);
- anything else (learned symmetric layers, fluxes): a strong-stability-preserving method
  (SSP coefficient C > 0: heun, ssprk3) is a convex combination of forward Euler steps
  of size τ/C, so forward Euler's non-expansiveness checks at τ/C carry over (Gottlieb,
  Ketcheson & Shu 2011, Thm. 2.1); a method with C = 0 (rk4, midpoint) has no such
  theorem, and its step checks are `unverified`, with the linear condition stated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import sympy

from pde2net.analysis import amplification as amp
from pde2net.analysis.butcher import NAMED, Tableau
from pde2net.analysis.report import Check, Number
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import ENFORCE, SHARED, H, Scheme, step_index, steps_arg, value
from pde2net.schemes.common import LIPSCHITZ, num
from pde2net.schemes.conditions import EUCLIDEAN, linear_check, step_size
from pde2net.schemes.euler import Euler, stepped_by_euler

TRANSFERABLE = (LIPSCHITZ, EUCLIDEAN)  # non-expansiveness: what a convex combination keeps


def _is_step_check(check: Check) -> bool:
    """A check about the step (it depends on τ), not about the PDE or its functions."""
    return "step" in check.name.lower() or check.requires is not None or check.step is not None


class RungeKutta(Scheme):
    """A named explicit Runge–Kutta method; subclasses give the tableau."""

    tableau: ClassVar[Tableau]
    order = 1
    arguments = (H, steps_arg(), SHARED, ENFORCE)

    def tableau_of(self, block: Block) -> Tableau:
        """The method's tableau (a named method's own; `rk`'s from its arguments)."""
        return self.tableau

    def checks(self, block: Block) -> list[Check]:
        t = self.tableau_of(block)
        tau = step_size(block)
        system = amp.linear_system(block.pde)
        if system is not None:
            return [self._von_neumann(block, system, tau)]
        if t.ssp > 0:
            return self._ssp(block, tau)
        return self._no_theorem(block, tau)

    def _von_neumann(self, block: Block, system: amp.LinearSystem, tau: sympy.Expr) -> Check:
        t = self.tableau_of(block)
        try:
            bound = amp.extent_bound(system, t.real_extent)
        except amp.Undecided:
            bound = None
        rule = f"G(θ) = R(τ A(θ)), R(z) = {sympy.sstr(t.stability.as_expr())}"
        return linear_check(
            block, system, lambda a: amp.rk_step(a, tau, t.stability), tau, rule=rule, bound=bound
        )

    def _euler_checks(self, block: Block, h: sympy.Expr) -> list[Check]:
        """Forward Euler's checks of this block at step h (the same pde and weights)."""
        return Euler().checks(stepped_by_euler(block, h, steps=block.steps))

    def _ssp(self, block: Block, tau: sympy.Expr) -> list[Check]:
        t = self.tableau_of(block)
        h = tau / t.ssp
        why = (
            f"{self.title} is strong-stability preserving with coefficient C = {num(t.ssp)} "
            f"(a rigorous lower bound): each step is a convex combination of forward Euler "
            f"steps of size τ/C = {num(h)}, so a non-expansive Euler step at that size makes "
            f"the {self.title} step non-expansive (Gottlieb, Ketcheson & Shu 2011, Thm. 2.1)."
        )
        kept = ("proven", "enforced", "conditional")

        def carried(check: Check) -> Check:
            if check.notion in TRANSFERABLE and check.status in kept:
                return replace(
                    check,
                    name=f"{check.name} at τ/C (SSP)",
                    reason=f"{why} {check.reason}",
                    values={**check.values, "ssp": Number.bound(t.ssp)},
                )
            return replace(
                check,
                name=f"{check.name} at τ/C (SSP)",
                status="unverified",
                reason=f"{why} Here that sufficient condition does not give a proof "
                f"({check.status}: {check.reason}); nothing else is known.",
                requires=None,
            )

        return self._map_steps(block, h, carried)

    def _no_theorem(self, block: Block, tau: sympy.Expr) -> list[Check]:
        t = self.tableau_of(block)
        linear = (
            f"On a linear right-hand side with real eigenvalues in [−ρ, 0] it is stable "
            f"exactly when τ ρ ≤ β = {sympy.sstr(t.real_extent)} ≈ {float(t.real_extent):.6g}"
            f"; with imaginary eigenvalues in [−iρ, iρ], when τ ρ ≤ "
            f"{sympy.sstr(t.imaginary_extent)}."
        )

        def no_theorem(check: Check) -> Check:
            return replace(
                check,
                name=f"{self.title} step",
                status="unverified",
                condition=f"SSP coefficient C = 0; {linear}",
                reason=f"{self.title} is not strong-stability preserving (C = 0): no "
                "theorem bounds its nonlinear step by forward Euler's, and a linearisation "
                f"proves nothing about the nonlinear network. {linear}",
                requires=None,
                step=None,
                margin=None,
            )

        return self._map_steps(block, tau, no_theorem)

    def _map_steps(self, block: Block, h: sympy.Expr, change) -> list[Check]:
        """Forward Euler's checks at step h, each step check passed through `change`
        (the checks about the PDE and its functions are kept as they are)."""
        return [change(c) if _is_step_check(c) else c for c in self._euler_checks(block, h)]

    def update(self, block: Block) -> up.Update:
        """Stages k_i = f(u + τ Σ a_ij k_j), then u ← u + τ Σ b_i k_i, `steps` times."""
        t = self.tableau_of(block)
        j = up.Local("j")
        h = up.Number("h")
        index = step_index(block, j)
        states = tuple(up.State(s) for s in block.pde.states)
        stages: list[tuple[up.Local, ...]] = []
        body: list[up.Stmt] = []
        for i, row in enumerate(t.a):
            ks = tuple(up.Local(f"k{i + 1}") for _ in states)
            at = None
            if i > 0:
                at = tuple(
                    _combine(u, h, [(c, stages[m][n]) for m, c in enumerate(row[:i])])
                    for n, u in enumerate(states)
                )
            body.append(up.Assign(ks, tuple(up.Rhs(u.name, index, at) for u in states)))
            stages.append(ks)
        new = tuple(
            _combine(u, h, [(b, stages[m][n]) for m, b in enumerate(t.b)])
            for n, u in enumerate(states)
        )
        body.append(up.Assign(states, new))
        return up.Update(
            numbers={"h": value(block.scheme.number("h")), "steps": block.steps},
            body=(up.Loop(tuple(body), count=up.Number("steps"), index=j),),
        )


def _combine(u: up.Expr, h: up.Expr, terms: list[tuple[sympy.Rational, up.Expr]]) -> up.Expr:
    """u + h · (c_1 k_1 + …), zero coefficients dropped, unit ones unwritten."""
    total: up.Expr | None = None
    for c, k in terms:
        if c == 0:
            continue
        term = k if c == 1 else up.Num(float(c)) * k
        total = term if total is None else total + term
    return u if total is None else u + h * total


def _method(name: str, title: str) -> type[RungeKutta]:
    cls = type(name.upper(), (RungeKutta,), {"name": name, "title": title, "tableau": NAMED[name]})
    return register(cls)


RK4 = _method("rk4", "classical Runge–Kutta (RK4)")
Heun = _method("heun", "Heun's method (SSPRK2)")
Midpoint = _method("midpoint", "the explicit midpoint method")
SSPRK3 = _method("ssprk3", "the SSP Runge–Kutta method of order 3 (Shu–Osher)")


MAX_STAGES = 8  # exact SSP coefficients and extents stay fast; named methods have ≤ 4


@register
class GeneralRungeKutta(RungeKutta):
    """`rk(a = […], b = […])`: any explicit tableau, analysed exactly like the named ones
    (`rk(a = [[0, 0], [1, 0]], b = [1/2, 1/2])` is Heun's method, verdicts and outputs)."""

    name = "rk"
    title = "the explicit Runge–Kutta method"
    arguments = (
        ArgSpec("a", "matrix", help="the Butcher matrix, e.g. [[0, 0], [1, 0]]", longest=8),
        ArgSpec("b", "vector", help="the weights, e.g. [1/2, 1/2]", longest=8),
        H,
        steps_arg(),
        SHARED,
        ENFORCE,
    )

    def tableau_of(self, block: Block) -> Tableau:
        a, b = block.scheme.args["a"], block.scheme.args["b"]
        return Tableau.of("rk", a, b)

    def validate(self, block: Block) -> None:
        super().validate(block)
        args, locs = block.scheme.args, block.scheme.locs
        a, b = args["a"], args["b"]
        where_a, where_b = locs.get("a", block.scheme.loc), locs.get("b", block.scheme.loc)
        s = len(b)
        if not 1 <= s <= MAX_STAGES:
            raise SpecError(
                f"rk: b has {s} weights; a method has 1 to {MAX_STAGES} stages", where_b
            )
        if len(a) != s or any(len(row) != s for row in a):
            shape = " × ".join(str(n) for n in (len(a), *sorted({len(r) for r in a})[:1]))
            raise SpecError(
                f"rk: a must be {s} × {s} (b has {s} weights), but it is {shape}", where_a
            )
        for i in range(s):
            for j in range(i, s):
                if a[i][j] != 0:
                    raise SpecError(
                        f"rk: a[{i + 1}][{j + 1}] = {a[i][j]} is on or above the diagonal; "
                        "only explicit methods (a strictly lower triangular) are supported",
                        where_a,
                    )
        total = sum(b, sympy.Integer(0))
        if total != 1:
            raise SpecError(
                f"rk: the weights b sum to {total}, not 1: the method is not consistent "
                "(R(z) = 1 + (Σ b) z + …, so it does not approximate dt(u) = f(u))",
                where_b,
            )
