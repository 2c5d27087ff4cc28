"""Builtin pointwise functions, defined by their SymPy expressions.

The expression is the definition: the analysis derives monotonicity and sup σ' from it.
`torch` names the fused kernel the generator calls instead of printing the expression.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from pde2net.ir import Function, Loc

X = sympy.Symbol("x", real=True)


def _relu(x: sympy.Symbol) -> sympy.Expr:
    return sympy.Piecewise((0, x < 0), (x, True))


def _leaky(x: sympy.Symbol, a: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((a * x, x < 0), (x, True))


# name -> (definition, torch kernel, names of extra parameters with defaults)
ACTIVATIONS: dict[str, tuple[Callable[..., sympy.Expr], str, dict[str, sympy.Expr]]] = {
    "relu": (_relu, "torch.relu", {}),
    "tanh": (sympy.tanh, "torch.tanh", {}),
    "sigmoid": (lambda x: 1 / (1 + sympy.exp(-x)), "torch.sigmoid", {}),
    "softplus": (lambda x: sympy.log(1 + sympy.exp(x)), "F.softplus", {}),
    "leaky_relu": (_leaky, "F.leaky_relu", {"a": sympy.Rational(1, 100)}),
    "identity": (lambda x: x, "", {}),
}

# Scalar functions allowed inside `fn` bodies, mapped to their SymPy constructors.
MATH: dict[str, Callable[..., sympy.Expr]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tanh": sympy.tanh,
    "atan": sympy.atan,
    "erf": sympy.erf,
    "max": sympy.Max,
    "min": sympy.Min,
}


def builtin_activation(name: str, params: list[sympy.Expr], loc: Loc | None) -> Function:
    """The builtin `name` with its parameters bound (e.g. leaky_relu's slope)."""
    build, kernel, defaults = ACTIVATIONS[name]
    values = list(params) + list(defaults.values())[len(params) :]
    expr = build(X, *values)
    return Function(name, X, expr, torch=kernel, torch_args=tuple(values), loc=loc)
