"""Syntax-tree expressions to SymPy, with channel checking for field expressions.

Spec formulas are never handed to `sympify` or `eval`: each node is built into SymPy here,
so the only names that exist are the ones a scope binds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sympy
from lark import Token, Tree

from pde2net.ir import (
    Act,
    Conv,
    ConvT,
    Function,
    Grid,
    Loc,
    Norm,
    NormDecl,
    Param,
    State,
    Stencil,
    StencilDecl,
    StencilT,
    SumSq,
    Weight,
)
from pde2net.lang.builtins import ACTIVATIONS, MATH, builtin_activation
from pde2net.lang.errors import SpecError, abbreviate, did_you_mean
from pde2net.lang.stencils import NAMES as STENCILS
from pde2net.lang.stencils import builtin_stencil

Node = Tree | Token

MAX_EXPONENT = 64  # |n| in x^n; larger powers of a field make no sense and cost time
# Numbers stay within float64's range and a sane precision, so that no exact arithmetic
# (or its float conversion) can blow up; a function may expand to a bounded expression.
MAX_MAGNITUDE = 10**308
MAX_DIGITS = 1000
MAX_TERMS = 2000
MAX_DEPTH = 100
MAX_EXPANSIONS = 2_000  # calls of one function while lowering a spec


@dataclass
class FunctionTemplate:
    """A user `fn`/`flux` as written: instantiated where it is used."""

    name: str
    params: list[str]
    body: Tree
    loc: Loc
    scope: Scope
    flux: bool = False  # declared with `flux`: the Euclidean (Alt et al.) notion applies
    active: bool = False  # being expanded right now (a call inside means recursion)
    expansions: int = 0  # how often it was expanded (functions calling functions twice
    # in their bodies expand exponentially often)


_KINDS = ("values", "params", "states", "weights", "norms", "functions", "stencils")
# What a name of each kind is, for messages: "'K' is a weight, not an activation".
_WHAT = {
    "values": "a number",
    "params": "a parameter",
    "states": "a state",
    "weights": "a weight",
    "norms": "a norm",
    "functions": "a function",
    "stencils": "a stencil",
}


@dataclass
class Scope:
    """Names visible to an expression, innermost first through `parent`."""

    file: str
    values: dict[str, sympy.Expr] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    weights: dict[str, Weight] = field(default_factory=dict)
    norms: dict[str, NormDecl] = field(default_factory=dict)
    functions: dict[str, FunctionTemplate] = field(default_factory=dict)
    stencils: dict[str, StencilDecl] = field(default_factory=dict)
    parent: Scope | None = None
    grid: Grid | None = None
    dims: int = 0

    def lookup(self, name: str) -> tuple[str, object] | None:
        scope: Scope | None = self
        while scope is not None:
            for kind in _KINDS:
                table = getattr(scope, kind)
                if name in table:
                    return kind, table[name]
            scope = scope.parent
        return None

    def names(self) -> set[str]:
        found: set[str] = set()
        scope: Scope | None = self
        while scope is not None:
            for kind in _KINDS:
                found.update(getattr(scope, kind))
            scope = scope.parent
        return found

    def defines(self, name: str) -> bool:
        return any(name in getattr(self, kind) for kind in _KINDS)


def loc_of(node: Node, file: str) -> Loc:
    """The source location of a tree or token."""
    if isinstance(node, Token):
        end = node.column + len(str(node)) if node.column is not None else None
        return Loc(file, node.line or 1, node.column or 1, end)
    meta = node.meta
    if getattr(meta, "empty", True):
        for child in node.children:
            if child is not None:
                return loc_of(child, file)
        return Loc(file, 1, 1)
    end = meta.end_column if meta.end_line == meta.line else None
    return Loc(file, meta.line, meta.column, end)


def number(token: Token, file: str) -> sympy.Rational:
    """An exact rational from a numeric literal (1e-3 is 1/1000, not a float)."""
    text = str(token)
    mantissa, _, exponent = text.lower().partition("e")
    # 1e308 is in range and 0.001e310 too; the exponent is bounded first so that no
    # huge power (or a 5,000-digit int conversion) is ever computed
    if exponent and (len(exponent.lstrip("+-")) > 6 or abs(int(exponent)) > 2 * MAX_DIGITS):
        raise SpecError(f"number {abbreviate(text)} is out of range", loc_of(token, file))
    if len(mantissa) > MAX_DIGITS:
        raise SpecError(
            f"number {text[:20]}... has more than {MAX_DIGITS} digits", loc_of(token, file)
        )
    value = sympy.Rational(mantissa) * sympy.Integer(10) ** int(exponent or 0)
    problem = number_problem(value)
    if problem is not None:
        raise SpecError(f"number {abbreviate(text)} {problem}", loc_of(token, file))
    return value


def _approx(value: sympy.Expr) -> str:
    try:
        return str(sympy.Float(value.evalf(3, maxn=60), 3))
    except (TypeError, ValueError, ArithmeticError):
        return str(value)[:40]


def number_problem(value: sympy.Expr) -> str | None:
    """Why a computed number cannot be used ('is out of range', ...), or None. Symbolic
    values (expressions in a variable or a parameter) are not numbers and pass."""
    if not isinstance(value, sympy.Expr) or not value.is_number:
        return None
    if value.is_Rational:
        p, q = abs(int(value.p)), int(value.q)
        if p > MAX_MAGNITUDE * q:
            return f"is out of range: about {_approx(value)} (at most 1e308 in magnitude)"
        if p and q > MAX_MAGNITUDE * p:
            return (
                f"is too small: about {_approx(value)} (a number other than 0 is at least "
                "1e-308 in magnitude)"
            )
        if max(p.bit_length(), q.bit_length()) > MAX_DIGITS * 10 // 3:
            return f"needs more than {MAX_DIGITS} digits"
        return None
    if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return "is not a finite number"
    try:
        approx = value.evalf(15, maxn=60)
        parts = approx.as_real_imag()
        if not all(isinstance(part, sympy.Number) for part in parts):
            return "cannot be evaluated"
        if any(part.is_finite is False or abs(part) > MAX_MAGNITUDE for part in parts):
            return f"is out of range: about {_approx(value)} (at most 1e308 in magnitude)"
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return "cannot be evaluated"
    return None


def real_number(value: sympy.Expr) -> sympy.Expr | None:
    """`value` as a finite real number that comparisons can decide, or None.

    Rationals and symbolic numbers SymPy knows to be real and non-zero (sqrt(2), exp(1))
    are kept exact; a value it cannot decide (sin(1)^2 + cos(1)^2 - 1) is replaced by its
    rational approximation; a complex or non-finite one gives None."""
    if not isinstance(value, sympy.Expr) or not value.is_number:
        return None
    if value.is_Rational:
        return value
    if number_problem(value) is not None:
        return None
    if value.is_extended_real and value.is_zero is False and value.is_finite:
        return value
    try:
        real, imag = value.evalf(30, maxn=120).as_real_imag()
        if not (isinstance(real, sympy.Number) and isinstance(imag, sympy.Number)):
            return None
        if abs(float(imag)) > 1e-12 * max(1.0, abs(float(real))):
            return None
        return sympy.nsimplify(float(real), rational=True)
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return None


FLOAT32_LARGEST = 10**30  # well inside float32 (3.4e38), where the network computes


def stencil_problem(decl: StencilDecl) -> str | None:
    """Why a stencil's weights, with the grid spacing plugged in, cannot be float32
    numbers the network computes with, or None."""
    try:
        weights = [w for kernel in decl.numeric() for w in kernel]
    except (TypeError, ValueError, ArithmeticError):
        return "has weights that are not numbers"
    worst = max((abs(w) for w in weights), default=0.0)
    if not math.isfinite(worst) or worst > FLOAT32_LARGEST:
        spacing = f" with {decl.grid.name} = {float(decl.grid.value):g}" if decl.grid else ""
        return f"has a weight of about {worst:.3g}{spacing}: out of float32 range (at most 1e30)"
    return None


_PROBES = (-10.0, -2.0, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 2.0, 10.0)


def non_real_point(expr: sympy.Expr, x: sympy.Symbol) -> tuple[float, complex] | None:
    """A point among a few probes where σ(x) is not real (sqrt(-1 - x^2), log(x) below 0),
    with the value there; None when every probe it can evaluate is real."""
    try:
        f = sympy.lambdify(x, expr, modules="cmath", dummify=True)
    except Exception:  # a function cmath lacks: nothing to probe
        return None
    for point in _PROBES:
        try:
            value = complex(f(point))
        except Exception:  # a pole, an overflow, a comparison of complex numbers
            continue
        if abs(value.imag) > 1e-9 * max(1.0, abs(value.real)):
            return point, value
    return None


def expression_problem(expr: sympy.Expr) -> str | None:
    """Why an expression is too big to handle (more than MAX_TERMS nodes or MAX_DEPTH
    levels), or None; stops as soon as it knows, so it is cheap on huge shared DAGs."""
    stack: list[tuple[sympy.Basic, int]] = [(expr, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_TERMS:
            return f"more than {MAX_TERMS} terms"
        if depth > MAX_DEPTH:
            return f"more than {MAX_DEPTH} levels of nesting"
        stack.extend((arg, depth + 1) for arg in node.args)
    return None


def source_text(node: Node) -> str:
    """A canonical spelling of an expression, for docstrings and reports."""
    if isinstance(node, Token):
        return str(node)
    kind, kids = node.data, node.children
    binary = {"add": " + ", "sub": " - ", "mul": " * ", "div": " / ", "pow": "^"}
    if kind in binary:
        return f"{_paren(kids[0], kind)}{binary[kind]}{_paren(kids[1], kind, right=True)}"
    if kind == "neg":
        return "-" + _paren(kids[0], kind)
    if kind == "number" or kind == "name":
        return str(kids[0])
    if kind == "adjoint":
        return f"{kids[0]}'"
    if kind == "juxt":
        return f"{source_text(kids[0])} {source_text(kids[1])}"
    if kind == "call_expr":
        return f"{source_text(kids[0])}({_args_text(kids[1])})"
    if kind == "call":  # a layer or scheme call: `parabolic(32)`, `euler(h = 1)`
        return str(kids[0]) if kids[1] is None else f"{kids[0]}({_args_text(kids[1])})"
    if kind == "list":
        return "[" + ", ".join(source_text(k) for k in kids) + "]"
    if kind == "magnitude":
        return f"|{source_text(kids[0])}|"
    if kind == "kw_arg":
        return f"{kids[0]} = {source_text(kids[1])}"
    if kind == "map_arg":
        return f"{source_text(kids[0])} -> {source_text(kids[1])}"
    if kind == "kernel_arg":
        return str(kids[0])
    return " ".join(source_text(k) for k in kids if k is not None)


_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


def _paren(node: Node, parent: str, right: bool = False) -> str:
    text = source_text(node)
    if isinstance(node, Tree) and node.data in _PRECEDENCE:
        mine, theirs = _PRECEDENCE[node.data], _PRECEDENCE[parent]
        same = mine == theirs
        if mine < theirs or (same and right and parent in ("sub", "div")):
            return f"({text})"
        if same and not right and parent == "pow":  # ^ is right-associative
            return f"({text})"
    return text


def _shown(node: Node) -> str:
    """'2^64^3', shortened for a message."""
    text = source_text(node)
    return f"'{text}'" if len(text) <= 40 else f"'{text[:37]}...'"


def _args_text(arglist: Tree) -> str:
    return ", ".join(source_text(a) for a in arglist.children if a is not None)


def call_args(arglist: Tree | None) -> list[Node]:
    return [] if arglist is None else [a for a in arglist.children if a is not None]


def _count(low: int, high: int, noun: str = "argument") -> str:
    """'no arguments', '1 argument', 'at most 2 arguments', '1 to 2 arguments'."""
    plural = noun if high == 1 else noun + "s"
    if high == 0:
        return f"no {plural}"
    if low == high:
        return f"{low} {plural}"
    return f"at most {high} {plural}" if low == 0 else f"{low} to {high} {plural}"


def _given(n: int) -> str:
    return f"{n} {'was' if n == 1 else 'were'} given"


# ---------------------------------------------------------------------------------------
# Scalars


class Evaluator:
    """Builds SymPy expressions from trees in a scope; collects the functions it uses."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.file = scope.file
        self.functions: dict[str, Function] = {}

    def error(self, message: str, node: Node, notes: tuple[str, ...] = ()) -> SpecError:
        return SpecError(message, loc_of(node, self.file), notes)

    def checked(self, value: sympy.Expr, node: Node) -> sympy.Expr:
        """A computed value, refused at `node` when it is a number out of range, or when
        arithmetic folded an out-of-range number into it (x · e^700 · e^700 has the
        coefficient e^1400, which would print as `inf`). Numbers deeper down were
        checked when they were built, so one level suffices."""
        parts = [value] if value.is_number else [a for a in value.args if a.is_number]
        for part in parts:
            problem = number_problem(part)
            if problem is not None:
                raise self.error(f"the value of {_shown(node)} {problem}", node)
        return value

    # -- scalar context -------------------------------------------------------------
    def scalar(self, node: Node) -> sympy.Expr:
        """A scalar expression: numbers, constants, parameters, math functions."""
        kind = node.data if isinstance(node, Tree) else "token"
        kids = node.children if isinstance(node, Tree) else []
        if kind == "number":
            return number(kids[0], self.file)
        if kind == "name":
            return self._scalar_name(kids[0])
        if kind in ("add", "sub", "mul", "div", "pow"):
            a, b = self.scalar(kids[0]), self.scalar(kids[1])
            return self._arith(kind, a, b, node)
        if kind == "neg":
            return -self.scalar(kids[0])
        if kind in ("call_expr", "juxt"):
            head = kids[0]
            args = call_args(kids[1]) if kind == "call_expr" else [kids[1]]
            return self._scalar_call(head, args, node)
        if kind == "adjoint":
            raise self.error(f"'{kids[0]}'' is an operator, not a number", node)
        if kind == "list":
            raise self.error("a list is not a number", node)
        raise self.error("expected a number", node)

    def _arith(self, kind: str, a: sympy.Expr, b: sympy.Expr, node: Tree) -> sympy.Expr:
        return self.checked(self._raw_arith(kind, a, b, node), node)

    def _raw_arith(self, kind: str, a: sympy.Expr, b: sympy.Expr, node: Tree) -> sympy.Expr:
        if kind == "add":
            return a + b
        if kind == "sub":
            return a - b
        if kind == "mul":
            return a * b
        if kind == "div":
            if b == 0 or (b.is_number and real_number(b) == 0):
                raise self.error("division by zero", node.children[1])
            return a / b
        exponent = real_number(b) if b.is_number else None
        if b.is_number and exponent is None:
            raise self.error(f"the exponent {b} is not a real number", node.children[1])
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            raise self.error(f"exponent {b} is too large (at most {MAX_EXPONENT})", node)
        if a == 0 and exponent is not None and exponent < 0:
            raise self.error("0 raised to a negative power", node)
        return a**b

    def _scalar_name(self, token: Token) -> sympy.Expr:
        name = str(token)
        found = self.scope.lookup(name)
        if found is None and (name in ACTIVATIONS or name in MATH):
            raise self.error(f"'{name}' is a function, not a number; apply it: {name}(x)", token)
        if found is None:
            raise self.unknown(name, token, "name")
        kind, value = found
        if kind == "values":
            return value  # type: ignore[return-value]
        if kind == "params":
            return param_symbol(value)  # type: ignore[arg-type]
        what = {
            "states": "a state",
            "weights": "a weight",
            "norms": "a norm",
            "stencils": "a stencil",
        }.get(kind, "a function")
        raise self.error(f"'{name}' is {what}, not a number", token)

    def _scalar_call(self, head: Tree, args: list[Node], node: Tree) -> sympy.Expr:
        if head.data == "adjoint":
            raise self.error(f"'{head.children[0]}'' is an operator, not a function", head)
        name = str(head.children[0])
        found = self.scope.lookup(name)
        if found is not None and found[0] == "functions":
            template: FunctionTemplate = found[1]  # type: ignore[assignment]
            self._arity(name, args, len(template.params), len(template.params), node)
            return self._inline(template, [self.scalar(a) for a in args], node)
        if found is None and name in ACTIVATIONS:
            extra = len(ACTIVATIONS[name][2])
            self._arity(name, args, 1, 1 + extra, node)
            values = [self.scalar(a) for a in args]
            fn = builtin_activation(name, values[1:], None)
            return self.checked(fn.expr.subs(fn.var, values[0]), node)
        if found is None and name in MATH:
            arity = 2 if name in ("max", "min") else 1
            self._arity(name, args, arity, arity, node)
            return self.checked(MATH[name](*[self.scalar(a) for a in args]), node)
        if found is not None:
            raise self.error(f"'{name}' is not a function", head)
        raise self.unknown(name, head.children[0], "function")

    def _inline(
        self, template: FunctionTemplate, values: list[sympy.Expr], node: Node
    ) -> sympy.Expr:
        if template.active:
            raise self.error(
                f"function '{template.name}' calls itself; recursion is not allowed", node
            )
        template.expansions += 1
        if template.expansions > MAX_EXPANSIONS:
            raise self.error(
                f"function '{template.name}' is expanded more than {MAX_EXPANSIONS} times "
                "(functions that call functions several times multiply); simplify them",
                node,
            )
        inner = Scope(template.scope.file, parent=template.scope)
        for param, value in zip(template.params, values, strict=True):
            inner.values[param] = value
        template.active = True
        try:
            result = Evaluator(inner).scalar(template.body)
        finally:
            template.active = False
        problem = expression_problem(result)
        if problem is not None:
            raise self.error(
                f"'{template.name}' expands to an expression with {problem}; "
                "pde2net cannot analyse it",
                node,
            )
        return self.checked(result, node)

    def _arity(self, name: str, args: list[Node], low: int, high: int, node: Node) -> None:
        if not low <= len(args) <= high:
            raise self.error(f"'{name}' takes {_count(low, high)} but {_given(len(args))}", node)
        for arg in args:
            if isinstance(arg, Tree) and arg.data in ("kw_arg", "map_arg", "kernel_arg"):
                raise self.error(f"'{name}' takes plain values here", arg)

    def unknown(self, name: str, token: Node, what: str) -> SpecError:
        candidates = self.scope.names() | set(ACTIVATIONS) | set(MATH)
        hint = did_you_mean(name, candidates)
        if not hint and what == "name":
            found = (self.scope.lookup(n) for n in sorted(self.scope.names()))
            states = [f[1].name for f in found if f is not None and f[0] == "states"]  # type: ignore[attr-defined]
            hint = f"; states of this pde: {', '.join(states)}" if states else ""
        return self.error(f"unknown {what} '{name}'{hint}", token)

    # -- field context ----------------------------------------------------------------
    def field(self, node: Node) -> tuple[sympy.Expr, int | None]:
        """A field expression; returns it with its channel count (None for a scalar)."""
        if not isinstance(node, Tree):
            raise self.error("expected an expression", node)
        kind, kids = node.data, node.children
        if kind == "number":
            return number(kids[0], self.file), None
        if kind == "name":
            found = self.scope.lookup(str(kids[0]))
            if found is not None and found[0] == "states":
                state: State = found[1]  # type: ignore[assignment]
                return state_symbol(state.name), state.channels
            if found is not None and found[0] in ("weights", "norms", "functions", "stencils"):
                raise self.error(f"operator '{kids[0]}' needs an operand, e.g. '{kids[0]} u'", node)
            return self.scalar(node), None
        if kind == "neg":
            value, channels = self.field(kids[0])
            return -value, channels
        if kind in ("add", "sub", "mul", "div", "pow"):
            return self._field_arith(kind, kids, node)
        if kind in ("juxt", "call_expr"):
            head = kids[0]
            args = [kids[1]] if kind == "juxt" else call_args(kids[1])
            return self._apply(head, args, node)
        if kind == "adjoint":
            raise self.error(f"operator '{kids[0]}'' needs an operand, e.g. '{kids[0]}' u'", node)
        if kind == "list":
            raise self.error("a list cannot appear in an equation", node)
        if kind == "magnitude":
            value, channels = self.field(kids[0])
            if channels is None:
                raise self.error(
                    "|...| takes a field, e.g. |grad u|; use abs(x) for a number", node
                )
            return sympy.sqrt(SumSq(value)), 1
        raise self.error("expected an expression", node)

    def _field_arith(
        self, kind: str, kids: list[Node], node: Tree
    ) -> tuple[sympy.Expr, int | None]:
        (a, ca), (b, cb) = self.field(kids[0]), self.field(kids[1])
        if kind in ("add", "sub") and ca is not None and cb is not None and ca != cb:
            raise self.error(f"cannot combine fields with {ca} and {cb} channels", node)
        if kind == "div" and cb is not None:
            raise self.error("division by a field is not supported; divide by a number", kids[1])
        if kind == "pow" and cb is not None:
            raise self.error("the exponent must be a number", kids[1])
        if kind == "mul" and ca is not None and cb is not None and ca != cb:
            # one channel of a magnitude (g(|grad u|^2)) scales every channel of a field
            if (ca == 1 and a.has(SumSq)) or (cb == 1 and b.has(SumSq)):
                return self._arith(kind, a, b, node), max(ca, cb)
            raise self.error(f"cannot multiply fields with {ca} and {cb} channels", node)
        if (ca is None) != (cb is None):  # a number next to a field: a float32 constant
            number, side = (a, kids[0]) if ca is None else (b, kids[1])
            real = real_number(number) if number.is_number else None
            if real is not None and abs(real) > FLOAT32_LARGEST:
                raise self.error(
                    f"the number {_shown(side)} is out of float32 range (at most 1e30 in "
                    "magnitude), where the network computes",
                    side,
                )
        return self._arith(kind, a, b, node), ca if ca is not None else cb

    def _apply(self, head: Tree, args: list[Node], node: Tree) -> tuple[sympy.Expr, int | None]:
        name = str(head.children[0])
        adjoint = head.data == "adjoint"
        found = self.scope.lookup(name)
        kind = found[0] if found else None
        if kind is None and name in STENCILS:
            found = ("stencils", self._builtin_stencil(name, head))
            kind = "stencils"
        if kind == "stencils":
            self._arity(name, args, 1, 1, node)
            operand, channels = self.field(args[0])
            if channels is None:
                raise self.error(f"'{name}' must be applied to a field, not a number", args[0])
            return self._stencil(found[1], name, adjoint, operand, channels, args[0])  # type: ignore[arg-type]
        if kind in ("weights", "norms") or adjoint:
            if kind is None:
                raise self.unknown(name, head.children[0], "operator")
            if adjoint and kind != "weights":
                raise self.error(f"only a weight has an adjoint; '{name}' is not a weight", head)
            self._arity(name, args, 1, 1, node)
            operand, channels = self.field(args[0])
            if channels is None:
                raise self.error(f"'{name}' must be applied to a field, not a number", args[0])
            if kind == "weights":
                return self._conv(found[1], adjoint, operand, channels, args[0])  # type: ignore[arg-type]
            norm: NormDecl = found[1]  # type: ignore[assignment]
            if channels != norm.channels:
                raise self.error(
                    f"norm '{name}' expects {norm.channels} channels but its input has {channels}",
                    args[0],
                )
            return Norm(sympy.Symbol(name), operand), channels
        if kind == "functions" or (kind is None and name in ACTIVATIONS):
            fn = self._function(name, args, node)
            operand, channels = self.field(args[0])
            if channels is None:
                return self.checked(fn.expr.subs(fn.var, operand), node), None
            return Act(sympy.Symbol(fn.name), operand), channels
        if kind is None and name in MATH:
            raise self.error(
                f"'{name}' is a scalar function; define an activation with "
                f"'fn f(x) = {name}(x)' to apply it to a field",
                head,
            )
        if kind is None:
            raise self.unknown(name, head.children[0], "operator")
        if kind == "states":
            raise self.error(f"'{name}' is a state, not an operator", head)
        raise self.error(f"'{name}' is a number, not an operator; use '*' to multiply", head)

    def _builtin_stencil(self, name: str, head: Tree) -> StencilDecl:
        grid = self.scope.grid
        if grid is None:
            raise self.error(
                f"'{name}' needs a grid spacing: declare one in the pde, e.g. 'grid h = 1'", head
            )
        base = "grad" if name == "div" else name
        decl = builtin_stencil(base, self.scope.dims, grid, loc_of(head, self.file))
        if decl is None:
            raise self.error(f"'{name}' has no {self.scope.dims}D form", head)
        problem = stencil_problem(decl)
        if problem is not None:
            raise self.error(f"stencil '{name}' {problem}", head)
        self.scope.stencils.setdefault(base, decl)
        return self.scope.stencils[base]

    def _stencil(
        self,
        decl: StencilDecl,
        name: str,
        adjoint: bool,
        operand: sympy.Expr,
        channels: int,
        node: Node,
    ) -> tuple[sympy.Expr, int]:
        """S u, S' u, and div v = -grad' v; channels multiply by the components."""
        if name == "div":
            if adjoint:
                raise self.error("write grad instead of div' (div' = -grad)", node)
            adjoint, sign = True, -1
        else:
            sign = 1
        if adjoint:
            if channels % decl.components:
                raise self.error(
                    f"'{name}' expects a multiple of {decl.components} channels (one per "
                    f"direction) but its input has {channels}",
                    node,
                )
            groups = channels // decl.components
            return sign * StencilT(sympy.Symbol(decl.name), operand, groups), groups
        return Stencil(sympy.Symbol(decl.name), operand, channels), channels * decl.components

    def _conv(
        self, weight: Weight, adjoint: bool, operand: sympy.Expr, channels: int, node: Node
    ) -> tuple[sympy.Expr, int]:
        expects, gives = (weight.c_out, weight.c_in) if adjoint else (weight.c_in, weight.c_out)
        if channels != expects:
            shown = f"{weight.name}'" if adjoint else weight.name
            other = (
                f"{weight.name} (not its adjoint)" if adjoint else f"{weight.name}' (its adjoint)"
            )
            hint = f"; did you mean {other}?" if channels == gives else ""
            raise self.error(
                f"'{shown}' expects {expects} channels but its input has {channels}{hint}", node
            )
        cls = ConvT if adjoint else Conv
        return cls(sympy.Symbol(weight.name), operand), gives

    def _function(self, name: str, args: list[Node], node: Tree) -> Function:
        """The pointwise function applied to args[0] at `node`."""
        if not args:
            raise self.error(f"'{name}' needs an operand", node)
        found = self.scope.lookup(name)
        if found is None:  # a builtin: the operand, then its parameters (leaky_relu(u, 0.1))
            self._arity(name, args, 1, 1 + len(ACTIVATIONS[name][2]), node)
        elif len(args) > 1 and len(getattr(found[1], "params", ())) == 1:
            raise self.error(f"'{name}' takes 1 argument but {_given(len(args))}", node)
        return self.activation(name, args[1:], node)

    def activation(self, name: str, params: list[Node], node: Node) -> Function:
        """A builtin activation with its extra parameters bound, or a user fn of one
        variable; registered under a unique name."""
        found = self.scope.lookup(name)
        if found is not None and found[0] != "functions":
            what = _WHAT.get(found[0], "not a function")
            raise self.error(f"'{name}' is {what}, not an activation", node)
        if found is not None:
            template: FunctionTemplate = found[1]  # type: ignore[assignment]
            if len(template.params) != 1:
                raise self.error(
                    f"'{name}' takes {len(template.params)} arguments; an activation takes one",
                    node,
                )
            if params:
                raise self.error(f"activation '{name}' takes no extra parameters", params[0])
            var = sympy.Symbol(template.params[0], real=True)
            fn = Function(
                name, var, self._inline(template, [var], node), loc=template.loc, flux=template.flux
            )
            complex_at = non_real_point(fn.expr, var)
            if complex_at is not None:
                point, value = complex_at
                raise self.error(
                    f"activation '{name}' is not real-valued: {name}({point:g}) = "
                    f"{value.real:.6g}{value.imag:+.6g}i; an activation maps real numbers to "
                    "real numbers",
                    node,
                )
        else:
            extra = ACTIVATIONS[name][2]
            if len(params) > len(extra):
                listed = f" ({', '.join(extra)})" if extra else ""
                raise self.error(
                    f"activation '{name}' takes {_count(0, len(extra), 'parameter')}{listed} "
                    f"but {_given(len(params))}",
                    node,
                )
            self._arity(name, params, 0, len(extra), node)
            values = [self.scalar(a) for a in params]
            for value, param, arg in zip(values, extra, params, strict=False):
                if value.is_number and real_number(value) is None:
                    raise self.error(
                        f"activation '{name}': '{param}' must be a finite real number", arg
                    )
            fn = builtin_activation(name, values, loc_of(node, self.file))
        return self.register(fn)

    def register(self, fn: Function) -> Function:
        key, n = fn.name, 1
        while key in self.functions and self.functions[key].expr != fn.expr:
            n += 1
            key = f"{fn.name}_{n}"
        fn.name = key
        self.functions[key] = fn
        return fn


def state_symbol(name: str) -> sympy.Symbol:
    return sympy.Symbol(name)


def param_symbol(param: Param) -> sympy.Symbol:
    return sympy.Symbol(param.name, real=True, positive=param.positive or None)
