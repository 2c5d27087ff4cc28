"""Syntax tree to IR: resolves names, instantiates pdes, infers and checks shapes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import sympy
from lark import Token, Tree

from pde2net import ir
from pde2net.lang.args import LARGEST, REQUIRED, SMALLEST, ArgSpec, Bound, bind
from pde2net.lang.budget import Budget
from pde2net.lang.builtins import ACTIVATIONS
from pde2net.lang.errors import SpecError, abbreviate, did_you_mean
from pde2net.lang.expressions import (
    FLOAT32_LARGEST,
    Evaluator,
    FunctionTemplate,
    Node,
    Scope,
    call_args,
    loc_of,
    number,
    real_number,
    source_text,
    stencil_problem,
)
from pde2net.lang.limits import Limits, current
from pde2net.loc import COMMAND_LINE
from pde2net.schemes import REGISTRY

RESERVED = {"true", "false"}
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")

LAYERS: dict[str, tuple[ArgSpec, ...]] = {
    "conv": (
        ArgSpec("kernel", "kernel", help="e.g. 3x3"),
        ArgSpec("channels", "map", help="in -> out"),
        ArgSpec("bias", "bool", False),
        ArgSpec("stride", "posint", 1),
    ),
    "batchnorm": (ArgSpec("channels", "posint", None),),
    "avgpool": (ArgSpec("size", "posint", 2),),
    "maxpool": (ArgSpec("size", "posint", 2),),
    "globalavgpool": (),
    "globalmaxpool": (),
    "flatten": (),
    "linear": (ArgSpec("features", "map", help="in -> out"), ArgSpec("bias", "bool", True)),
}
INPUTS = {
    "image": (
        ArgSpec("channels", "posint"),
        ArgSpec("height", "posint"),
        ArgSpec("width", "posint"),
    ),
    "volume": (
        ArgSpec("channels", "posint"),
        ArgSpec("depth", "posint"),
        ArgSpec("height", "posint"),
        ArgSpec("width", "posint"),
    ),
    "signal": (ArgSpec("channels", "posint"), ArgSpec("length", "posint")),
    "vector": (ArgSpec("features", "posint"),),
}
NORMS: dict[str, tuple[ArgSpec, ...]] = {
    "tvnorm": (
        ArgSpec("channels", "posint"),
        ArgSpec("eps", "positive", sympy.Rational(1, 1000)),
        ArgSpec("affine", "bool", True),
    ),
    "batchnorm": (
        ArgSpec("channels", "posint"),
        ArgSpec("eps", "positive", sympy.Rational(1, 10**5)),
        ArgSpec("affine", "bool", True),
    ),
    "instancenorm": (
        ArgSpec("channels", "posint"),
        ArgSpec("eps", "positive", sympy.Rational(1, 10**5)),
        ArgSpec("affine", "bool", True),
    ),
}
WEIGHT = (
    ArgSpec("kernel", "kernel", help="e.g. 3x3"),
    ArgSpec("channels", "map", help="in -> out"),
    ArgSpec("bias", "bool", False),
    ArgSpec("depthwise", "bool", False, help="one kernel per channel, c -> c"),
)


def parse_overrides(pairs: Mapping[str, object] | None) -> dict[str, sympy.Expr]:
    """`--set NAME=VALUE` values as exact numbers; a bad value is an error at the option."""
    result: dict[str, sympy.Expr] = {}
    for name, raw in (pairs or {}).items():
        text = str(raw).strip()
        start = len("--set ") + len(name) + 2
        where = ir.Loc(COMMAND_LINE, 1, start, start + len(text))
        if isinstance(raw, bool) or not _NUMBER.fullmatch(text):
            raise SpecError(f"--set {name}={abbreviate(text)}: the value must be a number", where)
        sign = -1 if text.startswith("-") else 1
        try:
            value = number(Token("NUMBER", text.lstrip("+-")), COMMAND_LINE)
        except SpecError:
            raise SpecError(
                f"--set {name}={abbreviate(text)}: the number is out of range", where
            ) from None
        result[name] = sign * value
    return result


# The longest network name: NAME.report.json and NAME.int8.onnx fit in 255 bytes with room
MAX_NETWORK_NAME = 200


class Lowering:
    """One spec file's lowering: the global scope and what was declared at top level."""

    def __init__(self, file: str, limits: Limits | None = None) -> None:
        self.file = file
        self.budget = Budget(limits if limits is not None else current(), file)
        self.scope = Scope(file)
        self.pdes: dict[str, Tree] = {}
        self.defined_at: dict[str, ir.Loc] = {}
        self.constants: dict[str, ir.Loc] = {}
        self._call: Tree | None = None  # the network line instantiating the current pde

    def error(self, message: str, node: Node, notes: tuple[str, ...] = ()) -> SpecError:
        return SpecError(message, loc_of(node, self.file), notes)

    # -- top level ---------------------------------------------------------------------
    def program(self, tree: Tree, overrides: Mapping[str, sympy.Expr]) -> ir.Network:
        networks: list[Tree] = []
        evaluator = Evaluator(self.scope)
        for item in (c for c in tree.children if c is not None):
            name_token = item.children[1] if item.data == "fn_def" else item.children[0]
            self._declare(name_token)
            if item.data == "const_def":
                name = str(name_token)
                self.constants[name] = loc_of(name_token, self.file)
                if name in overrides:
                    self.scope.values[name] = overrides[name]
                else:
                    value = evaluator.scalar(item.children[1])
                    if not value.is_number:
                        raise self.error(f"constant '{name}' must be a number", item.children[1])
                    real = real_number(value)
                    if real is None:
                        raise self.error(
                            f"constant '{name}' must be a finite real number, but it is {value}",
                            item.children[1],
                        )
                    self.scope.values[name] = real
            elif item.data == "fn_def":
                self._function(item, self.scope)
            elif item.data == "pde_def":
                self.pdes[str(name_token)] = item
            else:
                networks.append(item)
        unknown = [name for name in overrides if name not in self.constants]
        if unknown:
            defined = ", ".join(sorted(self.constants)) or "none"
            name = unknown[0]
            raise SpecError(
                f"--set {name}: {self.file} defines no constant '{name}'"
                f"{did_you_mean(name, self.constants)}; constants it defines: {defined}",
                ir.Loc(COMMAND_LINE, 1, 7, 7 + len(name)),
            )
        if not networks:
            raise SpecError(
                "the spec defines no network",
                ir.Loc(self.file, 1, 1),
                ["add one: network NAME { input image(3, 32, 32); ...; output linear(64 -> 10) }"],
            )
        if len(networks) > 1:
            raise self.error(
                "the spec defines more than one network; put each in its own file",
                networks[1].children[0],
            )
        network = self._network(networks[0])
        network.constants = {k: _plain(self.scope.values[k]) for k in self.constants}
        return network

    def _declare(self, token: Token, scope: Scope | None = None) -> None:
        name = str(token)
        if name in RESERVED:
            raise self.error(f"'{name}' is a reserved word and cannot be declared", token)
        if scope is not None:
            if scope.defines(name):
                raise self.error(f"'{name}' is declared twice in this pde", token)
            return
        if name in self.defined_at:
            first = self.defined_at[name]
            raise self.error(f"'{name}' is already defined at line {first.line}", token)
        self.defined_at[name] = loc_of(token, self.file)

    def _function(self, item: Tree, scope: Scope) -> None:
        keyword, name, *rest = item.children
        body = rest[-1]
        params = [str(p) for p in rest[:-1] if p is not None]
        if len(set(params)) != len(params):
            raise self.error(f"function '{name}' repeats a parameter name", item)
        scope.functions[str(name)] = FunctionTemplate(
            str(name), params, body, loc_of(name, self.file), scope, flux=str(keyword) == "flux"
        )

    # -- pde instantiation ----------------------------------------------------------------
    def _pde(self, name: str, call: Tree, ev: Evaluator, dims: int) -> ir.PDE:
        self._call = call
        tree = self.pdes[name]
        _, header, *body = tree.children
        specs: list[ArgSpec] = []
        for param in call_args(header):
            if any(spec.name == str(param.children[0]) for spec in specs):
                raise self.error(
                    f"pde '{name}' repeats the parameter '{param.children[0]}'", param.children[0]
                )
            default = REQUIRED if param.children[1] is None else ev.scalar(param.children[1])
            specs.append(ArgSpec(str(param.children[0]), "number", default))
        bound = bind(f"pde '{name}'", call_args(call.children[1]), specs, ev, call)
        scope = Scope(self.file, parent=self.scope, dims=dims)
        scope.values.update(bound.values)  # type: ignore[arg-type]
        inner = Evaluator(scope)
        equations: list[ir.Equation] = []
        for stmt in (s for s in body if s is not None):
            if stmt.data == "decl":
                self._decl(stmt, scope, inner)
            elif stmt.data == "fn_def":
                self._declare(stmt.children[1], scope)
                self._function(stmt, scope)
            else:
                equations.append(self._equation(stmt, scope, inner, equations))
        for fn in inner.functions.values():
            for p in scope.params.values():
                if p.channels is not None and any(str(s) == p.name for s in fn.expr.free_symbols):
                    raise SpecError(
                        f"function '{fn.name}' uses the per-channel param '{p.name}': a "
                        "pointwise function takes scalar params only",
                        fn.loc or p.loc,
                        [f"{p.loc}: the param is declared here"],
                    )
        loc = loc_of(call, self.file)
        if not scope.states:
            raise SpecError(
                f"pde '{name}' declares no state (e.g. 'state u[c]')", loc_of(tree, self.file)
            )
        for state in scope.states.values():
            if not any(eq.state == state.name for eq in equations):
                raise SpecError(
                    f"state '{state.name}' of pde '{name}' has no equation dt({state.name}) = ...",
                    state.loc,
                )
        weight_dims = {w.dims for w in scope.weights.values()}
        if len(weight_dims) > 1:
            shown = " and ".join(f"{d}D" for d in sorted(weight_dims))
            raise SpecError(f"pde '{name}' mixes {shown} weights", loc_of(tree, self.file))
        return ir.PDE(
            name=name,
            args=dict(bound.values),  # type: ignore[arg-type]
            states=dict(scope.states),
            weights=dict(scope.weights),
            norms=dict(scope.norms),
            params=dict(scope.params),
            functions=inner.functions,
            equations=equations,
            dims=weight_dims.pop() if weight_dims else dims,
            loc=loc,
            stencils=dict(scope.stencils),
            grid=scope.grid,
        )

    def _decl(self, stmt: Tree, scope: Scope, ev: Evaluator) -> None:
        keyword, name_token, size, init, attrs = stmt.children
        kind, name = str(keyword), str(name_token)
        if name in ACTIVATIONS:  # `relu(K u)` would still apply the builtin, not this
            raise self.error(
                f"'{name}' is a builtin function: a {kind} cannot take its name", name_token
            )
        self._declare(name_token, scope)
        loc = loc_of(name_token, self.file)
        attr_list = [] if attrs is None else [a for a in attrs.children if a is not None]

        def refuse(part: Node | None, what: str) -> None:
            if part is not None:
                raise self.error(f"a {kind} declaration takes no {what}", part)

        if kind == "state":
            refuse(init, "initial value")
            refuse(attrs, "attributes")
            if size is None:
                raise self.error(f"state '{name}' needs a channel count, e.g. {name}[c]", stmt)
            channels = self._channels(name, size.children[0], ev)
            scope.states[name] = ir.State(name, channels, loc)
        elif kind == "weight":
            refuse(size, "size")
            refuse(init, "initial value")
            kind_attr = self._single_attr(stmt, attr_list, name, ("conv",), "conv(3x3, c -> c)")
            b = bind("conv", call_args(kind_attr.children[1]), WEIGHT, ev, kind_attr)
            c_in, c_out = b["channels"]  # type: ignore[misc]
            if b["depthwise"] and c_in != c_out:
                raise self.error(
                    f"a depthwise weight maps c -> c (one kernel per channel), not "
                    f"{c_in} -> {c_out}",
                    b.nodes["channels"],
                )
            if b["depthwise"] and b["bias"]:
                raise self.error("a depthwise weight takes no bias", b.nodes["bias"])
            scope.weights[name] = ir.Weight(
                name,
                b["kernel"],  # type: ignore[arg-type]
                c_in,
                c_out,
                b["bias"],  # type: ignore[arg-type]
                loc,
                bool(b["depthwise"]),
            )
        elif kind == "norm":
            refuse(size, "size")
            refuse(init, "initial value")
            attr = self._single_attr(stmt, attr_list, name, tuple(NORMS), "tvnorm(c, eps = 1e-3)")
            norm_kind = str(attr.children[0])
            b = bind(norm_kind, call_args(attr.children[1]), NORMS[norm_kind], ev, attr)
            scope.norms[name] = ir.NormDecl(
                name,
                norm_kind,
                b["channels"],
                float(b["eps"]),
                b["affine"],
                loc,  # type: ignore[arg-type]
            )
        elif kind == "param":
            channels = None if size is None else self._channels(name, size.children[0], ev)
            if init is None:
                raise self.error(f"param '{name}' needs a value, e.g. {name} = 0.5", stmt)
            value = real_number(ev.scalar(init.children[0]))
            if value is None:
                raise self.error(f"param '{name}' must be a finite real number", init)
            if value != 0 and not SMALLEST <= abs(value) <= LARGEST:
                raise self.error(
                    f"param '{name}' = {float(value):g} is out of range: 0 or between 1e-30 "
                    "and 1e30 in magnitude (the network computes in float32)",
                    init,
                )
            flags = self._flags(attr_list, ("learn", "positive"))
            if "positive" in flags and not value > 0:
                raise self.error(f"param '{name}' is declared positive but is {value}", init)
            scope.params[name] = ir.Param(
                name, float(value), "learn" in flags, "positive" in flags, loc, channels
            )
            if "learn" not in flags:  # a constant: the same number on every channel
                scope.params.pop(name)
                scope.values[name] = value
        elif kind == "grid":
            refuse(size, "size")
            if init is None:
                found = scope.parent.lookup(name) if scope.parent else None
                if found is None or found[0] != "values":
                    raise self.error(
                        f"grid '{name}' needs a spacing: write 'grid {name} = 1', or define "
                        f"a constant '{name}'",
                        stmt,
                    )
                value = found[1]
            else:
                value = ev.scalar(init.children[0])
            value = real_number(value)
            if value is None or not value > 0:
                raise self.error(f"grid spacing '{name}' must be a positive number", init or stmt)
            if not SMALLEST <= value <= LARGEST:
                raise self.error(
                    f"grid spacing '{name}' = {float(value):g} is out of range: between 1e-30 "
                    "and 1e30 (the network computes in float32)",
                    init or stmt,
                )
            if scope.grid is not None:
                raise self.error("a pde has one grid", stmt)
            boundary, data = self._boundary(attr_list, attrs, ev)
            scope.values[name] = value
            scope.grid = ir.Grid(name, value, boundary, loc, data)  # type: ignore[arg-type]
        elif kind == "stencil":
            refuse(size, "size")
            refuse(attrs, "attributes")
            if init is None:
                raise self.error(
                    f"stencil '{name}' needs weights, e.g. 'stencil {name} = [1, -2, 1] / h^2'",
                    stmt,
                )
            scope.stencils[name] = self._stencil(name, init.children[0], scope, loc)

    def _boundary(
        self, attrs: list[Tree], node: Node | None, ev: Evaluator
    ) -> tuple[str, sympy.Expr]:
        """A grid's boundary rule: neumann (default), periodic, zero or dirichlet(b), with
        the value b held outside the domain (exact; dirichlet(0) is zero)."""
        rules = ("neumann", "periodic", "zero", "dirichlet")
        plain = [a for a in attrs if str(a.children[0]) != "dirichlet"]
        flags = self._flags(plain, rules)  # dirichlet is never among `plain`
        given = [a for a in attrs if str(a.children[0]) == "dirichlet"]
        if len(flags) + len(given) > 1:
            raise self.error("choose one boundary: neumann, periodic, zero or dirichlet(b)", node)
        if flags:
            return flags.pop(), sympy.Integer(0)
        if not given:
            return "neumann", sympy.Integer(0)
        attr = given[0]
        args = call_args(attr.children[1])
        example = "write dirichlet(b) with the value b held outside the domain, e.g. dirichlet(1)"
        keyed = ("kw_arg", "map_arg", "kernel_arg")
        if len(args) != 1 or (isinstance(args[0], Tree) and args[0].data in keyed):
            raise self.error(f"dirichlet takes one number: {example}", attr)
        data = real_number(ev.scalar(args[0]))
        if data is None or not data.is_number:
            raise self.error(f"the boundary value must be a finite real number: {example}", args[0])
        if data != 0 and not SMALLEST <= abs(data) <= LARGEST:
            raise self.error(
                f"the boundary value {float(data):g} is out of range: 0 or between 1e-30 and "
                "1e30 in magnitude (the network computes in float32)",
                args[0],
            )
        if data == 0:
            return "zero", sympy.Integer(0)
        return "dirichlet", data

    def _stencil(self, name: str, node: Node, scope: Scope, loc: ir.Loc) -> ir.StencilDecl:
        """`[1, -2, 1] / h^2`: weights in the grid spacing's symbol, centred."""
        symbolic = Scope(self.file, parent=scope)
        if scope.grid is not None:
            symbolic.values[scope.grid.name] = scope.grid.symbol
        ev = Evaluator(symbolic)
        weights = self._stencil_value(node, ev)
        if not isinstance(weights, sympy.Array):
            raise self.error(f"stencil '{name}' must be a list of weights, e.g. [1, -2, 1]", node)
        if weights.rank() != scope.dims:
            raise self.error(
                f"stencil '{name}' is {weights.rank()}D but the data is {scope.dims}D", node
            )
        if any(size % 2 == 0 for size in weights.shape):
            raise self.error(
                f"stencil '{name}' has an even size {'x'.join(map(str, weights.shape))}; "
                "a centred stencil has odd sizes",
                node,
            )
        free = {s for w in weights for s in sympy.sympify(w).free_symbols}
        if scope.grid is not None:
            free.discard(scope.grid.symbol)
        if free:
            raise self.error(f"stencil '{name}' weights must be numbers", node)
        origin = tuple(size // 2 for size in weights.shape)
        decl = ir.StencilDecl(name, (weights,), origin, scope.grid, loc)
        problem = stencil_problem(decl)
        if problem is not None:
            raise self.error(f"stencil '{name}' {problem}", node)
        return decl

    def _stencil_value(self, node: Node, ev: Evaluator) -> sympy.Expr | sympy.Array:
        if isinstance(node, Tree) and node.data == "list":
            items = [self._stencil_value(item, ev) for item in node.children]
            ranks = {item.rank() if isinstance(item, sympy.Array) else 0 for item in items}
            shapes = {item.shape if isinstance(item, sympy.Array) else () for item in items}
            if len(ranks) > 1 or len(shapes) > 1:
                raise self.error("the rows of a stencil must have equal lengths", node)
            if ranks.pop() > 2:
                raise self.error("stencils have at most three dimensions", node)
            return sympy.Array(
                [item.tolist() if isinstance(item, sympy.Array) else item for item in items]
            )
        if isinstance(node, Tree) and node.data in ("mul", "div"):
            a, b = (self._stencil_value(k, ev) for k in node.children)
            if isinstance(b, sympy.Array):
                if node.data == "div" or isinstance(a, sympy.Array):
                    raise self.error("a stencil can only be scaled by a number", node)
                a, b = b, a
            if isinstance(a, sympy.Array):
                return a * b if node.data == "mul" else a / b
            return ev._arith(node.data, a, b, node)
        if isinstance(node, Tree) and node.data == "neg":
            return -self._stencil_value(node.children[0], ev)
        return ev.scalar(node)

    def _channels(self, name: str, node: Node, ev: Evaluator) -> int:
        """A state's channel count; a bad count is reported where the pde is used."""
        value = ev.scalar(node)
        if value.is_number and value.is_integer and value > 0:
            return int(value)
        written = source_text(node)
        shown = f"{written} = {value}" if written != str(value) else f"it is {written}"
        why = "a positive whole number of channels"
        half = value.is_number and value.is_Rational and not value.is_integer
        if half and (2 * value).is_integer and "/" in written:
            why += " (the block splits its channels in halves, so they must be even)"
        args = (
            ", ".join(f"{k} = {v}" for k, v in ev.scope.values.items()) if ev.scope.values else ""
        )
        call = self._call
        raise SpecError(
            f"state '{name}[{written}]' needs {why}, but {shown}"
            + (f" for {call.children[0]}({args})" if call is not None else ""),
            loc_of(call, self.file) if call is not None else loc_of(node, self.file),
            [f"{loc_of(node, self.file)}: the state is declared here"],
        )

    def _single_attr(
        self, stmt: Tree, attrs: list[Tree], name: str, kinds: tuple[str, ...], example: str
    ) -> Tree:
        keyword = str(stmt.children[0])
        if not attrs:
            raise self.error(
                f"{keyword} '{name}' needs a type, e.g. '{keyword} {name} : {example}'", stmt
            )
        if len(attrs) > 1:
            raise self.error(f"{keyword} '{name}' takes one type", attrs[1])
        attr = attrs[0]
        word = str(attr.children[0])
        if word not in kinds:
            raise self.error(
                f"unknown {keyword} type '{word}'{did_you_mean(word, kinds)}; "
                f"known: {', '.join(kinds)}",
                attr.children[0],
            )
        return attr

    def _flags(self, attrs: list[Tree], allowed: tuple[str, ...]) -> set[str]:
        flags: set[str] = set()
        for attr in attrs:
            word = str(attr.children[0])
            if word not in allowed or attr.children[1] is not None:
                raise self.error(
                    f"unknown attribute '{word}'{did_you_mean(word, allowed)}; "
                    f"allowed: {', '.join(allowed)}",
                    attr,
                )
            flags.add(word)
        return flags

    def _equation(
        self, stmt: Tree, scope: Scope, ev: Evaluator, done: list[ir.Equation]
    ) -> ir.Equation:
        deriv, state_token, rhs = stmt.children
        name = str(state_token)
        if name not in scope.states:
            raise self.error(
                f"'{name}' is not a state of this pde{did_you_mean(name, scope.states)}",
                state_token,
            )
        if any(eq.state == name for eq in done):
            raise self.error(f"state '{name}' already has an equation", state_token)
        expr, channels = ev.field(rhs)
        state = scope.states[name]
        if channels is not None and channels != state.channels:
            raise self.error(
                f"the right-hand side has {channels} channels but state '{name}' has "
                f"{state.channels}",
                rhs,
            )
        self._per_channel_use(expr, scope, state, rhs)
        order = 2 if str(deriv) == "dtt" else 1
        return ir.Equation(order, name, expr, loc_of(stmt, self.file), source_text(rhs))

    def _per_channel_use(self, expr: sympy.Expr, scope: Scope, state: ir.State, rhs) -> None:
        """A per-channel param scales whole terms of an equation of a state with as many
        channels: inside an operator (K u, relu(…), a stencil) it would meet a field of
        another channel count, and the analysis treats it as a diagonal coefficient."""
        own = {p.name: p for p in scope.params.values() if p.channels is not None}
        used = [own[str(s)] for s in expr.free_symbols if str(s) in own]
        for param in sorted(used, key=lambda p: p.name):
            if param.channels != state.channels:
                raise self.error(
                    f"param '{param.name}[{param.channels}]' has {param.channels} channels "
                    f"but state '{state.name}' has {state.channels}",
                    rhs,
                    (f"{param.loc}: the param is declared here",),
                )
            for node in sympy.preorder_traversal(expr):
                if isinstance(node, sympy.Function) and any(
                    str(s) == param.name for s in node.free_symbols
                ):
                    raise self.error(
                        f"the per-channel param '{param.name}' can only scale terms of the "
                        f"right-hand side (e.g. {param.name} * lap {state.name}), not appear "
                        "inside an operator or a function",
                        rhs,
                        (f"{param.loc}: the param is declared here",),
                    )

    # -- networks ------------------------------------------------------------------------
    def _network(self, tree: Tree) -> ir.Network:
        name_token, *stmts = tree.children
        if len(str(name_token)) > MAX_NETWORK_NAME:
            raise self.error(
                f"the network name is {len(str(name_token)):,} characters long; the output "
                f"files are named after it (NAME.report.json) and a file name has at most "
                f"255 bytes: use at most {MAX_NETWORK_NAME} characters",
                name_token,
            )
        stmts = [s for s in stmts if s is not None]
        ev = Evaluator(self.scope)
        if not stmts or stmts[0].data != "input_stmt":
            raise self.error(
                f"network '{name_token}' must start with an input line, e.g. 'input image(3, 32, 32)'",
                stmts[0] if stmts else name_token,
            )
        spec = self._input(stmts[0], ev)
        self.budget.input(spec)
        shape = spec.shape
        layers: list[ir.Layer] = []
        for index, stmt in enumerate(stmts[1:], start=1):
            if stmt.data == "input_stmt":
                raise self.error("a network has one input line, at the top", stmt)
            chain = stmt.children[0] if stmt.data == "output_stmt" else stmt
            for layer in chain.children:
                before, count = shape, len(layers)
                shape = self._layer(layer, shape, spec.dims, layers, ev)
                for added in layers[count:]:
                    self.budget.layer(added, before, shape)
            if stmt.data == "output_stmt" and index != len(stmts) - 1:
                raise self.error(
                    "the output line must be the last line of the network", stmts[index + 1]
                )
        if stmts[-1].data != "output_stmt":
            raise self.error(
                f"network '{name_token}' needs an output line at the end, e.g. 'output linear(64 -> 10)'",
                stmts[-1],
            )
        for i, block in enumerate((b for b in layers if isinstance(b, ir.Block)), start=1):
            block.index = i
        return ir.Network(
            str(name_token),
            spec,
            layers,
            shape,
            loc_of(name_token, self.file),
            source_file=self.file,
        )

    def _input(self, stmt: Tree, ev: Evaluator) -> ir.InputSpec:
        layer, low_node, high_node = [*stmt.children, None, None][:3]
        call, scheme = layer.children
        if scheme is not None:
            raise self.error("the input line takes no scheme", scheme)
        word = str(call.children[0])
        if word not in INPUTS:
            raise self.error(
                f"unknown input kind '{word}'{did_you_mean(word, INPUTS)}; "
                "use image(c, H, W), volume(c, D, H, W), signal(c, N) or vector(n)",
                call.children[0],
            )
        bound = bind(word, call_args(call.children[1]), INPUTS[word], ev, call)
        shape = tuple(int(v) for v in bound.values.values())  # type: ignore[call-overload]
        data_range = None
        if low_node is not None and high_node is not None:
            ends = []
            for node in (low_node, high_node):
                value = real_number(ev.scalar(node))
                if value is None or not value.is_number or abs(value) > FLOAT32_LARGEST:
                    raise self.error(
                        "the input range needs finite numbers within ±1e30 (the network "
                        "computes in float32)",
                        node,
                    )
                ends.append(value)
            if not ends[0] < ends[1]:
                raise self.error(
                    f"the input range [{float(ends[0]):g}, {float(ends[1]):g}] is empty: "
                    "write [low, high] with low < high",
                    low_node,
                )
            data_range = (ends[0], ends[1])
        return ir.InputSpec(word, shape, loc_of(call, self.file), data_range)  # type: ignore[arg-type]

    def _layer(
        self, layer: Tree, shape: tuple[int, ...], dims: int, out: list[ir.Layer], ev: Evaluator
    ) -> tuple[int, ...]:
        call, scheme = layer.children
        word = str(call.children[0])
        args = call_args(call.children[1])
        loc = loc_of(call, self.file)
        if word in self.pdes:
            if scheme is None:
                raise self.error(
                    f"pde block '{word}' needs a time-stepping scheme, e.g. "
                    f"'{source_text(call)} by euler(h = 1, steps = 3)'; "
                    f"schemes: {', '.join(sorted(REGISTRY))}",
                    call,
                )
            return self._block(word, call, scheme, shape, dims, out, ev)
        if scheme is not None:
            raise self.error(f"'{word}' is a layer, not a pde; only pde blocks take 'by'", scheme)
        if word in LAYERS:
            b = bind(word, args, LAYERS[word], ev, call)
            return self._builtin_layer(word, b, call, shape, out, loc)
        found = self.scope.lookup(word)
        if word == "identity" and found is None and not args:
            out.append(ir.IdentityLayer(loc))
            return shape
        if word in ACTIVATIONS or (found is not None and found[0] == "functions"):
            fn = ev.activation(word, args, call)
            out.append(ir.ActivationLayer(fn, loc))
            return shape
        known = set(LAYERS) | set(ACTIVATIONS) | set(self.pdes) | set(self.scope.functions)
        raise self.error(f"unknown layer '{word}'{did_you_mean(word, known)}", call.children[0])

    def _builtin_layer(
        self,
        word: str,
        b: Bound,
        call: Tree,
        shape: tuple[int, ...],
        out: list[ir.Layer],
        loc: ir.Loc,
    ) -> tuple[int, ...]:
        channels, spatial = shape[0], shape[1:]
        if word == "conv":
            c_in, c_out = b["channels"]  # type: ignore[misc]
            kernel: tuple[int, ...] = b["kernel"]  # type: ignore[assignment]
            self._need_spatial(word, spatial, call)
            if len(kernel) != len(spatial):
                want = "x".join([str(kernel[0])] * len(spatial))
                raise self.error(
                    f"conv kernel {'x'.join(map(str, kernel))} is {len(kernel)}D but the data is "
                    f"{len(spatial)}D ({_shape(shape)}); write {want}",
                    b.nodes["kernel"],
                )
            if c_in != channels:
                raise self.error(
                    f"channel mismatch: conv expects {c_in} input channels but receives "
                    f"{channels} ({_shape(shape)})",
                    b.nodes["channels"],
                )
            stride = int(b["stride"])  # type: ignore[call-overload]
            for size in spatial:
                if size % stride:
                    raise self.error(
                        f"stride {stride} does not divide the spatial size {_shape(spatial)} "
                        f"(the data is {_shape(shape)})",
                        b.nodes["stride"],
                    )
            out.append(ir.ConvLayer(kernel, c_in, c_out, bool(b["bias"]), stride, loc))
            return (c_out, *(s // stride for s in spatial))
        if word == "batchnorm":
            given = b["channels"]
            if given is not None and given != channels:
                raise self.error(
                    f"channel mismatch: batchnorm({given}) but the data has {channels} channels",
                    b.nodes["channels"],
                )
            out.append(ir.BatchNormLayer(channels, len(spatial), loc))
            return shape
        if word in ("avgpool", "maxpool"):
            self._need_spatial(word, spatial, call)
            size = int(b["size"])  # type: ignore[call-overload]
            bad = [s for s in spatial if s % size]
            if bad:
                raise self.error(
                    f"{word}({size}) does not divide the spatial size {_shape(spatial)} "
                    f"(the data is {_shape(shape)})",
                    b.nodes.get("size", call),
                )
            out.append(ir.PoolLayer(word[:3], size, len(spatial), loc))  # type: ignore[arg-type]
            return (channels, *(s // size for s in spatial))
        if word in ("globalavgpool", "globalmaxpool"):
            self._need_spatial(word, spatial, call)
            out.append(ir.GlobalPoolLayer(word[6:9], len(spatial), loc))  # type: ignore[arg-type]
            return (channels,)
        if word == "flatten":
            out.append(ir.FlattenLayer(loc))
            return (math.prod(shape),)
        # linear
        c_in, c_out = b["features"]  # type: ignore[misc]
        if spatial:
            raise self.error(
                f"linear needs flat input but the data is {_shape(shape)}; "
                "add globalavgpool or flatten before it",
                call,
            )
        if c_in != channels:
            raise self.error(
                f"feature mismatch: linear expects {c_in} inputs but receives {channels}",
                b.nodes["features"],
            )
        out.append(ir.LinearLayer(c_in, c_out, bool(b["bias"]), loc))
        return (c_out,)

    def _need_spatial(self, word: str, spatial: tuple[int, ...], node: Node) -> None:
        if not spatial:
            raise self.error(f"{word} needs spatial data, but the data is already flat", node)

    def _block(
        self,
        word: str,
        call: Tree,
        scheme_call: Tree,
        shape: tuple[int, ...],
        dims: int,
        out: list[ir.Layer],
        ev: Evaluator,
    ) -> tuple[int, ...]:
        pde = self._pde(word, call, ev, len(shape) - 1)
        scheme_name = str(scheme_call.children[0])
        if scheme_name not in REGISTRY:
            raise self.error(
                f"unknown scheme '{scheme_name}'{did_you_mean(scheme_name, REGISTRY)}; "
                f"schemes: {', '.join(sorted(REGISTRY))}",
                scheme_call.children[0],
            )
        scheme = REGISTRY[scheme_name]
        bound = bind(
            scheme_name, call_args(scheme_call.children[1]), scheme.arguments, ev, scheme_call
        )
        if len(shape) == 1:
            raise self.error(f"pde block '{word}' needs spatial data, but the data is flat", call)
        if pde.dims and pde.dims != len(shape) - 1:
            raise self.error(
                f"pde '{word}' has {pde.dims}D weights but the data is {len(shape) - 1}D "
                f"({_shape(shape)})",
                call,
            )
        states = list(pde.states.values())
        total = sum(s.channels for s in states)
        if total != shape[0]:
            raise self.error(
                f"channel mismatch: {pde.signature} has {total} channels "
                f"({', '.join(f'{s.name}[{s.channels}]' for s in states)}) but its input has "
                f"{shape[0]} ({_shape(shape)})",
                call,
            )
        values = {k: _plain(v) for k, v in bound.values.items()}
        exact = {
            k: v
            for k, v in bound.values.items()
            if isinstance(v, sympy.Basic) and not isinstance(v, sympy.logic.boolalg.Boolean)
        }
        call_ir = ir.SchemeCall(
            scheme_name,
            values,
            loc_of(scheme_call, self.file),
            tuple(bound.nodes),
            exact,
            {k: loc_of(n, self.file) for k, n in bound.nodes.items()},
        )
        block = ir.Block(
            pde,
            call_ir,
            shape,
            loc_of(call, self.file),
        )
        self.budget.steps(block, f"block {pde.signature} by {block.scheme.text}")
        scheme().validate(block)
        out.append(block)
        return shape


def _plain(value: object) -> object:
    """Scheme arguments as Python scalars (ints stay ints)."""
    if isinstance(value, sympy.Basic):
        return int(value) if value.is_integer else float(value)
    return value


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def lower(
    tree: Tree,
    file: str,
    overrides: Mapping[str, object] | None = None,
    limits: Limits | None = None,
) -> ir.Network:
    """Lower a parsed spec into the IR of its network, applying `--set` overrides.

    A layer that takes the network over a resource budget (`limits`, default: those in
    force, see pde2net.lang.limits) is refused before anything is allocated."""
    return Lowering(file, limits).program(tree, parse_overrides(overrides))
