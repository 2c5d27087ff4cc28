"""Numbers the compiled network cannot hold: the generated module computes in float32.

The language's numbers are exact and `check` analyses any of them up to 1e308 in
magnitude (float64). A number that reaches the network's arithmetic, though, is a
float32 there: one past ±3.4e38 is infinite and one below 1.4e-45 is 0, so
`fn e(x) = 1e300 * x` or `min(x, 1e300)` cannot be compiled (torch refuses the clamp
bound, and the product is `inf` for every input). Nor can a constant function where the
network needs a field. `compile` and `train` refuse such a
number with a located error before anything is built; `check` still analyses it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import sympy

from pde2net import ir
from pde2net.lang.errors import SpecError

FLOAT32_MAX = float(np.finfo(np.float32).max)  # 3.4028235e38
FLOAT32_TINY = float(np.finfo(np.float32).smallest_subnormal)  # 1.4e-45


def _numbers(expr: sympy.Basic) -> Iterator[sympy.Expr]:
    """The largest number-valued subexpressions of `expr` (2*exp(700) in 2*exp(700)*x)."""
    if not isinstance(expr, sympy.Basic):
        return
    if isinstance(expr, sympy.Expr) and expr.is_number:
        yield expr
        return
    for arg in expr.args:
        yield from _numbers(arg)


def problem(value: sympy.Expr) -> str | None:
    """Why `value` cannot be a float32 of the network, or None."""
    try:
        magnitude = abs(complex(value.evalf(17, maxn=60)))
    except (TypeError, ValueError, ArithmeticError, OverflowError, RecursionError):
        return None  # left to the lowering's own checks
    if magnitude > FLOAT32_MAX:
        return f"{magnitude:.3g} is beyond float32's range (at most {FLOAT32_MAX:.3g})"
    if 0 < magnitude < FLOAT32_TINY:
        return f"{magnitude:.3g} is 0 in float32 (the smallest is {FLOAT32_TINY:.2g})"
    return None


def _expressions(network: ir.Network) -> Iterator[tuple[str, sympy.Expr, ir.Loc]]:
    """Every expression the network computes, with what it is and where it is declared."""
    seen: set[int] = set()

    def function(fn: ir.Function, fallback: ir.Loc) -> Iterator[tuple[str, sympy.Expr, ir.Loc]]:
        if id(fn) in seen:
            return
        seen.add(id(fn))
        loc = fn.loc or fallback
        yield f"'{fn.name}'", fn.expr, loc
        for arg in fn.torch_args:
            yield f"'{fn.name}'", sympy.Float(arg) if isinstance(arg, float) else arg, loc

    for layer in network.layers:
        if isinstance(layer, ir.ActivationLayer):
            yield from function(layer.function, layer.loc)
        elif isinstance(layer, ir.Block):
            for fn in layer.pde.functions.values():
                yield from function(fn, layer.loc)
            for eq in layer.pde.equations:
                yield f"the equation of pde '{layer.pde.name}'", eq.rhs, eq.loc


def _is_constant(fn: ir.Function) -> bool:
    return not fn.builtin and fn.var not in fn.expr.free_symbols


def _constant(network: ir.Network) -> tuple[ir.Function, ir.Loc] | None:
    """A user function that does not depend on its argument (`fn c(x) = 2`, `x - x`)
    used where the generated code needs a tensor and would get a number: as a layer of
    the network, or as all that a convolution, stencil or norm is applied to (`K' c(K
    u)`). In a sum with the state (`lap u - c(u)`) a number broadcasts and is fine."""
    for layer in network.layers:
        if isinstance(layer, ir.ActivationLayer) and _is_constant(layer.function):
            return layer.function, layer.function.loc or layer.loc
    for block in network.blocks:
        constants = {n: fn for n, fn in block.pde.functions.items() if _is_constant(fn)}
        if not constants:
            continue
        for eq in block.pde.equations:
            for node in sympy.preorder_traversal(eq.rhs):
                if not isinstance(node, (*ir.APPLICATIONS, ir.SumSq)) or isinstance(node, ir.Act):
                    continue
                operand = node.args[1] if isinstance(node, ir.APPLICATIONS) else node.args[0]
                used = [a for a in operand.atoms(ir.Act) if a.op in constants]
                folded = operand.xreplace({a: constants[a.op].expr for a in used})
                if used and not folded.atoms(*ir.APPLICATIONS) and not folded.free_symbols:
                    fn = constants[used[0].op]
                    return fn, fn.loc or eq.loc
    return None


def check(network: ir.Network) -> None:
    """Refuse (SpecError) a number of the network's arithmetic that float32 cannot hold,
    and a constant function (its value is a number, not a tensor of the network)."""
    constant = _constant(network)
    if constant is not None:
        fn, loc = constant
        raise SpecError(
            f"'{fn.name}' does not depend on {fn.var} ({fn.name}({fn.var}) = {fn.expr}) but is "
            "used where the network needs a field (a layer, or all a convolution, stencil "
            "or norm acts on): compile cannot build it; check analyses it",
            loc,
        )
    for what, expr, loc in _expressions(network):
        for value in _numbers(expr):
            found = problem(value)
            if found is not None:
                raise SpecError(
                    f"a number in {what}: {found}; the compiled network computes in "
                    "float32 (check analyses it exactly, compile cannot build it)",
                    loc,
                )
