"""Multigrid V-cycles for the semi-implicit diffusion step: a U-net (Alt et al. 2023).

The system (I + τ c K' G K) v = u (G the lagged diffusivity) is solved by V-cycles:
damped-Jacobi smoothing (residual diffusion blocks) before and after, restriction by a
strided convolution R (cell-centred, [1, 3, 3, 1]/8), prolongation by the transposed strided convolution
with R's own kernel (P = 2^d R'), and the coarse-grid correction added back (the U-net's
skip). Coarse levels rediscretise the operator at spacing 2^l h (a factor 4^-l) and
restrict the diffusivity with R.
"""

from __future__ import annotations

import sympy

from pde2net.analysis import amplification as amp
from pde2net.analysis.report import Check
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError
from pde2net.schemes import register
from pde2net.schemes.base import Frame, Scheme
from pde2net.schemes.common import literal, num
from pde2net.schemes.implicit import (
    Implicit,
    _first_difference,
    form_of,
    frozen_methods,
    jacobi_check,
)

TRANSFER = (0.125, 0.375, 0.375, 0.125)  # cell-centred linear transfer, per axis


@register
class Multigrid(Scheme):
    name = "multigrid"
    title = "multigrid V-cycle (U-net)"
    order = 1
    helpers = ("stencil", "multigrid")
    arguments = (
        ArgSpec("tau", "positive", help="the time step of the implicit system"),
        ArgSpec("levels", "posint", 3, help="grid levels (U-net depth)"),
        ArgSpec("pre", "count", 2, help="smoothing steps before coarse correction"),
        ArgSpec("post", "count", 2, help="smoothing steps after coarse correction"),
        ArgSpec("cycles", "posint", 1, help="V-cycles per time step"),
        ArgSpec("cycle", "choice", "V", choices=("V",)),
        ArgSpec("omega", "positive", sympy.Rational(2, 3), help="Jacobi damping"),
        ArgSpec("coarse", "posint", 16, help="conjugate-gradient steps on the coarsest grid"),
        ArgSpec("steps", "posint", 1, help="time steps"),
        ArgSpec("shared", "bool", True, help="one set of weights for all time steps"),
    )

    def validate(self, block: Block) -> None:
        super().validate(block)
        form_of(block)
        factor = 2 ** (int(block.scheme.args["levels"]) - 1)
        bad = [n for n in block.shape[1:] if n % factor]
        if bad:
            raise SpecError(
                f"multigrid with {block.scheme.args['levels']} levels halves the grid "
                f"{int(block.scheme.args['levels']) - 1} times, so each size must be a "
                f"multiple of {factor}, but the data is {'x'.join(map(str, block.shape[1:]))}",
                block.scheme.loc,
            )

    def checks(self, block: Block) -> list[Check]:
        step = Implicit().checks(_as_implicit(block))[0]
        args = block.scheme.args
        omega = block.scheme.number("omega")
        tau = block.scheme.number("tau")
        levels = int(args["levels"])
        shape = f"V({args['pre']}, {args['post']}), {levels} levels, {args['cycles']} cycle(s)"
        system = amp.linear_system(block.pde)
        form = form_of(block)
        if system is not None and levels > 1:
            smoother = jacobi_check(
                block, system, tau, omega, tuple(range(levels - 1)), "multigrid smoother"
            )
        elif form.stencil and _first_difference(block, form.weight) and 0 < omega <= 1:
            smoother = Check(
                name="multigrid smoother",
                formula="damped Jacobi converges iff 0 < ω < 2/λ_max(D⁻¹A)",
                condition=f"ω = {num(omega)} ≤ 1; {shape}",
                status="proven",
                reason="A = I + τ D' G D with D a first difference and G ≥ 0: 2 diag(A) − A "
                "is I + τ times a signless Laplacian, positive definite, so λ(D⁻¹A) ∈ (0, 2) "
                "and every ω ∈ (0, 1] converges.",
            )
        else:
            smoother = Check(
                name="multigrid smoother",
                formula="damped Jacobi converges iff 0 < ω < 2/λ_max(D⁻¹A)",
                condition=f"ω = {num(omega)}; λ_max(D⁻¹A) depends on "
                + ("the learned K" if not form.stencil else "the frozen diffusivity"),
                status="conditional" if not form.stencil else "unverified",
                reason="λ_max(D⁻¹A) is not known in advance for this operator, so the "
                "smoother's convergence (ω < 2/λ_max) is not decided.",
            )
        cycle = Check(
            name="multigrid V-cycle",
            formula="‖E_V‖ < 1 for the V-cycle's error propagation",
            condition=f"{shape}: not derived",
            status="conditional",
            reason="The exact semi-implicit step is stable (above); pde2net derives no bound "
            "for the error of a fixed number of V-cycles, so the computed step is not proven "
            "to be stable (tests measure its residual reduction).",
        )
        return [step, smoother, cycle]

    def init_lines(self, block: Block) -> list[str]:
        kernel = list(TRANSFER)
        if block.pde.dims == 2:
            kernel = [[a * b for b in TRANSFER] for a in TRANSFER]
        shape = (1, 1) + (4,) * block.pde.dims
        return [f'self.register_buffer("transfer", torch.tensor({kernel!r}).view{shape!r})']

    def methods(self, block: Block, frame: Frame) -> list[list[str]]:
        (u,) = frame.states
        args = block.scheme.args
        tau = literal(block.scheme.number("tau"))
        levels = int(args["levels"])
        omega = repr(float(args["omega"]))
        c = frame.channels[0]
        dims = tuple(range(1, 2 + block.pde.dims))
        return [
            *frozen_methods(block, frame, jacobi=True),
            [
                "def matvec(self, v: torch.Tensor, g: torch.Tensor, level: int) -> torch.Tensor:",
                '    """A v = v - tau F_g(v) on grid `level` (spacing 2^level h: F scales by 4^-level)."""',
                f"    return v - {tau} * 0.25**level * self.operator(v, g, 0)",
            ],
            [
                "def smooth(",
                "    self, v: torch.Tensor, b: torch.Tensor, g: torch.Tensor, level: int, n: int",
                ") -> torch.Tensor:",
                '    """n damped-Jacobi steps on A v = b: residual diffusion blocks."""',
                f"    d = 1 + {tau} * 0.25**level * self.diagonal(g, 0)",
                "    for _ in range(n):",
                f"        v = v + {omega} * (b - self.matvec(v, g, level)) / d",
                "    return v",
            ],
            [
                "def coarse_solve(",
                "    self, v: torch.Tensor, b: torch.Tensor, g: torch.Tensor, level: int, n: int",
                ") -> torch.Tensor:",
                '    """n conjugate-gradient steps on A v = b: the solve on the coarsest grid."""',
                "    r = b - self.matvec(v, g, level)",
                "    p = r",
                f"    rr = (r * r).sum(dim={dims!r}, keepdim=True)",
                "    for _ in range(n):",
                "        ap = self.matvec(p, g, level)",
                f"        alpha = rr / (p * ap).sum(dim={dims!r}, keepdim=True).clamp_min(1e-30)",
                "        v = v + alpha * p",
                "        r = r - alpha * ap",
                f"        rr_next = (r * r).sum(dim={dims!r}, keepdim=True)",
                "        p = r + rr_next / rr.clamp_min(1e-30) * p",
                "        rr = rr_next",
                "    return v",
            ],
            [
                "def vcycle(",
                "    self, v: torch.Tensor, b: torch.Tensor, g: torch.Tensor, level: int = 0",
                ") -> torch.Tensor:",
                '    """One V-cycle on A v = b: the U-net from `level` down."""',
                f"    if level == {levels - 1}:",
                f"        return self.coarse_solve(v, b, g, level, {int(args['coarse'])})",
                f"    v = self.smooth(v, b, g, level, {int(args['pre'])})",
                f"    residual = restrict(b - self.matvec(v, g, level), self.transfer, {c})",
                "    coarse_g = coarsen(g)",
                "    correction = self.vcycle(torch.zeros_like(residual), residual, coarse_g, level + 1)",
                f"    v = v + prolong(correction, self.transfer, {c})",
                f"    return self.smooth(v, b, g, level, {int(args['post'])})",
            ],
            [
                f"def forward(self, {u}: torch.Tensor) -> torch.Tensor:",
                f"    for _ in range({block.steps}):  # semi-implicit steps, tau = {tau}",
                f"        g = self.diffusivity({u}, 0)",
                f"        v = {u}",
                f"        for _ in range({int(args['cycles'])}):",
                f"            v = self.vcycle(v, {u}, g)",
                f"        {u} = v",
                f"    return {u}",
            ],
        ]


def _as_implicit(block: Block) -> Block:
    import dataclasses

    args = {"tau": block.scheme.args["tau"], "solver": "cg", "iterations": 1}
    return dataclasses.replace(
        block, scheme=dataclasses.replace(block.scheme, name="implicit", args=args)
    )
