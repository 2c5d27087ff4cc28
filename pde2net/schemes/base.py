"""What every time-stepping scheme declares: its arguments, its update as data, and the
stability checks it derives. No scheme builds Python source: `update` returns statements
(schemes/update.py) that codegen/emit.py prints."""

from __future__ import annotations

from typing import ClassVar

import sympy

from pde2net.analysis.report import Check
from pde2net.ir import Block, Stencil, derivative
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError
from pde2net.schemes.update import Expr, Local, Num, Update

# Arguments several schemes take, declared once.
H = ArgSpec("h", "positive", help="the step size, e.g. h = 1", aliases=("tau",))
SHARED = ArgSpec("shared", "bool", False, help="one set of weights for all steps")
SHARED_CYCLE = ArgSpec("shared", "bool", True, help="one set of weights for all steps")
ENFORCE = ArgSpec("enforce", "bool", False, help="keep the step condition true by construction")
CYCLE_STEPS = ArgSpec("steps", "posint", 10, help="steps per cycle")
CYCLES = ArgSpec("cycles", "posint", 1)


def steps_arg(default: int = 1, help: str = "") -> ArgSpec:
    return ArgSpec("steps", "posint", default, help=help)


def value(number: sympy.Expr | object) -> int | float:
    """A scheme number as the generated class receives it: an int when integral, else the
    float nearest the exact value."""
    number = sympy.sympify(number)
    return int(number) if number.is_Integer else float(number)


def step_index(block: Block, j: Local) -> Expr:
    """Which weights a step uses: its own (`j`) or the one shared set (0)."""
    return Num(0) if block.shared else j


class Scheme:
    """A time-stepping scheme: one subclass per module, registered in `schemes.REGISTRY`.

    It declares `arguments` (bound by the lowering), `checks` (the stability analysis),
    `update` (what the generated block computes, as data) and, optionally,
    `size_factor` (the spatial sizes the block needs to divide) and `summed_counts`.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    order: ClassVar[int]  # the time derivative it integrates: 1 for dt(u), 2 for dtt(u)
    arguments: ClassVar[tuple[ArgSpec, ...]]
    reversible: ClassVar[bool] = False
    # count arguments whose evaluations add up within one repeat instead of multiplying
    # (multigrid's smoothing and coarse steps), for the cost estimate (lang/budget.py)
    summed_counts: ClassVar[tuple[str, ...]] = ()
    # whether the scheme only evaluates right-hand sides (explicit): then stencils with
    # ghost cells held at dirichlet(b) data are fine; a scheme that hands the right-hand
    # side's operator to a linear solver needs it linear, which b ≠ 0 makes affine
    boundary_data: ClassVar[bool] = True
    # whether the scheme places depthwise learned weights itself (imex's implicit part);
    # elsewhere they are refused, as the norm checks and certify assume full kernels
    depthwise_weights: ClassVar[bool] = False

    def validate(self, block: Block) -> None:
        """Reject blocks this scheme cannot step (raises a SpecError at the `by`)."""
        depthwise = [w for w in block.pde.weights.values() if w.depthwise]
        if depthwise and not self.depthwise_weights:
            raise SpecError(
                f"scheme '{self.name}' cannot step the depthwise weight '{depthwise[0].name}': "
                "depthwise weights are only the implicit part -c D' D u of imex",
                depthwise[0].loc,
            )
        grid = block.pde.grid
        stencils = any(eq.rhs.atoms(Stencil) for eq in block.pde.equations)
        data = grid is not None and grid.boundary == "dirichlet"
        if not self.boundary_data and data and stencils:
            raise SpecError(
                f"scheme '{self.name}' solves a linear system with the right-hand "
                f"side's operator, and dirichlet({sympy.sstr(grid.data)}) boundary data "
                "makes that operator affine, not linear; step this pde with an explicit "
                "scheme (euler, rk4, fed, …) or use a zero, neumann or periodic grid",
                block.scheme.loc,
            )
        wrong = [eq for eq in block.pde.equations if eq.order != self.order]
        if wrong:
            have, want = derivative(wrong[0].order), derivative(self.order)
            hint = "; second-order equations take 'leapfrog'" if have == "dtt" else ""
            raise SpecError(
                f"scheme '{self.name}' steps {want}(u) = ... equations, but "
                f"{block.pde.name} has {have}({wrong[0].state}) = ...{hint}",
                block.scheme.loc,
            )

    def checks(self, block: Block) -> list[Check]:
        """The stability conditions for this block, derived from its expressions."""
        raise NotImplementedError

    def update(self, block: Block) -> Update:
        """The block's computation as statements over its states (schemes/update.py)."""
        raise NotImplementedError

    def size_factor(self, block: Block) -> int:
        """Every spatial size the block sees must be a multiple of this."""
        return 1

    def repeat_factor(self, block: Block) -> int:
        """How many times more the block evaluates its right-hand side than the product
        of its count arguments says (a W-cycle's coarse levels), for the cost estimate."""
        return 1

    def looped_counts(self, block: Block) -> tuple[str, ...]:
        """Count arguments whose repeats the export writes as an ONNX Loop over one copy
        of their work (export/compose.py), so the graph does not grow with them."""
        return ()


class LinearSolveScheme(Scheme):
    """A first-order scheme that hands the right-hand side's operator to a linear solver
    (CG, Jacobi, multigrid, the periodic solve): the operator must be linear, which
    dirichlet(b ≠ 0) ghost cells make affine, so such data is refused at the `by`."""

    boundary_data = False
    order = 1
