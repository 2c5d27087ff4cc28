"""The builtin difference operators: forward differences, gradient, Laplacian.

Weights are SymPy expressions in the grid spacing's symbol, so the analysis derives
bounds in closed form in h. `div` is not a stencil of its own: it is -grad'.
"""

from __future__ import annotations

import sympy

from pde2net.ir import Grid, Loc, StencilDecl

NAMES = ("dx", "dy", "grad", "lap", "div")


def builtin_stencil(name: str, dims: int, grid: Grid, loc: Loc) -> StencilDecl | None:
    """The builtin `name` on a `dims`-dimensional grid (None if it has no such form)."""
    h = grid.symbol
    if dims == 1:
        table = {
            "dx": ([[-1, 1]], (0,)),
            "grad": ([[-1, 1]], (0,)),
            "lap": ([[1, -2, 1]], (1,)),
        }
        scale = {"dx": 1 / h, "grad": 1 / h, "lap": 1 / h**2}
    elif dims == 2:
        table = {
            "dx": ([[[-1, 1]]], (0, 0)),  # along the last (width) axis
            "dy": ([[[-1], [1]]], (0, 0)),
            "grad": ([[[-1, 1], [0, 0]], [[-1, 0], [1, 0]]], (0, 0)),
            "lap": ([[[0, 1, 0], [1, -4, 1], [0, 1, 0]]], (1, 1)),
        }
        scale = {"dx": 1 / h, "dy": 1 / h, "grad": 1 / h, "lap": 1 / h**2}
    else:
        return None
    if name not in table:
        return None
    kernels, origin = table[name]
    arrays = tuple(sympy.Array(k) * scale[name] for k in kernels)
    return StencilDecl(name, arrays, origin, grid, loc)
