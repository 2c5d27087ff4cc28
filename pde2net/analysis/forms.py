"""Recognising the structure of a right-hand side, so the right theorem can be applied."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from pde2net.ir import PDE, Act, Conv, ConvT, Equation, Function, Norm, Stencil, StencilT, SumSq
from pde2net.lang.builtins import builtin_activation


@dataclass(frozen=True)
class SymmetricLayer:
    """rhs = s · c · K' σ(N(K v)) with c > 0 and sign s = ±1: Ruthotto & Haber's
    symmetric layer (s = -1 makes -K' σ(K ·) the gradient of a convex energy)."""

    weight: str
    function: Function
    norm: str | None
    coefficient: sympy.Expr  # c > 0
    sign: int
    operand: str  # the state K is applied to
    stencil: bool = False  # K is a fixed stencil rather than a learned weight


def symmetric(pde: PDE, eq: Equation) -> SymmetricLayer | None:
    """Match ±c K' σ(N(K v)) (σ and N optional) for a state v; None when it does not fit."""
    return _symmetric_term(pde, eq.rhs)


def symmetric_sum(pde: PDE, eq: Equation) -> list[SymmetricLayer] | None:
    """Match a sum of two or more dissipative symmetric terms on one state,
    -Σ c_i K_i' σ_i(N_i(K_i v)) (fixed stencils or learned weights, each used once);
    None when the right-hand side is not such a sum."""
    if not isinstance(eq.rhs, sympy.Add):
        return None
    terms = [_symmetric_term(pde, term) for term in eq.rhs.args]
    if any(t is None or t.sign > 0 for t in terms):
        return None
    forms = [t for t in terms if t is not None]
    weights = [t.weight for t in forms]
    if len({t.operand for t in forms}) != 1 or len(set(weights)) != len(weights):
        return None
    return forms


def _symmetric_term(pde: PDE, expr: sympy.Expr) -> SymmetricLayer | None:
    coeff, term = expr.as_coeff_Mul()
    if not (coeff.is_number and coeff != 0) or not isinstance(term, ConvT | StencilT):
        return None
    forward = Conv if isinstance(term, ConvT) else Stencil
    weight, inner = term.op, term.operand
    function = builtin_activation("identity", [], None)
    if isinstance(inner, Act):
        function = pde.functions[inner.op]
        inner = inner.operand
    norm = None
    if isinstance(inner, Norm):
        norm, inner = inner.op, inner.operand
    if not isinstance(inner, forward) or inner.op != weight:
        return None
    if not isinstance(inner.operand, sympy.Symbol) or str(inner.operand) not in pde.states:
        return None
    sign = 1 if coeff > 0 else -1
    return SymmetricLayer(
        weight, function, norm, abs(coeff), sign, str(inner.operand), forward is Stencil
    )


def vector_flux(pde: PDE, eq: Equation) -> SymmetricLayer | None:
    """Match the vector flux -c K'(g(|K v|²) · K v) (K = grad or a learned convolution):
    the isotropic Perona-Malik model and Alt et al.'s channel-coupling activation. Its
    secant is K' diag(g) K as for a scalar flux, so it is returned as the symmetric layer
    of the radial flux Φ(t) = t · g(t²), whose ratio Φ(t)/t = g(t²) ranges over g([0, ∞))."""
    coeff, term = eq.rhs.as_coeff_Mul()
    if not (coeff.is_number and coeff < 0) or not isinstance(term, ConvT | StencilT):
        return None
    forward = Conv if isinstance(term, ConvT) else Stencil
    weight = term.op
    factors = sympy.Mul.make_args(term.operand)
    inner = [f for f in factors if isinstance(f, forward) and f.op == weight]
    if len(inner) != 1:
        return None
    (kv,) = inner
    if not isinstance(kv.operand, sympy.Symbol) or str(kv.operand) not in pde.states:
        return None
    rest = sympy.Mul(*[f for f in factors if f is not kv])
    t = sympy.Dummy("t", real=True)
    radial = rest.subs(SumSq(kv), t**2)
    # expand the functions into their definitions; nothing else may read the state
    for act in sorted(radial.atoms(Act), key=sympy.default_sort_key):
        fn = pde.functions.get(act.op)
        if fn is None:
            return None
        radial = radial.subs(act, fn.expr.subs(fn.var, act.operand))
    if radial.has(SumSq, Conv, ConvT, Stencil, Norm) or radial.free_symbols & {
        sympy.Symbol(s) for s in pde.states
    }:
        return None
    names = sorted(a.op for a in rest.atoms(Act)) or ["1"]
    function = Function(f"{'·'.join(names)}(|{weight} u|²)", t, sympy.simplify(t * radial))
    function = Function(function.name, t, function.expr, flux=True)
    return SymmetricLayer(weight, function, None, -coeff, -1, str(kv.operand), forward is Stencil)


def states_used(pde: PDE, eq: Equation) -> set[str]:
    """The states a right-hand side reads."""
    return {str(s) for s in eq.rhs.free_symbols if str(s) in pde.states}
