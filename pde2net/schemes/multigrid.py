"""Multigrid V- and W-cycles for the semi-implicit diffusion step: a U-net (Alt et al.
2023).

The system (I + τ c K' G K) v = u (G the lagged diffusivity) is solved by V-cycles (one
coarse-grid correction per level) or W-cycles (`cycle = W`: two, each a cycle itself):
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
from pde2net.plan import LOOP_MIN
from pde2net.schemes import register
from pde2net.schemes import update as up
from pde2net.schemes.base import LinearSolveScheme, steps_arg, value
from pde2net.schemes.common import num
from pde2net.schemes.implicit import (
    FrozenPieces,
    Implicit,
    _first_difference,
    form_of,
    jacobi_check,
)

TRANSFER = (0.125, 0.375, 0.375, 0.125)  # cell-centred linear transfer, per axis


@register
class Multigrid(LinearSolveScheme):
    name = "multigrid"
    title = "multigrid cycle (U-net)"
    summed_counts = ("pre", "post", "coarse")
    arguments = (
        ArgSpec("tau", "positive", help="the time step of the implicit system"),
        ArgSpec("levels", "posint", 3, help="grid levels (U-net depth)"),
        ArgSpec("pre", "count", 2, help="smoothing steps before coarse correction"),
        ArgSpec("post", "count", 2, help="smoothing steps after coarse correction"),
        ArgSpec("cycles", "posint", 1, help="cycles per time step"),
        ArgSpec(
            "cycle", "choice", "V", choices=("V", "W"), help="V: one coarse correction, W: two"
        ),
        ArgSpec("omega", "positive", sympy.Rational(2, 3), help="Jacobi damping"),
        ArgSpec("coarse", "posint", 16, help="conjugate-gradient steps on the coarsest grid"),
        steps_arg(help="time steps"),
        ArgSpec("shared", "bool", True, help="one set of weights for all time steps"),
    )

    def validate(self, block: Block) -> None:
        super().validate(block)
        form_of(block)
        factor = self.size_factor(block)
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
        kind = args["cycle"]
        shape = f"{kind}({args['pre']}, {args['post']}), {levels} levels, {args['cycles']} cycle(s)"
        system = amp.linear_system(block.pde)
        form = form_of(block)
        if system is not None and levels > 1:
            smoother = jacobi_check(
                block, system, tau, omega, tuple(range(levels - 1)), "multigrid smoother"
            )
        else:
            laplacian = form.stencil and _first_difference(block, form.weight) and 0 < omega <= 1
            depends = "the learned K" if not form.stencil else "the frozen diffusivity"
            smoother = Check(
                name="multigrid smoother",
                formula="damped Jacobi converges iff 0 < ω < 2/λ_max(D⁻¹A)",
                condition=f"ω = {num(omega)} ≤ 1; {shape}"
                if laplacian
                else f"ω = {num(omega)}; λ_max(D⁻¹A) depends on {depends}",
                status="proven"
                if laplacian
                else ("conditional" if not form.stencil else "unverified"),
                reason="A = I + τ D' G D with D a first difference and G ≥ 0: 2 diag(A) − A "
                "is I + τ times a signless Laplacian, positive definite, so λ(D⁻¹A) ∈ (0, 2) "
                "and every ω ∈ (0, 1] converges."
                if laplacian
                else "λ_max(D⁻¹A) is not known in advance for this operator, so the "
                "smoother's convergence (ω < 2/λ_max) is not decided.",
            )
        cycle = Check(
            name=f"multigrid {kind}-cycle",
            formula=f"‖E_{kind}‖ < 1 for the {kind}-cycle's error propagation",
            condition=f"{shape}: not derived",
            status="conditional",
            reason="The exact semi-implicit step is stable (above); pde2net derives no bound "
            f"for the error of a fixed number of {kind}-cycles, so the computed step is not "
            "proven to be stable (tests measure its residual reduction).",
        )
        return [step, smoother, cycle]

    def size_factor(self, block: Block) -> int:
        return 2 ** (int(block.scheme.args["levels"]) - 1)

    def looped_counts(self, block: Block) -> tuple[str, ...]:
        """The cycles of a time step: an ONNX Loop from LOOP_MIN on."""
        return ("cycles",) if int(block.scheme.args["cycles"]) >= LOOP_MIN else ()

    def repeat_factor(self, block: Block) -> int:
        """A W-cycle visits level l 2^l times, 2^L - 1 visits in all against the V-cycle's
        L (which the estimate's product over `levels` counts): at most that ratio more."""
        levels = int(block.scheme.args["levels"])
        return -(-(2**levels - 1) // levels) if block.scheme.args["cycle"] == "W" else 1

    def update(self, block: Block) -> up.Update:
        """`steps` times: freeze g at u, then `cycles` V- or W-cycles on (I - tau F_g) v = u."""
        (name,) = block.pde.states
        args = block.scheme.args
        u, g, v = up.State(name), up.Local("g"), up.Local("v")
        w, gl, level = up.Local("w"), up.Local("g"), up.Local("level")
        pieces = FrozenPieces(block)
        scale = up.Number("tau") * up.Num(0.25) ** level
        operator = up.Piece(
            "level_operator",
            (w, gl, level),
            "tau F_g(w) on grid `level` (spacing 2^level h: F scales by 4^-level).",
            (up.Return(scale * up.Call(pieces.operator, (w, gl, up.Num(0)))),),
        )
        b, x, gx, lx = up.Local("b"), up.Local("v"), up.Local("g"), up.Local("level")
        diagonal = up.Lambda(
            (gx, lx),
            up.Number("tau") * up.Num(0.25) ** lx * up.Call(pieces.diagonal, (gx, up.Num(0))),
        )
        kind = args["cycle"]
        vcycle = up.Piece(
            f"{kind.lower()}cycle",
            (x, b, gx),
            f"One {kind}-cycle on (I - tau F_g) v = b: the U-net.",
            (
                up.Return(
                    up.Call(
                        "multigrid_cycle",
                        (
                            up.Ref(operator),
                            diagonal,
                            x,
                            b,
                            gx,
                            up.Buffer("transfer"),
                            up.Number("vcycle_shape"),
                        ),
                    )
                ),
            ),
            index=False,
        )
        cycles = up.Lambda((w,), up.Call(vcycle, (w, u, g)))
        kernel = _transfer(block.pde.dims)
        shape = (
            int(args["levels"]),
            int(args["pre"]),
            int(args["post"]),
            value(block.scheme.number("omega")),
            int(args["coarse"]),
            block.shape[0],
            2 if kind == "W" else 1,
        )
        body = (
            up.Assign((g,), (up.Call(pieces.diffusivity, (u, up.Num(0))),)),
            up.Assign((v,), (u,)),
            up.Assign((v,), (up.Call("repeat", (cycles, v, up.Number("cycles"))),)),
            up.Assign((u,), (v,)),
        )
        return up.Update(
            numbers={
                "tau": value(block.scheme.number("tau")),
                "vcycle_shape": shape,
                "cycles": int(args["cycles"]),
                "steps": block.steps,
            },
            body=(up.Loop(body, count=up.Number("steps")),),
            pieces=(*pieces.used(jacobi=True), operator, vcycle),
            buffers={"transfer": (kernel, (1, 1) + (4,) * block.pde.dims)},
            helpers=("stencil", "multigrid", "solvers"),
        )


def _transfer(dims: int) -> list:
    """The d-dimensional transfer kernel: the tensor product of TRANSFER over the axes."""
    if dims == 1:
        return list(TRANSFER)
    return [_times(a, _transfer(dims - 1)) for a in TRANSFER]


def _times(a: float, kernel: list) -> list:
    return [_times(a, k) if isinstance(k, list) else a * k for k in kernel]


def _as_implicit(block: Block) -> Block:
    import dataclasses

    args = {"tau": block.scheme.args["tau"], "solver": "cg", "iterations": 1}
    return dataclasses.replace(
        block, scheme=dataclasses.replace(block.scheme, name="implicit", args=args)
    )
