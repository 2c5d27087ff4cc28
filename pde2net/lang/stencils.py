"""The builtin difference operators: forward differences, gradient, Laplacian.

Weights are SymPy expressions in the grid spacing's symbol, so the analysis derives
bounds in closed form in h. `div` is not a stencil of its own: it is -grad'.
"""

from __future__ import annotations

import sympy

from pde2net.ir import Grid, Loc, StencilDecl

NAMES = ("dx", "dy", "dz", "grad", "lap", "div")


def _difference(step: tuple[int, int, int]) -> list:
    """A 2x2x2 kernel: -1 at the corner (0, 0, 0), +1 one cell away along one axis."""
    k = [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]
    k[0][0][0] = -1
    k[step[0]][step[1]][step[2]] = 1
    return k


def _laplacian_3d() -> list:
    """The 7-point Laplacian: -6 at the centre, 1 at each face neighbour."""
    k = [[[0] * 3 for _ in range(3)] for _ in range(3)]
    k[1][1][1] = -6
    for d, i, j in ((0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, 0), (1, 1, 2)):
        k[d][i][j] = 1
    return k


# Axes are (depth, height, width): dx along the width (last), dy along the height, dz
# along the depth; grad's components are in that order (x, y, z).
_TABLE_3D = {
    "dx": ([[[[-1, 1]]]], (0, 0, 0)),
    "dy": ([[[[-1], [1]]]], (0, 0, 0)),
    "dz": ([[[[-1]], [[1]]]], (0, 0, 0)),
    "grad": (
        [_difference((0, 0, 1)), _difference((0, 1, 0)), _difference((1, 0, 0))],
        (0, 0, 0),
    ),
    "lap": ([_laplacian_3d()], (1, 1, 1)),
}


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
    elif dims == 3:
        table = _TABLE_3D
        scale = {"dx": 1 / h, "dy": 1 / h, "dz": 1 / h, "grad": 1 / h, "lap": 1 / h**2}
    else:
        return None
    if name not in table:
        return None
    kernels, origin = table[name]
    arrays = tuple(sympy.Array(k) * scale[name] for k in kernels)
    return StencilDecl(name, arrays, origin, grid, loc)
