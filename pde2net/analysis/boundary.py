"""Constant boundary data, `grid h = 1 : dirichlet(b)`: when the verdict derived for the
scheme with zero ghost cells also holds with ghost cells held at b.

A stencil with ghost cells at b is affine: S_b u = S_0 u + S_b 0. So the step of a
right-hand side that is affine in the states is an affine map with the same linear part
as the zero-boundary step, and the difference of two solutions obeys the zero-boundary
scheme exactly; stability (bounded growth of perturbations) is that scheme's. When every
occurrence of a state is the operand of a stencil whose weights sum to zero (dx, grad,
lap), S_b u = S_0 (u − b), so the whole scheme is the zero-boundary scheme on u − b,
nonlinear fluxes included. Anything else (a pointwise reaction beside a stencil, a
learned convolution under a nonlinearity beside one) is covered by neither argument:
its checks say `unverified`, never more. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses

import sympy

from pde2net.analysis.report import Check
from pde2net.ir import PDE, Conv, ConvT, Stencil, StencilT

_KEPT = ("violated", "unverified")


def data_argument(pde: PDE) -> str | None:
    """Why the zero-boundary verdict covers this pde's dirichlet(b) data (a sentence for
    the report), or None when no argument does."""
    states = {sympy.Symbol(name) for name in pde.states}
    rhs = [eq.rhs for eq in pde.equations]
    if not any(e.atoms(Stencil) for e in rhs):
        return "the boundary data enters only through stencils, and this pde has none"
    if all(_affine(e, states) for e in rhs):
        return (
            "the right-hand side is affine in the states, so two solutions differ by a "
            "solution of the zero-boundary scheme"
        )
    if all(_shifted(e, states, pde) for e in rhs):
        return (
            "every state enters through stencils whose weights sum to zero, so u − b obeys "
            "the zero-boundary scheme"
        )
    return None


def with_boundary_data(pde: PDE, checks: list[Check]) -> list[Check]:
    """The checks of a pde on a dirichlet(b) grid, b ≠ 0: each says why it still holds,
    or, when no argument covers the data, is `unverified` (a violation stays one)."""
    grid = pde.grid
    if grid is None or grid.boundary != "dirichlet":
        return checks
    b = sympy.sstr(grid.data)
    why = data_argument(pde)
    if why is not None:
        note = f" With dirichlet({b}) the verdict is the zero-boundary scheme's: {why}."
        return [dataclasses.replace(c, reason=c.reason + note) for c in checks]
    note = (
        f"With dirichlet({b}) boundary data no argument carries this verdict over from zero "
        "ghost cells (the right-hand side is neither affine in the states nor built from "
        "zero-sum stencils of them), so nothing is claimed."
    )
    out = []
    for c in checks:
        if c.status in _KEPT:
            out.append(dataclasses.replace(c, reason=c.reason + " " + note))
        else:
            out.append(
                dataclasses.replace(
                    c,
                    status="unverified",
                    reason=f"{note} Without the data: {c.status}; {c.reason}",
                    requires=None,
                )
            )
    return out


def _affine(expr: sympy.Expr, states: set[sympy.Symbol]) -> bool:
    """Whether expr is an affine function of the states: sums, state-free factors and
    linear operators (learned convolutions, stencils and their adjoints)."""
    if not expr.free_symbols & states:
        return True
    if expr in states:
        return True
    if isinstance(expr, sympy.Add):
        return all(_affine(a, states) for a in expr.args)
    if isinstance(expr, sympy.Mul):
        fields = [a for a in expr.args if a.free_symbols & states]
        return len(fields) == 1 and _affine(fields[0], states)
    if type(expr) in (Conv, ConvT, Stencil, StencilT):
        return _affine(expr.operand, states)
    return False


def _shifted(expr: sympy.Expr, states: set[sympy.Symbol], pde: PDE) -> bool:
    """Whether every state in expr is the operand of a (forward) stencil whose kernels
    each sum to zero: then the expression is unchanged by u → u − b with ghost cells at b
    replaced by ghost cells at 0."""
    inner = {
        a: sympy.Dummy()
        for a in expr.atoms(Stencil)
        if type(a) is Stencil and a.operand in states and _zero_sum(pde, a.op)
    }
    return not expr.xreplace(inner).free_symbols & states


def _zero_sum(pde: PDE, name: str) -> bool:
    decl = pde.stencils.get(name)
    return decl is not None and all(
        sympy.simplify(sum(k.reshape(len(k)))) == 0 for k in decl.kernels
    )
