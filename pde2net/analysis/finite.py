"""When a von Neumann verdict holds for the finite operator on a non-periodic grid.

The symbol decides the periodic problem: on a periodic grid every stencil is a circulant,
diagonalised by the Fourier modes θ = 2πk/N, so a decision for every θ holds at every N.
On a zero or Neumann grid the generated operator is a different finite matrix, and the
symbol only describes it where a theorem says so. Two are used (docs/stability.md):

1. *Tridiagonal symmetric stencils.* A stencil whose weights are symmetric about its
   origin, with entries only on the axes through the origin and at most one cell away
   (`lap`, `[1, -2, 1] / h^2`), is on a zero grid w₀I + Σ_k w_k T_k, T_k = tridiag(1, 0, 1)
   along axis k, and on a Neumann grid (replicated ghost cells) the same with T_k's two
   corner entries 1. Every such stencil (and its adjoint, the same matrix) is diagonal in
   one real orthonormal basis: the products of sin(πk(j + 1)/(N + 1)) (zero) or
   cos(πk(j + ½)/N) (Neumann), with eigenvalue its symbol at θ = πk/(N + 1) or πk/N.
   So any sum, product and scalar multiple of them, and any system coupling states
   through them, block-diagonalises into the amplification matrices G(θ) at those θ:
   the periodic decision for every θ is a decision for the finite operator, which is
   symmetric, at every N.
2. *Stencils of the state on a zero grid.* dt(u) = Σ c_i S_i u (+ adjoints S_i' u),
   no products of stencils, one state: the finite operator is the Toeplitz section
   T_N(ŝ) of the total symbol (T_N is linear in the symbol, and zero ghost cells make
   each S_i the section of its own). For a real symbol it is symmetric, and as a
   compression of the self-adjoint convolution on ℓ²(ℤ^d) its spectrum lies in the
   symbol's range.
3. *Sums of −c S'S.* dt(u) = −Σ c_t S_t'(S_t u), c_t > 0: the generated S' is the exact
   transpose of S (runtime.stencil_adjoint, boundary included), so the finite operator
   is −Σ c_t S_tᵀS_t, symmetric negative semi-definite. Its spectrum lies in
   [−max_θ Σ c_t |ŝ_t(θ)|², 0] when ‖S_t x‖² ≤ ⟨x̃, S_t*S_t x̃⟩ for the infinite operator:
   on a zero grid S_t is a compression of the convolution on ℓ²(ℤ^d) (x̃ = x extended by
   zero); on a Neumann grid for stencils one cell wide along a single axis whose
   reversed kernel is ± itself (dx, dy, grad's components, [1, -2, 1]), replicated
   ghost cells are the even reflection and ‖S_N x‖² = ½‖S_{2N} x̃‖² on the reflected
   2N-periodic x̃. The symbol's range must reach 0 (consistent differences) so that
   [low, high] covers the finite spectrum.

Anything else (a stencil wider than one cell on a Neumann grid, a product of
non-commuting Toeplitz sections such as `-lap (W u)` on a zero grid, advection on a
non-periodic grid) has a finite operator that the symbol does not describe: von Neumann
is then only a necessary condition, and the verdict is `unverified` either way.
"""

from __future__ import annotations

import itertools

import sympy

from pde2net.ir import PDE, Act, Equation, Stencil, StencilDecl, StencilT


def _entries(decl: StencilDecl) -> list[dict[tuple[int, ...], sympy.Expr]]:
    """Each component's nonzero weights by offset from the origin."""
    out = []
    for kernel in decl.kernels:
        weights = {}
        for index in itertools.product(*(range(n) for n in kernel.shape)):
            w = kernel[index]
            if w != 0:
                weights[tuple(i - o for i, o in zip(index, decl.origin, strict=True))] = w
        out.append(weights)
    return out


def tridiagonal_symmetric(decl: StencilDecl) -> bool:
    """One component, weights symmetric about the origin, only on the axes through it
    and at most one cell away (theorem 1)."""
    comps = _entries(decl)
    if len(comps) != 1:
        return False
    (weights,) = comps
    for offset, w in weights.items():
        if sum(1 for k in offset if k) > 1 or any(abs(k) > 1 for k in offset):
            return False
        mirror = tuple(-k for k in offset)
        if sympy.simplify(weights.get(mirror, 0) - w) != 0:
            return False
    return True


def _reflection_safe(decl: StencilDecl) -> bool:
    """Theorem 3 on a Neumann grid: every component acts along one axis, at most one cell
    to either side, and its reversed kernel (zeros trimmed) is ± itself."""
    for weights in _entries(decl):
        axes = {k for offset in weights for k, v in enumerate(offset) if v}
        if len(axes) > 1 or any(abs(v) > 1 for offset in weights for v in offset):
            return False
        if not axes:
            continue
        (axis,) = axes
        line = sorted((o[axis], w) for o, w in weights.items())
        ws = [w for _, w in line]
        offsets = [o for o, _ in line]
        if offsets != list(range(offsets[0], offsets[-1] + 1)):
            return False
        rev = ws[::-1]
        if not (
            all(sympy.simplify(a - b) == 0 for a, b in zip(ws, rev, strict=True))
            or all(sympy.simplify(a + b) == 0 for a, b in zip(ws, rev, strict=True))
        ):
            return False
    return True


def _stencils(expr: sympy.Expr) -> list[Stencil]:
    return [a for a in sympy.preorder_traversal(expr) if isinstance(a, Stencil)]


def shift(eq: Equation) -> sympy.Expr:
    """The sum of the right-hand side's terms r·u (r a number, u the state): a multiple
    of the identity, symmetric and commuting with every stencil, which moves the finite
    operator's spectrum and the symbol's range alike."""
    state = sympy.Symbol(eq.state)
    total = sympy.Integer(0)
    for term in sympy.Add.make_args(eq.rhs):
        coeff, rest = term.as_coeff_Mul()
        if rest == state and coeff.is_number:
            total += coeff
    return total


def _negative_gram_sum(pde: PDE, eq: Equation) -> bool:
    """rhs = Σ c_t S_t'(S_t u) + r u, every c_t < 0 and r numbers, u the equation's state."""
    state = sympy.Symbol(eq.state)
    for term in sympy.Add.make_args(eq.rhs):
        coeff, rest = term.as_coeff_Mul()
        if rest == state and coeff.is_number:
            continue  # r u: see `shift`
        if not (coeff.is_number and coeff < 0):
            return False
        if not isinstance(rest, StencilT):
            return False
        inner = rest.operand
        if isinstance(inner, Act):  # linearised: φ'(0) ≥ 0 keeps the sign
            fn = pde.functions.get(inner.op)
            slope = sympy.diff(fn.expr, fn.var).subs(fn.var, 0) if fn else None
            if slope is None or not slope.is_number or slope < 0:
                return False
            inner = inner.operand
        if type(inner) is not Stencil or inner.op != rest.op:
            return False
        if not (isinstance(inner.operand, sympy.Symbol) and str(inner.operand) == eq.state):
            return False
        if pde.stencils.get(rest.op) is None:
            return False
    return True


def _direct(eq: Equation) -> bool:
    """Every stencil (or adjoint) applies to the equation's state itself: no products."""
    return all(
        isinstance(s.operand, sympy.Symbol) and str(s.operand) == eq.state
        for s in _stencils(eq.rhs)
    )


def covered(pde: PDE, equations: list[Equation]) -> tuple[str | None, str]:
    """Which theorem makes the symbol's verdict a verdict for the finite operator
    generated on this grid ("periodic", "tridiagonal", "toeplitz", "gram"; None: none
    does), and the reason in one sentence. "toeplitz" also needs a real scalar symbol
    (one state), "gram" a symbol whose range reaches 0."""
    boundary = pde.grid.boundary if pde.grid else "zero"
    if boundary == "dirichlet":  # the data shifts u; what the verdict is about, the
        boundary = "zero"  # homogeneous scheme, has zero ghost cells (analysis/boundary.py)
    if boundary == "periodic":
        return (
            "periodic",
            "periodic grid: every stencil is a circulant, diagonalised by Fourier modes",
        )
    stencils = [s for eq in equations for s in _stencils(eq.rhs)]
    decls = [pde.stencils.get(s.op) for s in stencils]
    if any(d is None for d in decls):
        return None, "a stencil without a declaration"
    if all(tridiagonal_symmetric(d) for d in decls):
        return "tridiagonal", (
            f"on the {boundary} grid every stencil is symmetric and one cell wide along the "
            "axes, so the finite operator is symmetric and its modes are the symbol's at "
            f"θ = πk/{'(N + 1)' if boundary == 'zero' else 'N'}"
        )
    if boundary == "zero" and len(equations) == 1 and _direct(equations[0]):
        return "toeplitz", (
            "on the zero grid the operator, linear in stencils of the state, is the Toeplitz "
            "section of its symbol: symmetric for a real symbol, a compression of the "
            "infinite operator, its spectrum within the symbol's range"
        )
    if (
        len(equations) == 1
        and _negative_gram_sum(pde, equations[0])
        and (boundary == "zero" or all(_reflection_safe(d) for d in decls))
    ):
        return "gram", (
            f"on the {boundary} grid the operator is −Σ c S'S (+ r I) with S' the exact "
            "transpose: symmetric, its spectrum within the symbol's range"
        )
    return None, (
        f"on the {boundary} grid the generated finite operator is not covered by the "
        "symbol (a stencil wider than one cell, one-sided, or a product of stencils that "
        "need not commute, outside the −Σ c S'S form): it need not be symmetric, and von "
        "Neumann analysis of the periodic problem is only a necessary condition there"
    )
