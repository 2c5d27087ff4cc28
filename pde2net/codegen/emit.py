"""A scheme's update (schemes/update.py) as Python syntax trees.

Why `ast`: the statements are built as trees and printed by `ast.unparse`, so operator
precedence and parentheses are Python's own, not string concatenation; SymPy
expressions inside (`Math`) go through the TorchPrinter and are parsed back into the
tree. The result is formatted by ruff like the rest of the module.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Callable, Iterator

import sympy

from pde2net.codegen.names import Namer
from pde2net.schemes import update as up

_OPS = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "**": ast.Pow}
_TORCH = {"abs": "torch.abs", "where": "torch.where", "ones_like": "torch.ones_like"}
_TORCH["full_like"] = "torch.full_like"


def expr(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


def name(text: str) -> ast.Name:
    return ast.Name(text, ast.Load())


def self_attr(attr: str) -> ast.expr:
    return ast.Attribute(name("self"), attr, ast.Load())


def constant(value: int | float | tuple) -> ast.expr:
    """A literal; a number that is not finite is a generator bug (never `inf` as a name)."""
    if isinstance(value, tuple):
        return ast.Tuple([constant(v) for v in value], ast.Load())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"the number {value} does not fit a float")
    if value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def walk(node: object) -> Iterator[object]:
    """Every dataclass, tuple element and SymPy expression below `node` (pieces once)."""
    yield node
    if isinstance(node, tuple | list):
        for item in node:
            yield from walk(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, up.Local):
        for f in dataclasses.fields(node):
            if not (isinstance(node, up.Call | up.Ref) and f.name in ("fn", "piece")):
                yield from walk(getattr(node, f.name))


def mentions(node: object, local: up.Local) -> bool:
    for sub in walk(node):
        if sub is local:
            return True
        if isinstance(sub, up.Math) and local.symbol in sub.expr.free_symbols:
            return True
    return False


@dataclasses.dataclass
class Scope:
    """What the printed statements refer to, by name in the generated class."""

    locals: Namer
    states: dict[str, str]  # spec state -> python local
    numbers: dict[str, str]  # scheme number -> attribute
    buffers: dict[str, str]  # scheme buffer -> attribute
    rhs: dict[str, str]  # state -> method computing its right-hand side
    pieces: dict[up.Piece, str]  # helper method -> attribute
    math: Callable[[sympy.Expr, dict[sympy.Dummy, str]], str]  # the torch printer
    named: dict[up.Local, str] = dataclasses.field(default_factory=dict)

    def local(self, local: up.Local) -> str:
        if local not in self.named:
            self.named[local] = self.locals.name(local.hint)
        return self.named[local]

    def dummies(self) -> dict[sympy.Dummy, str]:
        return {loc.symbol: n for loc, n in self.named.items()}


class Emitter:
    """Prints statements and expressions of an update in one `Scope`."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.weights_used: set[sympy.Symbol] = set()

    # -- expressions ------------------------------------------------------------------
    def expr(self, e: up.Expr) -> ast.expr:
        s = self.scope
        if isinstance(e, up.Local):
            return name(s.local(e))
        if isinstance(e, up.State):
            return name(s.states[e.name])
        if isinstance(e, up.Number):
            return self_attr(s.numbers[e.name])
        if isinstance(e, up.Buffer):
            return self_attr(s.buffers[e.name])
        if isinstance(e, up.Num):
            return constant(e.value)
        if isinstance(e, up.Bin):
            left, right = self.expr(e.left), self.expr(e.right)
            if e.op == "<=":
                return ast.Compare(left, [ast.LtE()], [right])
            return ast.BinOp(left, _OPS[e.op](), right)
        if isinstance(e, up.Rhs):
            at = e.at if e.at is not None else tuple(up.State(n) for n in s.states)
            return self.call(self_attr(s.rhs[e.state]), [*at, e.index])
        if isinstance(e, up.Math):
            self.weights_used |= e.expr.free_symbols
            return expr(s.math(e.expr, s.dummies()))
        if isinstance(e, up.Call):
            if isinstance(e.fn, up.Piece):
                return self.call(self_attr(s.pieces[e.fn]), list(e.args))
            if e.fn not in up.CALLS:
                raise ValueError(f"unknown call {e.fn!r}")
            return self.call(expr(_TORCH.get(e.fn, e.fn)), list(e.args))
        if isinstance(e, up.Ref):
            return self_attr(s.pieces[e.piece])
        if isinstance(e, up.Lambda):
            params = [ast.arg(s.local(p)) for p in e.params]
            return ast.Lambda(ast.arguments([], params, None, [], [], None, []), self.expr(e.body))
        if isinstance(e, up.Item):
            return ast.Subscript(self.expr(e.value), ast.Constant(e.index), ast.Load())
        if isinstance(e, up.Pack):
            return ast.Tuple([self.expr(v) for v in e.values], ast.Load())
        raise TypeError(f"not an update expression: {e!r}")

    def call(self, func: ast.expr, args: list[up.Expr]) -> ast.Call:
        return ast.Call(func, [self.expr(a) for a in args], [])

    # -- statements ---------------------------------------------------------------------
    def stmts(self, stmts: tuple[up.Stmt, ...]) -> list[ast.stmt]:
        return [self.stmt(st) for st in stmts]

    def stmt(self, st: up.Stmt) -> ast.stmt:
        if isinstance(st, up.Assign):
            targets = [ast.Name(self._target(t), ast.Store()) for t in st.targets]
            values = [self.expr(v) for v in st.values]
            if len(targets) == 1:
                return ast.Assign(targets, values[0], lineno=0)
            return ast.Assign(
                [ast.Tuple(targets, ast.Store())], ast.Tuple(values, ast.Load()), lineno=0
            )
        if isinstance(st, up.Return):
            return ast.Return(self.expr(st.value))
        if isinstance(st, up.Loop):
            return self._loop(st)
        raise TypeError(f"not an update statement: {st!r}")

    def _target(self, t: up.Local | up.State) -> str:
        return self.scope.local(t) if isinstance(t, up.Local) else self.scope.states[t.name]

    def _loop(self, loop: up.Loop) -> ast.For:
        counted = loop.index is not None and mentions(loop.body, loop.index)
        body = self.stmts(loop.body)  # names the body's locals before the loop's own
        index = self.scope.local(loop.index) if counted else "_"
        if loop.over is None:
            assert loop.count is not None
            source, target = ast.Call(name("range"), [self.expr(loop.count)], []), index
            if loop.reverse:
                source = ast.Call(name("reversed"), [source], [])
            target_node: ast.expr = ast.Name(target, ast.Store())
        else:
            assert loop.var is not None
            var = ast.Name(self.scope.local(loop.var), ast.Store())
            source = self.expr(loop.over)
            target_node = var
            if counted:
                source = ast.Call(name("enumerate"), [source], [])
                target_node = ast.Tuple([ast.Name(index, ast.Store()), var], ast.Store())
        return ast.For(target_node, source, body, [], lineno=0)
