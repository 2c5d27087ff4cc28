"""Recognising the structure of a right-hand side, so the right theorem can be applied."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from pde2net.ir import PDE, Act, Conv, ConvT, Equation, Function, Norm
from pde2net.lang.builtins import builtin_activation


@dataclass(frozen=True)
class SymmetricLayer:
    """rhs = -c · K' σ(N(K u)) with c > 0: the symmetric layer of Ruthotto & Haber."""

    weight: str
    function: Function
    norm: str | None
    coefficient: sympy.Expr  # c > 0
    operand: str  # the state K is applied to


def symmetric(pde: PDE, eq: Equation) -> SymmetricLayer | None:
    """Match -c K' σ(N(K v)) (σ and N optional) for a state v; None when it does not fit."""
    coeff, term = eq.rhs.as_coeff_Mul()
    if not (coeff.is_number and coeff < 0) or not isinstance(term, ConvT):
        return None
    weight, inner = term.op, term.operand
    function = builtin_activation("identity", [], None)
    if isinstance(inner, Act):
        function = pde.functions[inner.op]
        inner = inner.operand
    norm = None
    if isinstance(inner, Norm):
        norm, inner = inner.op, inner.operand
    if not isinstance(inner, Conv) or inner.op != weight:
        return None
    if not isinstance(inner.operand, sympy.Symbol) or str(inner.operand) not in pde.states:
        return None
    return SymmetricLayer(weight, function, norm, -coeff, str(inner.operand))
