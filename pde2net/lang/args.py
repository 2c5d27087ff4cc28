"""Binding call arguments (`conv(3x3, 3 -> 32, bias = true)`) against declared signatures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sympy
from lark import Tree

from pde2net.lang.errors import did_you_mean
from pde2net.lang.expressions import Evaluator, Node, real_number

Kind = Literal[
    "posint", "count", "number", "positive", "bool", "kernel", "map", "choice", "vector", "matrix"
]
REQUIRED = object()
MAX_INT = 10**12
# Step sizes, epsilons and other positive reals: well inside float32's normal range.
SMALLEST, LARGEST = sympy.Rational(1, 10**30), sympy.Integer(10**30)


@dataclass(frozen=True)
class ArgSpec:
    """One parameter of a layer, declaration or scheme."""

    name: str
    kind: Kind
    default: object = REQUIRED
    choices: tuple[str, ...] = ()
    help: str = ""
    aliases: tuple[str, ...] = ()  # other accepted keyword names (tau for h)
    longest: int = 16  # the most entries a vector, or rows (and columns) a matrix, holds


@dataclass
class Bound:
    """Bound arguments with the node each came from, for located follow-up errors."""

    values: dict[str, object]
    nodes: dict[str, Node]

    def __getitem__(self, name: str) -> object:
        return self.values[name]


def bind(
    what: str, args: Sequence[Node], specs: Sequence[ArgSpec], ev: Evaluator, call: Node
) -> Bound:
    """Match positional and keyword arguments to specs; check each value's kind."""
    values: dict[str, object] = {}
    nodes: dict[str, Node] = {}
    positional = list(specs)
    index = 0
    for arg in args:
        if isinstance(arg, Tree) and arg.data == "kw_arg":
            key = str(arg.children[0])
            spec = next((s for s in specs if key == s.name or key in s.aliases), None)
            if spec is None:
                names = [s.name for s in specs]
                hint = did_you_mean(key, names)
                listed = ", ".join(names) if names else "none"
                raise ev.error(
                    f"{what} has no parameter '{key}'{hint}; its parameters: {listed}", arg
                )
            if spec.name in values:
                raise ev.error(f"{what}: '{key}' is given twice", arg)
            values[spec.name] = _value(spec, arg.children[1], ev, what)
            nodes[spec.name] = arg
            continue
        if index >= len(positional):
            if not positional:
                alone = f"; write '{what}' without parentheses" if what.isidentifier() else ""
                raise ev.error(f"{what} takes no arguments{alone}", arg)
            raise ev.error(
                f"{what} takes at most {len(positional)} argument"
                f"{'s' if len(positional) != 1 else ''} but {len(args)} were given",
                arg,
            )
        while index < len(positional) and positional[index].name in values:
            index += 1
        spec = positional[index]
        index += 1
        values[spec.name] = _value(spec, arg, ev, what)
        nodes[spec.name] = arg
    for spec in specs:
        if spec.name not in values:
            if spec.default is REQUIRED:
                raise ev.error(f"{what} needs '{spec.name}'{_help(spec)}", call)
            values[spec.name] = spec.default
    return Bound(values, nodes)


def _help(spec: ArgSpec) -> str:
    return f" ({spec.help})" if spec.help else ""


def _value(spec: ArgSpec, node: Node, ev: Evaluator, what: str) -> object:
    shape = node.data if isinstance(node, Tree) else "token"
    if spec.kind == "kernel":
        if shape == "kernel_arg":
            parts = str(node.children[0]).split("x")
            # a 5,000-digit size is not an int Python converts (nor a kernel)
            sizes = tuple(int(s) if len(s) <= 6 else 10**6 for s in parts)
        else:
            sizes = (_integer(spec, node, ev, what),)
        for size in sizes:
            if size <= 0 or size % 2 == 0 or size > 99:
                raise ev.error(
                    f"{what}: kernel size {size} must be odd, between 1 and 99 "
                    "(so that padding keeps the spatial size)",
                    node,
                )
        return sizes
    if shape == "kernel_arg":
        raise ev.error(f"{what}: a kernel size is not allowed for '{spec.name}'", node)
    if spec.kind == "map":
        if shape != "map_arg":
            raise ev.error(f"{what}: '{spec.name}' must be written 'in -> out'", node)
        c_in = _integer(ArgSpec("channels in", "posint"), node.children[0], ev, what)
        c_out = _integer(ArgSpec("channels out", "posint"), node.children[1], ev, what)
        return (c_in, c_out)
    if shape == "map_arg":
        raise ev.error(f"{what}: '{spec.name}' is not a channel map 'in -> out'", node)
    if spec.kind in ("vector", "matrix"):
        return _numbers(spec, node, ev, what, depth=1 if spec.kind == "vector" else 2)
    if shape == "list":
        raise ev.error(f"{what}: '{spec.name}' is a number, not a list", node)
    if spec.kind == "bool":
        if shape == "name" and str(node.children[0]) in ("true", "false"):
            return str(node.children[0]) == "true"
        raise ev.error(f"{what}: '{spec.name}' must be true or false", node)
    if spec.kind == "choice":
        word = str(node.children[0]) if shape == "name" else None
        if word not in spec.choices:
            raise ev.error(
                f"{what}: '{spec.name}' must be one of {', '.join(spec.choices)}"
                + (did_you_mean(word, spec.choices) if word else ""),
                node,
            )
        return word
    if spec.kind in ("posint", "count"):
        return _integer(spec, node, ev, what)
    value = _real(node, ev, what, spec.name)
    if spec.kind == "positive" and not value > 0:
        raise ev.error(f"{what}: '{spec.name}' must be positive, got {_show(value)}", node)
    if spec.kind == "positive" and not SMALLEST <= value <= LARGEST:
        raise ev.error(
            f"{what}: '{spec.name}' = {_show(value)} is out of range: between 1e-30 and 1e30 "
            "(the network computes in float32)",
            node,
        )
    return value


def _numbers(
    spec: ArgSpec, node: Node, ev: Evaluator, what: str, depth: int, row: bool = False
) -> tuple:
    """A list (depth 1: `[1/2, 1/2]`) or a list of lists (depth 2: `[[0, 0], [1, 0]]`) of
    exact numbers, each entry evaluated as a scalar expression (never eval'd text)."""
    example = "[1/2, 1/2]" if depth == 1 else "[[0, 0], [1, 0]]"
    shape = node.data if isinstance(node, Tree) else "token"
    if shape != "list":
        whose = f"each row of '{spec.name}'" if row else f"'{spec.name}'"
        raise ev.error(f"{what}: {whose} must be a list like {example}", node)
    items = node.children
    if len(items) > spec.longest:
        raise ev.error(
            f"{what}: '{spec.name}' has {len(items)} entries; at most {spec.longest}", node
        )
    if depth == 1:
        return tuple(_real(item, ev, what, spec.name) for item in items)
    return tuple(_numbers(spec, item, ev, what, 1, row=True) for item in items)


def _real(node: Node, ev: Evaluator, what: str, name: str) -> sympy.Expr:
    value = real_number(ev.scalar(node))
    if value is None:
        raise ev.error(f"{what}: '{name}' must be a finite real number", node)
    return sympy.nsimplify(value) if value.is_Float else value


def _integer(spec: ArgSpec, node: Node, ev: Evaluator, what: str) -> int:
    value = _real(node, ev, what, spec.name)
    if not value.is_integer:
        raise ev.error(f"{what}: '{spec.name}' must be a whole number, got {_show(value)}", node)
    low = 1 if spec.kind == "posint" else 0
    if int(value) < low:
        word = "positive" if low else "non-negative"
        raise ev.error(f"{what}: '{spec.name}' must be {word}, got {int(value)}", node)
    if int(value) > MAX_INT:
        raise ev.error(f"{what}: '{spec.name}' = {int(value)} is too large", node)
    return int(value)


def _show(value: sympy.Expr) -> str:
    if value.is_Integer:
        return str(value) if abs(value) < 10**15 else f"{float(value):g}"
    return f"{float(value):g}"  # 2.5, not 5/2
