"""Step-size conditions shared by the explicit schemes, derived with SymPy.

- von Neumann: fixed stencils, linear (or linearised) right-hand sides;
- Euclidean (Alt et al.): u ← u − τ c K' Φ(K u) with 0 ≤ Φ(s)/s ≤ L is non-expansive in
  ‖·‖₂ when τ c L ‖K‖₂² ≤ 2, monotone Φ or not; for a sum of such terms, when
  τ Σ c_i L_i ‖K_i‖₂² ≤ 2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy
import sympy

from pde2net.analysis import amplification as amp
from pde2net.analysis import finite
from pde2net.analysis.forms import SymmetricLayer
from pde2net.analysis.functions import flux_ratio, number, param_reason, shown
from pde2net.analysis.report import Check, NormCondition, Number, ParamBound, StepBound
from pde2net.analysis.vonneumann import operator_norm_squared
from pde2net.ir import Block, Equation, derivative
from pde2net.schemes.common import num

StepMap = Callable[[sympy.Matrix], sympy.Matrix]  # the step on symbols: A(θ) ↦ G(θ)

EUCLIDEAN = "Euclidean non-expansiveness (Alt et al.): ‖u^(k+1)‖₂ ≤ ‖u^k‖₂"
TAU = sympy.Symbol("tau", positive=True)


def formula(expr: sympy.Expr) -> str:
    """h**2/2 as h²/2 would be written by hand: h^2/2."""
    return sympy.sstr(expr).replace("**", "^").replace("theta", "θ")


def _grid_subs(block: Block) -> dict[sympy.Symbol, sympy.Expr]:
    grid = block.pde.grid
    return {grid.symbol: grid.value} if grid else {}


def _grid_text(block: Block) -> str:
    grid = block.pde.grid
    return f" ({grid.name} = {num(grid.value)})" if grid else ""


def step_size(block: Block) -> sympy.Expr:
    return block.scheme.number("h")


VON_NEUMANN = (
    "von Neumann (periodic ℓ², Lax–Richtmyer): every G(θ) power-bounded, its eigenvalues "
    "in |λ| ≤ 1 + τμ and none defective on that circle; μ = max(0, growth rate of the "
    "PDE's zeroth-order terms)"
)

SCHEME_STEPS: dict[str, Callable[[sympy.Matrix, sympy.Expr], sympy.Matrix]] = {
    "euler": amp.euler_step,
    "leapfrog": amp.leapfrog_step,
    "verlet": amp.verlet_step,
}
SCHEME_RULES = {
    "euler": "G(θ) = I + τ A(θ)",
    "leapfrog": "G(θ) = [[2I + τ² A(θ), −I], [I, 0]] on (u, u_prev)",
    "verlet": "G(θ) = (I + τ E₂A(θ))(I + τ E₁A(θ)): the states updated in turn",
}


def von_neumann(
    block: Block,
    scheme: str = "euler",
    *,
    equations: list[Equation] | None = None,
    linearise: bool = False,
) -> Check | None:
    """The exact von Neumann check of a linear stencil system stepped by `scheme`
    (forward Euler, leapfrog or Verlet, as their generated code steps); None when the
    right-hand sides are not linear in the states."""
    system = amp.linear_system(block.pde, equations, linearise=linearise)
    if system is None:
        return None
    tau = step_size(block)
    step = SCHEME_STEPS[scheme]
    try:
        if scheme == "euler":
            bound = amp.euler_bound(system)
        else:
            bound = amp.second_order_bound(system, step)
    except amp.Undecided:
        bound = None
    return linear_check(
        block,
        system,
        lambda a: step(a, tau),
        tau,
        rule=SCHEME_RULES[scheme],
        bound=bound,
    )


def linear_check(
    block: Block,
    system: amp.LinearSystem,
    step: Callable[[sympy.Matrix], sympy.Matrix],
    tau: sympy.Expr,
    *,
    rule: str,
    bound: amp.Bound | None = None,
    name: str = "von Neumann",
    tau_name: str = "τ",
) -> Check:
    """Decide power-boundedness of G = step(A) exactly at this τ; report the bound."""
    decision = amp.decide(system, step, tau)
    lin = (
        f" Linearised: {', '.join(system.linearised)} replaced by its slope at 0; the "
        "result is the linearisation's (small data)."
        if system.linearised
        else ""
    )
    if system.linearised:
        name += " (linearised)"
    shown = _system_text(system)
    mu = decision.mu
    growth = (
        f" The PDE's zeroth-order terms grow at the rate μ = {formula(mu)}: the scheme may "
        f"follow that growth, |λ| ≤ 1 + τμ (stable in the Lax–Richtmyer sense)."
        if mu != 0
        else ""
    )
    formula_text = f"ρ(G(θ)) ≤ 1{' + τμ' if mu != 0 else ''} for all θ, no defective "
    formula_text += f"eigenvalue on that circle; {rule}, {shown}"
    values: dict[str, Number] = {"tau": Number.exact(tau)}
    if mu != 0:
        values["mu"] = Number.exact(mu)
    step_bound = None
    bound_text = ""
    margin = None
    if bound is not None:
        values["bound"] = Number.exact(bound.value)
        rel = "<" if bound.strict else "≤"
        closed = formula(bound.closed) if bound.closed is not None else ""
        step_bound = StepBound(Number.exact(tau), Number.exact(bound.value), bound.strict, closed)
        if bound.value == 0:
            bound_text = f"no {tau_name} > 0 is stable; {tau_name} = {num(tau)}"
        elif bound.value == sympy.oo:
            bound_text = f"every {tau_name} > 0 is stable; {tau_name} = {num(tau)}"
        else:
            shown_closed = f"{closed} = " if closed and closed != formula(bound.value) else ""
            bound_text = (
                f"{tau_name} {rel} {shown_closed}{num(bound.value)}{_grid_text(block)}; "
                f"{tau_name} = {num(tau)}"
            )
            margin = float(bound.value / tau)
    status: str
    param_bound, prefix = None, ""
    if decision.stable is None:
        status = "unverified"
        reason = f"The exact von Neumann analysis could not decide: {decision.reason}.{lin}"
        condition = bound_text or "undecided"
    elif decision.stable:
        status = "conditional" if system.learned else "proven"
        reason = (
            f"Decided exactly (real-root isolation on rational coefficients, no sampling): "
            f"every amplification matrix is power-bounded at {tau_name} = {num(tau)}.{growth}"
        )
        if system.learned:
            per_channel = [p for p in system.learned if block.pde.params[p].channels]
            reason += (
                f" It uses the initial value of the learned {', '.join(system.learned)}, "
                "which training changes."
            )
            if per_channel:
                reason += (
                    f" {', '.join(per_channel)} holds one value per channel; the channels "
                    "are decoupled, so the condition is on the largest."
                )
            if block.scheme.args.get("enforce"):
                param_bound, why = learned_param_bound(block, system, step, tau)
                if param_bound is not None:
                    status = "enforced"
                    p = param_bound.param
                    each = " on every channel" if block.pde.params[p].channels else ""
                    reason += (
                        f" The generated module clamps {p}{each} into "
                        f"(0, {param_bound.bound!r}]: {why}"
                    )
                    prefix = f"{p} ≤ {param_bound.bound!r}{each} (clamped); "
                else:
                    reason += f" enforce = true cannot keep it: {why}"
        reason += lin
        condition = bound_text or f"power-bounded at {tau_name} = {num(tau)}"
    else:
        status = "violated"
        reason = f"Decided exactly: {decision.reason} at {tau_name} = {num(tau)}."
        if bound is not None and bound.value == 0:
            reason = (
                "Decided exactly: some Fourier mode is amplified for every step size "
                f"{tau_name} > 0 ({decision.reason}).{growth}"
            )
        reason += lin
        condition = bound_text or f"not power-bounded at {tau_name} = {num(tau)}"
    if decision.stable is not None:
        finite = _finite_reason(block, system)
        if finite is not None:  # the symbol does not describe the generated operator
            said = "power-bounded" if decision.stable else "not power-bounded"
            status = "unverified"
            reason = (
                f"On the periodic grid every amplification matrix is {said} at "
                f"{tau_name} = {num(tau)} (decided exactly), but {finite}.{lin}"
            )
            condition = f"periodic problem {said} at {tau_name} = {num(tau)}"
            step_bound, margin = None, None
            values.pop("bound", None)
    if (
        status != "unverified"
        and bound is not None
        and decision.stable is not None
        and 0 < bound.value < sympy.oo
    ):
        inside = tau < bound.value if bound.strict else tau <= bound.value
        if bool(inside) != decision.stable:  # a scheme the closed form does not describe
            step_bound = None
            values.pop("bound")
            margin = None
            condition = f"{'power-bounded' if decision.stable else 'not power-bounded'} at "
            condition += f"{tau_name} = {num(tau)}"
    if param_bound is not None:
        condition, margin = prefix + condition, 1.0
    return Check(
        name=name,
        formula=formula_text,
        condition=condition,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        notion=VON_NEUMANN,
        margin=margin,
        values=values,
        step=step_bound,
        param=param_bound,
    )


def learned_param_bound(
    block: Block, system: amp.LinearSystem, step: StepMap, tau: sympy.Expr
) -> tuple[ParamBound | None, str]:
    """The clamp 0 < κ ≤ κ* that keeps a learned positive κ stable, with why it is sound.

    Sound when every right-hand side is κ times a κ-free linear stencil expression, the
    state is scalar per channel with a real symbol whose range is [lo, 0] (lo < 0) and
    no growth allowance: then G = g(κ ŝ(θ)) for one function g, and κ is stable iff g is
    power-bounded on [κ lo, 0], a set of κ that shrinks as κ grows. So one exact
    decision at κ* (a float32 number, rounded down from the closed-form bound) proves
    every κ in (0, κ*]. Per channel the system is the same with κ_c, so the clamp of
    each channel proves the block. Otherwise (None, the reason)."""
    if len(system.learned) != 1:
        return None, f"it depends on {len(system.learned)} learned params"
    name = system.learned[0]
    param = block.pde.params[name]
    if not param.positive:
        return None, f"{name} is not declared positive"
    k = next((s for s in _symbols(block) if str(s) == name), None)
    eqs = [eq for eq in block.pde.equations if eq.state in system.states]
    for eq in eqs:
        for term in sympy.Add.make_args(sympy.expand(eq.rhs)):
            if k is None or term.as_independent(k)[1] != k:
                return None, f"the right-hand side {eq.text} is not {name} times a {name}-free term"
    span = amp.scalar_range(system) if system.n == 1 else None
    if span is None or span[1] != 0 or not span[0] < 0:
        return None, "the symbol's range is not an interval [lo, 0] with lo < 0"
    if amp.growth_allowance(system) != 0:
        return None, "the zeroth-order terms grow"
    value = amp.exact(param.value)
    target = _largest_stable_multiple(system, step, tau)
    if target is None or target[0] == sympy.oo:
        return None, "no finite exact bound on the step along the real axis"
    scale, strict = target
    top = value * scale
    clamp = _float32_at_most(top, strict)
    if not clamp > 0:
        return None, f"the bound on {name} is {top}"
    factor = sympy.Rational(clamp) / value
    scaled = dataclasses.replace(
        system, reaction=system.reaction * factor, stencil=system.stencil * factor
    )
    decision = amp.decide(scaled, step, tau)
    if decision.stable is not True:
        return None, f"the exact decision at {name} = {clamp!r} says {decision.reason}"
    return (
        ParamBound(name, clamp, sympy.sstr(top)),
        f"decided exactly at {name} = {clamp!r} (≤ {formula(top)}), and the stable "
        f"{name} form an interval from 0 because the symbol's range is [lo, 0].",
    )


def _symbols(block: Block) -> set[sympy.Symbol]:
    out: set[sympy.Symbol] = set()
    for eq in block.pde.equations:
        out |= eq.rhs.free_symbols
    return out


def _largest_stable_multiple(
    system: amp.LinearSystem, step: Callable[[sympy.Matrix], sympy.Matrix], tau: sympy.Expr
) -> tuple[sympy.Expr, bool] | None:
    """A candidate for the largest s with G(s A) power-bounded: x₀ / lo for x₀ the root of
    g² − 1 nearest below 0, g(x) = step([[x]]) the scalar amplification (None when g is
    not a rational function of x). Only a candidate: the caller decides it exactly."""
    x = sympy.Symbol("x", real=True)
    g = sympy.cancel(step(sympy.Matrix([[x]]))[0, 0])
    if g.free_symbols - {x}:
        return None
    lo = amp.scalar_range(system)[0]
    p = sympy.Poly(sympy.fraction(sympy.cancel(g**2 - 1))[0], x)
    roots = sorted((r for r in sympy.real_roots(p) if r < 0), key=lambda r: -r)
    if not roots:
        return sympy.oo, False
    return roots[0] / lo, False


def _float32_at_most(value: sympy.Expr, strict: bool) -> float:
    """The largest float32 number ≤ value (< value when strict)."""
    if value == sympy.oo:
        return float(numpy.finfo(numpy.float32).max)
    f = numpy.float32(float(value))
    while sympy.Rational(float(f)) > value or (strict and sympy.Rational(float(f)) == value):
        f = numpy.nextafter(f, numpy.float32(0))
    return float(f)


def _finite_reason(block: Block, system: amp.LinearSystem) -> str | None:
    """None when a theorem carries the symbol's decision to the finite operator the
    generated code applies on this grid (analysis/finite.py); else why it does not."""
    equations = [eq for eq in block.pde.equations if eq.state in system.states]
    kind, why = finite.covered(block.pde, equations)
    if kind == "toeplitz" and (system.n != 1 or amp.scalar_range(system) is None):
        return (
            "its symbol is not real, so the Toeplitz section the generated code applies on "
            "the zero grid is not symmetric and von Neumann analysis is only a necessary "
            "condition there"
        )
    if kind == "gram":
        ends = amp.scalar_range(system)
        (equation,) = equations
        if ends is None or ends[1] != finite.shift(equation):
            return (
                "the −Σ c S'S part's symbol does not reach 0, so its range need not "
                "enclose the finite operator's spectrum"
            )
    return None if kind is not None else why


def _system_text(system: amp.LinearSystem) -> str:
    a = system.reaction + system.stencil
    if system.n == 1:
        return f"ŝ(θ) = {amp.symbol_text(a[0, 0], system.dims)}"
    rows = "; ".join(
        ", ".join(amp.symbol_text(a[i, j], system.dims) for j in range(system.n))
        for i in range(system.n)
    )
    return f"A(θ) = [{rows}] on ({', '.join(system.states)})"


def _flux_check(form: SymmetricLayer, name: str, params: dict | None = None) -> Check:
    """0 ≤ Φ(s)/s ≤ L for the flux Φ of one symmetric term: proven only from SymPy's
    exact range or a rigorous enclosure; violated only on a confirmed counterexample."""
    fn = form.function
    ratio = flux_ratio(fn, params)
    kind = ratio.kind
    low, high = shown(ratio.low, kind), shown(ratio.high, kind)
    how = "SymPy bounds" if ratio.exact else "interval arithmetic (arb) bounds"
    values = {"L": number(ratio.high, kind), "low": number(ratio.low, kind)}
    base = {
        "name": name,
        "formula": f"0 ≤ Φ(s)/s ≤ L for all s ≠ 0  (Φ = {fn.name})",
        "condition": f"Φ(s)/s ∈ [{low}, {high}]",
        "notion": EUCLIDEAN,
        "values": values,
    }
    holds = ratio.sound and bool(ratio.low >= 0) and ratio.high < sympy.oo
    if ratio.depends_on and not ratio.uniform:
        verdict = holds if ratio.sound else None
        if ratio.refuted:
            verdict = False
        return Check(**base, status="conditional", reason=param_reason(ratio, verdict) + ".")
    if holds:
        return Check(
            **base,
            status="proven",
            reason=f"{how} Φ(s)/s between {num(ratio.low)} and L = {num(ratio.high)}; Φ need "
            "not be monotone for Euclidean stability.",
        )
    if ratio.refuted:
        return Check(
            **base,
            status="violated",
            reason=f"Φ(s)/s is {low} (< 0) near s = {ratio.worst_at}: the flux points uphill "
            "and amplifies differences.",
        )
    if ratio.kind == "exact" and ratio.high == sympy.oo:
        return Check(
            **base, status="violated", reason="Φ(s)/s is unbounded, so no step size is stable."
        )
    return Check(
        **base,
        status="unverified",
        reason=f"Φ(s)/s could not be bounded rigorously ({ratio.note}); sampled values "
        "prove nothing.",
    )


def _fixed_step(
    block: Block,
    name: str,
    rule: str,
    measured: str,
    derivation: str,
    closed: sympy.Expr,
    unwitnessed: str | None = None,
) -> Check:
    """The step condition τ ≤ `closed` (in the grid symbol) of fixed stencils: proven, or
    beyond it violated, unless `unwitnessed` says why exceeding this sufficient
    condition shows no growth (then unverified)."""
    tau = step_size(block)
    bound = sympy.simplify(closed.subs(_grid_subs(block)))
    ok = bool(tau <= bound)
    status = "proven" if ok else "unverified" if unwitnessed else "violated"
    beyond = f" The condition is only sufficient here: {unwitnessed}." if unwitnessed else ""
    return Check(
        name=name,
        formula=rule,
        condition=f"{measured}: τ ≤ {formula(closed)} = {num(bound)}{_grid_text(block)}; "
        f"τ = {num(tau)}",
        status=status,
        reason=f"{derivation} {formula(closed)}; τ = {num(tau)} is "
        f"{'within' if ok else 'beyond'} it.{'' if ok else beyond}",
        notion=EUCLIDEAN,
        margin=float(bound / tau),
        values={"tau": Number.exact(tau), "bound": Number.exact(bound)},
        step=StepBound(Number.exact(tau), Number.exact(bound), False, formula(closed)),
    )


def _unwitnessed(decl, form: SymmetricLayer, block: Block) -> str | None:
    """None when τ beyond the Euclidean bound is witnessed: the step's linearisation at
    u = 0, I − τ c Φ'(0) S'S, has an eigenvalue below −1 exactly when τ c Φ'(0) ‖S_N‖₂² > 2,
    so small perturbations grow; that happens on large enough grids when ‖S‖₂² is the
    supremum of the finite norms (`operator_norm_attained`) and L = sup Φ(s)/s is exact
    and equals Φ'(0). Otherwise why not."""
    from pde2net.analysis.vonneumann import operator_norm_attained

    if not operator_norm_attained(decl):
        return (
            f"‖{form.weight}‖₂² is only an upper bound on the {decl.boundary} grid (a padding "
            "factor, or no exact maximum), so the bound's failure shows no growth"
        )
    ratio = flux_ratio(form.function, block.pde.params)
    fn = form.function
    try:
        slope0 = sympy.limit(fn.expr / fn.var, fn.var, 0)
    except (NotImplementedError, ValueError, TypeError):
        slope0 = None
    if not ratio.exact or slope0 is None or sympy.simplify(slope0 - ratio.high) != 0:
        return (
            "L = sup Φ(s)/s is not Φ'(0) exactly, so the linearisation at u = 0 does not "
            "witness growth"
        )
    return None


def _sum_unwitnessed(block: Block, forms: list[SymmetricLayer]) -> str | None:
    """As `_unwitnessed`, for a sum of stencil flux terms: the linearisation at 0 is
    I − τ Σ c_i Φ_i'(0) S_i'S_i, whose norm reaches Σ c_i L_i ‖S_i‖₂² when every L_i is
    Φ_i'(0) and the symbols' maxima fall at one frequency."""
    from pde2net.analysis.vonneumann import sum_norm_attained

    for form in forms:
        why = _unwitnessed(block.pde.stencils[form.weight], form, block)
        if why is not None:
            return why
    terms = [(block.pde.stencils[f.weight], f.coefficient) for f in forms]
    if len(terms) > 1 and not sum_norm_attained(terms):
        return (
            "the terms' norms peak at different frequencies, so their sum bounds the norm "
            "of the summed operator from above only"
        )
    return None


def _derivative(eq: Equation) -> str:
    return f"{derivative(eq.order)}({eq.state})"


def euclidean(block: Block, form: SymmetricLayer, eq: Equation) -> list[Check]:
    """Alt et al.: 0 ≤ Φ(s)/s ≤ L, then τ c L ‖K‖₂² ≤ 2."""
    flux_check = _flux_check(form, f"{_derivative(eq)}: flux", block.pde.params)
    if flux_check.status != "proven":  # no sound L: no step bound to derive
        return [flux_check]
    if form.norm:
        from pde2net.schemes.norms import normalised_step

        return [flux_check, normalised_step(block, form, "Euclidean step", "τ · L · ‖K‖₂² ≤ 2")]
    lip = flux_ratio(form.function, block.pde.params).high  # exact or a rigorous bound
    tau = step_size(block)
    c = form.coefficient
    k = form.weight
    rule = "τ · L · ‖K‖₂² ≤ 2" if c == 1 else "τ · c · L · ‖K‖₂² ≤ 2"
    if lip == 0:
        zero = Check(
            name="Euclidean step",
            formula=rule,
            condition="L = 0: the flux vanishes",
            status="proven",
            reason="Φ = 0, so the step leaves u unchanged for every τ.",
            notion=EUCLIDEAN,
        )
        return [flux_check, zero]
    if form.stencil:
        decl = block.pde.stencils[k]
        norm2 = operator_norm_squared(decl)
        closed = sympy.simplify(2 / (c * lip * norm2))
        step = _fixed_step(
            block,
            "Euclidean step",
            rule,
            f"‖{k}‖₂² = {formula(norm2)}",
            f"SymPy finds ‖{k}‖₂² = max_θ |ŝ(θ)|² = {formula(norm2)}, so τ ≤ 2/(L‖{k}‖₂²) =",
            closed,
            _unwitnessed(decl, form, block),
        )
        return [flux_check, step]
    each = f"‖{k}_j‖₂" if block.copies > 1 else f"‖{k}‖₂"
    norm_bound = sympy.sqrt(2 / (tau * c * lip))
    enforced = bool(block.scheme.args.get("enforce"))
    step = Check(
        name="Euclidean step",
        formula=rule,
        condition=f"{num(tau)} · {num(c * lip)} · {each}² ≤ 2, i.e. {each} ≤ {num(norm_bound)}",
        status="enforced" if enforced else "conditional",
        reason=(
            f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(norm_bound)}."
            if enforced
            else f"{k} is learned, so the bound holds only while {each} ≤ {num(norm_bound)}; "
            "ask for 'enforce = true' to guarantee it."
        ),
        notion=EUCLIDEAN,
        margin=1.0 if enforced else None,
        values={"tau": Number.exact(tau), "norm_bound": Number.exact(norm_bound)},
        requires=NormCondition.of((k,), "each", norm_bound),
    )
    return [flux_check, step]


def euclidean_sum(block: Block, forms: list[SymmetricLayer], eq: Equation) -> list[Check]:
    """A sum of dissipative flux terms, u ← u − τ Σ c_i K_i' Φ_i(K_i u) with
    0 ≤ Φ_i(s)/s ≤ L_i: each term's secant Jacobian is symmetric positive semidefinite
    with norm ≤ c_i L_i ‖K_i‖₂², so their sum has norm ≤ Σ c_i L_i ‖K_i‖₂², and the step
    is non-expansive in ‖·‖₂ when τ Σ c_i L_i ‖K_i‖₂² ≤ 2. Fixed stencils contribute
    their exact norms; one learned kernel gets the bound that is left."""
    checks = [
        _flux_check(
            form, f"{_derivative(eq)}: flux {form.function.name} on {form.weight}", block.pde.params
        )
        for form in forms
    ]
    if any(c.status != "proven" for c in checks):  # no sound L for every term
        return checks
    tau = step_size(block)
    fixed = sympy.Integer(0)  # Σ c L ‖S‖₂² over the stencil terms, in the grid symbol
    learned: list[tuple[SymmetricLayer, sympy.Expr]] = []  # (form, c L) of learned terms
    for form in forms:
        strength = form.coefficient * flux_ratio(form.function, block.pde.params).high
        if strength == 0:
            continue
        if form.stencil:
            fixed += strength * operator_norm_squared(block.pde.stencils[form.weight])
        else:
            learned.append((form, strength))
    rule = "τ · Σ_i c_i · L_i · ‖K_i‖₂² ≤ 2"
    stencils = ", ".join(f.weight for f in forms if f.stencil)
    closed = sympy.simplify(fixed)
    used = sympy.simplify(closed.subs(_grid_subs(block)))
    name = "Euclidean step (sum)"
    if not learned and closed == 0:
        zero = Check(
            name=name,
            formula=rule,
            condition="L_i = 0 for every term: the fluxes vanish",
            status="proven",
            reason="Every Φ_i = 0, so the step leaves u unchanged for every τ.",
            notion=EUCLIDEAN,
        )
        return [*checks, zero]
    if not learned:
        sums = f"Σ c L ‖S‖₂² over {stencils} = {formula(closed)}"
        bound = sympy.simplify(2 / closed)
        unwitnessed = _sum_unwitnessed(block, [f for f in forms if f.stencil])
        derivation = f"SymPy finds {sums}, so τ ≤"
        return [*checks, _fixed_step(block, name, rule, sums, derivation, bound, unwitnessed)]
    fixed_text = f"{num(used)} + " if used != 0 else ""
    fixed_note = (
        f"; {stencils} contribute Σ c L ‖S‖₂² = {num(used)}{_grid_text(block)}" if used else ""
    )
    room = 2 / tau - used
    if len(learned) > 1:
        parts = " + ".join(f"{num(strength)} · ‖{f.weight}‖₂²" for f, strength in learned)
        checks.append(
            Check(
                name=name,
                formula=rule,
                condition=f"{fixed_text}{parts} ≤ {num(2 / tau)}{fixed_note}",
                status="conditional",
                reason="Two or more learned kernels share one step: the bound holds only "
                "while their norms satisfy it together; enforce covers a single learned "
                "kernel per equation.",
                notion=EUCLIDEAN,
            )
        )
        return checks
    form, strength = learned[0]
    k = form.weight
    each = f"‖{k}_j‖₂" if block.copies > 1 else f"‖{k}‖₂"
    if room <= 0:
        checks.append(
            Check(
                name=name,
                formula=rule,
                condition=f"{stencils} alone need τ ≤ {num(2 / used)}{_grid_text(block)}; "
                f"τ = {num(tau)}",
                status="violated",
                reason=f"The stencil terms use up the step before {k} adds anything: "
                f"τ · {num(used)} ≥ 2.",
                notion=EUCLIDEAN,
                margin=float(2 / used / tau),
            )
        )
        return checks
    norm_bound = sympy.sqrt(room / strength)
    enforced = bool(block.scheme.args.get("enforce"))
    checks.append(
        Check(
            name=name,
            formula=rule,
            condition=f"{num(tau)} · ({fixed_text}{num(strength)} · {each}²) ≤ 2, i.e. "
            f"{each} ≤ {num(norm_bound)}{fixed_note}",
            status="enforced" if enforced else "conditional",
            reason=(
                f"The generated module rescales {k} so that ‖{k}‖₂ ≤ {num(norm_bound)}."
                if enforced
                else f"{k} is learned, so the bound holds only while {each} ≤ "
                f"{num(norm_bound)}; ask for 'enforce = true' to guarantee it."
            ),
            notion=EUCLIDEAN,
            margin=1.0 if enforced else None,
            values={"tau": Number.exact(tau), "norm_bound": Number.exact(norm_bound)},
            requires=NormCondition.of((k,), "each", norm_bound),
        )
    )
    return checks


def cycle_check(
    block: Block,
    step: Callable[[sympy.Matrix], sympy.Matrix],
    tau: sympy.Expr,
    *,
    rule: str,
    name: str,
    tau_name: str,
) -> Check | None:
    """The exact von Neumann check of one cycle (FED, FSI) or one solver-iterated step
    of a linear stencil system; the explicit step's bound on `tau_name` is reported as
    the theorem's, the verdict is the exact one of the cycle as generated."""
    system = amp.linear_system(block.pde)
    if system is None:
        return None
    try:
        bound = amp.euler_bound(system) if system.n == 1 else None
    except amp.Undecided:
        bound = None
    return linear_check(
        block, system, step, tau, rule=rule, bound=bound, name=name, tau_name=tau_name
    )
