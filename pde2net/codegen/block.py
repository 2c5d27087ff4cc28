"""One generated nn.Module class for a pde stepped by its scheme.

The class is written for one block, with its sizes as expressions in the pde's
arguments and the scheme's numbers as arguments of `__init__`; blocks whose classes come
out the same (`BlockCode.key`) share it, and the network class passes each its own
arguments. Every name comes from a Namer (codegen/names.py).
"""

from __future__ import annotations

import ast
import math
import textwrap
from dataclasses import dataclass, field

import sympy

from pde2net import ir
from pde2net.analysis.report import BlockReport
from pde2net.codegen.emit import Emitter, Scope, constant, expr, mentions, name
from pde2net.codegen.names import KEYWORDS, Namer, module_attributes
from pde2net.codegen.printer import TorchPrinter
from pde2net.export.norms import enforcement_grid
from pde2net.schemes import get
from pde2net.schemes import update as up

TENSOR = "torch.Tensor"


@dataclass
class BlockCode:
    key: str  # the class body without its name and docstring
    methods: list[ast.stmt]
    arguments: dict[str, ast.expr]  # __init__ parameter -> this block's value
    weights: dict[str, str]  # spec weight -> attribute (an nn.ParameterList)
    bounds: dict[str, str]  # spec weight -> attribute (its NormBound modules)
    helpers: set[str] = field(default_factory=set)


def _padding(kernel: tuple[int, ...]) -> str:
    pads = [k // 2 for k in kernel]
    return str(pads[0]) if len(set(pads)) == 1 else str(tuple(pads))


def _method(
    fname: str, params: list[tuple[str, str]], returns: str, body: list[ast.stmt], doc: str = ""
) -> ast.FunctionDef:
    args = [ast.arg("self")] + [ast.arg(n, expr(t) if t else None) for n, t in params]
    if doc and len(doc) > 72:  # wrapped like a person writes it, closing quotes below
        doc = textwrap.fill(doc, 80) + "\n"
    stmts = ([ast.Expr(ast.Constant(doc))] if doc else []) + body
    return ast.FunctionDef(
        fname,
        ast.arguments([], args, None, [], [], None, []),
        stmts or [ast.Pass()],
        [],
        expr(returns) if returns else None,
        lineno=0,
    )


def _stmt(code: str) -> ast.stmt:
    return ast.parse(code).body[0]


class BlockWriter:
    def __init__(self, block: ir.Block, report: BlockReport, globals_: Namer, reversible: bool):
        self.block, self.pde = block, block.pde
        self.scheme = get(block.scheme.name)
        self.update = report.update  # derived by the analysis, printed here
        self.reversible = reversible and self.update.reversible is not None
        self.enforced = report.enforced_bounds()
        self.clamped = report.enforced_params()
        pde, upd = self.pde, self.update
        attrs = Namer(KEYWORDS | module_attributes() - {"forward"})
        locs = globals_.child()
        self.attrs, self.locs = attrs, locs
        self.api = {"forward": attrs.name("forward")}
        if upd.reversible is not None:
            self.api["inverse"] = attrs.name("inverse")
            if upd.reversible.extra:
                self.api["forward_pair"] = attrs.name("forward_pair")
        # spec names first, as attributes and as locals
        self.states = {s: locs.name(s) for s in pde.states}
        self.weight_attr = {w: attrs.name(w) for w in pde.weights}
        self.norm_attr = {n: attrs.name(n) for n in pde.norms}
        self.stencil_attr = {n: attrs.name(n) for n in pde.stencils}
        self.param_attr = {p: attrs.name(p) for p in pde.params}
        self.fn_attr = {f: attrs.name(f) for f, fn in pde.functions.items() if not fn.builtin}
        self.weight_local = {w: locs.name(w) for w in pde.weights}
        self.norm_local = {n: locs.name(n) for n in pde.norms}
        self.arg_local = {a: locs.name(a) for a in pde.args}
        # then what the generator derives
        self.bias_attr = {w: attrs.name(f"{a}_bias") for w, a in self.weight_attr.items()}
        self.bound_attr = {w: attrs.name(f"{self.weight_attr[w]}_bound") for w in self.enforced}
        self.raw_attr = {
            p: attrs.name(f"{a}_raw")
            for p, a in self.param_attr.items()
            if pde.params[p].positive or pde.params[p].channels is not None
        }
        many = len(pde.equations) > 1
        self.rhs = {eq.state: attrs.name(f"f_{eq.state}" if many else "f") for eq in pde.equations}
        self.pieces = {p: attrs.name(p.hint) for p in upd.pieces}
        if upd.reversible is not None:
            self.api["step"] = attrs.name("step")
            self.api["unstep"] = attrs.name("unstep")
        self.copies_by_steps = not block.shared
        used = self._numbers_used()
        self.number_attr = {n: attrs.name(n) for n in upd.numbers if n in used}
        self.number_local = {n: locs.name(n) for n in self.number_attr}
        self.bound_local = {w: locs.name(f"{self.weight_attr[w]}_bound") for w in self.enforced}
        self.clamp_attr = {p: attrs.name(f"{self.param_attr[p]}_max") for p in self.clamped}
        self.clamp_local = {p: locs.name(f"{self.param_attr[p]}_max") for p in self.clamped}
        self.buffer_attr = {b: attrs.name(b) for b in upd.buffers}
        self.sizes_attr = attrs.name("sizes") if len(pde.states) > 1 else ""
        self.x = locs.name("x") if self.sizes_attr else next(iter(self.states.values()))
        self.helpers: set[str] = set(upd.helpers)
        self.used_args: set[str] = set()

    def _numbers_used(self) -> set[str]:
        upd = self.update
        found = {
            n.name for part in (upd.body, upd.reversible, upd.pieces) for n in _walk_numbers(part)
        }
        if self.copies_by_steps or upd.reversible is not None:
            found.add("steps")
        return found

    # -- sizes ----------------------------------------------------------------------
    def size(self, value: int) -> ast.expr:
        """A size as an expression in the pde's arguments: c, c // 2, 2 * c (an argument
        equal to it first), or a literal."""
        values = {arg: sympy.sympify(a) for arg, a in self.pde.args.items()}
        ints = {arg: int(a) for arg, a in values.items() if a.is_Integer and a > 0}
        forms = (
            lambda local, a: local if value == a else None,
            lambda local, a: f"{local} // {a // value}" if value and a % value == 0 else None,
            lambda local, a: f"{value // a} * {local}" if value % a == 0 else None,
        )
        for form in forms:
            for arg, a in ints.items():
                code = form(self.arg_local[arg], a)
                if code is not None:
                    self.used_args.add(arg)
                    return expr(code)
        return constant(value)

    # -- the class ------------------------------------------------------------------
    def write(self) -> BlockCode:
        methods: list[ast.stmt] = []
        init = self._init()  # first: it decides which pde arguments the class takes
        methods += self._properties()
        methods += self._functions()
        methods += self._rhs_methods()
        methods += [self._piece(p) for p in self.update.pieces]
        methods += self._forward()
        params = [(self.arg_local[a], "int") for a in self.pde.args if a in self.used_args]
        params += [
            (self.number_local[n], _type(v))
            for n, v in self.update.numbers.items()
            if n in self.number_attr
        ]
        params += [(self.bound_local[w], "float") for w in self.bound_local]
        params += [(self.clamp_local[p], "float") for p in self.clamp_local]
        methods.insert(0, _method("__init__", params, "None", init))
        arguments = {self.arg_local[a]: constant(_value(v)) for a, v in self.pde.args.items()}
        arguments = {k: v for k, v in arguments.items() if any(k == p for p, _ in params)}
        arguments.update(
            {
                self.number_local[n]: constant(v)
                for n, v in self.update.numbers.items()
                if n in self.number_attr
            }
        )
        arguments.update({self.bound_local[w]: constant(b) for w, b in self.enforced.items()})
        arguments.update({self.clamp_local[p]: constant(b) for p, b in self.clamped.items()})
        key = ast.unparse(ast.Module(methods, []))
        if "conv_adjoint(" in key:  # printed by TorchPrinter for K' and (K*K)'
            self.helpers.add("conv_adjoint")
        return BlockCode(key, methods, arguments, self.weight_attr, self.bound_attr, self.helpers)

    def _init(self) -> list[ast.stmt]:
        pde, block = self.pde, self.block
        out = [_stmt("super().__init__()")]
        for n, attr in self.number_attr.items():
            out.append(_stmt(f"self.{attr} = {self.number_local[n]}"))
        if self.sizes_attr:
            sizes = ast.List([self.size(s.channels) for s in pde.states.values()], ast.Load())
            out.append(_stmt(f"self.{self.sizes_attr} = {ast.unparse(sizes)}"))
        copies = f"range({self.number_local['steps']})" if self.copies_by_steps else "range(1)"
        loop = f" for _ in {copies}]"
        for w, decl in pde.weights.items():
            attr = self.weight_attr[w]
            self.helpers.add("conv_weight")
            c_in = constant(1) if decl.depthwise else self.size(decl.c_in)
            shape = [self.size(decl.c_out), c_in, *map(constant, decl.kernel)]
            dims = ", ".join(ast.unparse(s) for s in shape)
            out.append(_stmt(f"self.{attr} = nn.ParameterList([conv_weight({dims}){loop})"))
            if decl.bias:
                c_out = ast.unparse(self.size(decl.c_out))
                out.append(
                    _stmt(
                        f"self.{self.bias_attr[w]} = nn.ParameterList("
                        f"[nn.Parameter(torch.zeros({c_out})){loop})"
                    )
                )
            if w in self.enforced:
                self.helpers.add("NormBound")
                grid = enforcement_grid(tuple(decl.kernel))
                out.append(
                    _stmt(
                        f"self.{self.bound_attr[w]} = nn.ModuleList([NormBound("
                        f"{self.bound_local[w]}, ({dims}), {grid}){loop})"
                    )
                )
        for n, decl in pde.norms.items():
            c = ast.unparse(self.size(decl.channels))
            eps, affine = ast.unparse(constant(float(decl.eps))), decl.affine
            if decl.kind == "tvnorm":
                self.helpers.add("TVNorm")
                make = f"TVNorm({c}, eps={eps}, affine={affine})"
            else:
                kind = "BatchNorm" if decl.kind == "batchnorm" else "InstanceNorm"
                make = f"nn.{kind}{pde.dims or 2}d({c}, eps={eps}, affine={affine})"
            out.append(_stmt(f"self.{self.norm_attr[n]} = nn.ModuleList([{make}{loop})"))
        buffers = [
            (self.stencil_attr[n], d.numeric(), (d.components, 1, *d.shape))
            for n, d in pde.stencils.items()
        ]
        if pde.stencils:
            self.helpers.add("stencil")
        buffers += [(self.buffer_attr[b], v, s) for b, (v, s) in self.update.buffers.items()]
        for attr, values, shape in buffers:
            tensor = ast.unparse(constant(_nested(values)))
            out.append(
                _stmt(f"self.register_buffer({attr!r}, torch.tensor({tensor}).view{shape!r})")
            )
        for p, attr in self.clamp_attr.items():
            out.append(_stmt(f"self.{attr} = {self.clamp_local[p]}"))
        for p, decl in pde.params.items():
            if p in self.raw_attr:
                raw = decl.value
                if decl.positive and decl.value < 20:
                    raw = math.log(math.expm1(decl.value))
                value = ast.unparse(constant(float(raw)))
                if decl.channels is not None:
                    make = f"torch.full(({ast.unparse(self.size(decl.channels))},), {value})"
                else:
                    make = f"torch.tensor({value})"
                out.append(_stmt(f"self.{self.raw_attr[p]} = nn.Parameter({make})"))
            else:
                value = ast.unparse(constant(float(decl.value)))
                out.append(
                    _stmt(f"self.{self.param_attr[p]} = nn.Parameter(torch.tensor({value}))")
                )
        del block
        return out

    def _properties(self) -> list[ast.stmt]:
        out = []
        for p, raw in self.raw_attr.items():
            decl = self.pde.params[p]
            value, doc = f"self.{raw}", f"{p}"
            if decl.positive:
                value, doc = f"F.softplus({value})", f"{p} > 0, kept positive by a softplus"
            if p in self.clamp_attr:
                value = f"torch.clamp({value}, max=self.{self.clamp_attr[p]})"
                doc += " and clamped to its stability bound"
            if decl.channels is not None:
                ones = ", 1" * (self.pde.dims or 2)
                value = f"{value}.view(1, -1{ones})"
                doc += ", one value per channel, broadcast over space"
            method = _method(self.param_attr[p], [], TENSOR, [_stmt(f"return {value}")], doc + ".")
            method.decorator_list = [name("property")]
            out.append(method)
        return out

    def _printer(self, index: str, dummies: dict | None = None) -> TorchPrinter:
        pde = self.pde
        weights = {
            w: (str(d.dims), self.weight_local[w], _padding(d.kernel), str(d.groups))
            for w, d in pde.weights.items()
        }
        stencils = {n: (d, f"self.{self.stencil_attr[n]}") for n, d in pde.stencils.items()}
        names = dict(self.states)
        names.update({p: f"self.{a}" for p, a in self.param_attr.items()})
        names.update(self.norm_local)
        names.update(self.weight_local)  # a bare weight: a learned kernel a solver reads
        methods = {f: f"self.{a}" for f, a in self.fn_attr.items()}
        return TorchPrinter(names, weights, pde.functions, methods, stencils, dummies)

    def _functions(self) -> list[ast.stmt]:
        out = []
        for f, fn in self.pde.functions.items():
            if fn.builtin:
                continue
            var = self.locs.child().name(fn.var.name)
            names = {p: f"self.{a}" for p, a in self.param_attr.items()}
            printer = TorchPrinter({**names, fn.var.name: var})
            body = [ast.Return(expr(printer.doprint(fn.expr)))]
            out.append(
                _method(
                    self.fn_attr[f],
                    [(var, TENSOR)],
                    TENSOR,
                    body,
                    f"{f}({fn.var.name}) = {fn.expr}",
                )
            )
        return out

    def _emitter(self) -> Emitter:
        scope = Scope(
            self.locs.child(),
            self.states,
            self.number_attr,
            self.buffer_attr,
            self.rhs,
            self.pieces,
            lambda e, d: self._printer("", d).doprint(e),
        )
        return Emitter(scope)

    def _bind(self, em: Emitter, index: str) -> list[ast.stmt]:
        """`K = self.K[j]` for the weights and norms the method's expressions use."""
        used = {str(s) for s in em.weights_used}
        out = []
        for w in self.pde.weights:
            if w in used:
                value = f"self.{self.weight_attr[w]}[{index}]"
                if w in self.bound_attr:
                    value = f"self.{self.bound_attr[w]}[{index}]({value})"
                out.append(_stmt(f"{self.weight_local[w]} = {value}"))
        for n in self.pde.norms:
            if n in used:
                out.append(_stmt(f"{self.norm_local[n]} = self.{self.norm_attr[n]}[{index}]"))
        return out

    def _rhs_methods(self) -> list[ast.stmt]:
        out = []
        j = up.Local("j")
        for eq in self.pde.equations:
            em = self._emitter()
            body = em.stmts((up.Return(up.Math(eq.rhs)),))
            index = em.scope.local(j)
            params = [(self.states[s], TENSOR) for s in self.pde.states] + [(index, "int")]
            doc = f"{ir.derivative(eq.order)}({eq.state}) = {eq.text}, with the weights of step {index}."
            body = self._bind(em, index) + body
            out.append(_method(self.rhs[eq.state], params, TENSOR, body, doc))
        return out

    def _piece(self, piece: up.Piece) -> ast.stmt:
        em = self._emitter()
        params = []
        for p in piece.params:
            pname = self.states[p.name] if isinstance(p, up.State) else em.scope.local(p)
            last = p is piece.params[-1] and piece.index
            params.append((pname, "int" if last else TENSOR))
        body = em.stmts(piece.body)
        if piece.index:
            body = self._bind(em, params[-1][0]) + body
        return _method(self.pieces[piece], params, TENSOR, body, piece.doc)

    # -- forward, and the reversible path -----------------------------------------------
    def _unpack(self, x: str) -> list[ast.stmt]:
        if not self.sizes_attr:
            return []
        targets = ", ".join(self.states.values())
        return [_stmt(f"{targets} = torch.split({x}, self.{self.sizes_attr}, dim=1)")]

    def _pack(self) -> str:
        states = list(self.states.values())
        return states[0] if len(states) == 1 else f"torch.cat([{', '.join(states)}], dim=1)"

    def _forward(self) -> list[ast.stmt]:
        upd = self.update
        if upd.reversible is None:
            em = self._emitter()
            x = self.x
            body = self._unpack(x) + em.stmts(upd.body) + [_stmt(f"return {self._pack()}")]
            return [_method(self.api["forward"], [(x, TENSOR)], TENSOR, body)]
        return self._reversible(upd.reversible)

    def _reversible(self, rev: up.Reversible) -> list[ast.stmt]:
        em = self._emitter()
        extra = [em.scope.local(e) for e in rev.extra]
        carried = list(self.states.values()) + extra
        state, j = em.scope.locals.name("state"), em.scope.local(rev.index)
        tuple_type = f"tuple[{', '.join([TENSOR] * len(carried))}]"
        steps = f"self.{self.number_attr['steps']}"
        methods = []
        for key, stmts, doc in (("step", rev.step, rev.doc), ("unstep", rev.unstep, rev.undoc)):
            body = [_stmt(f"{', '.join(carried)}, = {state}"), *em.stmts(stmts)]
            body.append(_stmt(f"return {', '.join(carried)},"))
            params = [(state, tuple_type), (j, "int")]
            methods.append(_method(self.api[key], params, tuple_type, body, doc))
        x = self.x
        step, unstep = self.api["step"], self.api["unstep"]
        run = [_stmt(f"{state} = ({', '.join(carried)},)")]
        loop = _stmt(f"for {j} in range({steps}):\n    {state} = self.{step}({state}, {j})")
        if self.reversible:
            self.helpers.add("reversible")
            run.append(
                _stmt(
                    "if torch.is_grad_enabled():\n"
                    f"    {state} = reversible_steps(self.{step}, self.{unstep}, self, "
                    f"{state}, {steps})\nelse:\n    pass"
                )
            )
            run[-1].orelse = [loop]
        else:
            run.append(loop)
        run.append(_stmt(f"{', '.join(carried)}, = {state}"))
        out = self._pack() if not extra else f"{self._pack()}, {', '.join(extra)}"
        run.append(_stmt(f"return {out}"))
        if extra:
            pair = self.api["forward_pair"]
            start = em.stmts(rev.start)
            forward = (
                self._unpack(x) + start + [_stmt(f"return self.{pair}({x}, {', '.join(extra)})[0]")]
            )
            pair_params = [(x, TENSOR)] + [(e, TENSOR) for e in extra]
            ret = f"tuple[{', '.join([TENSOR] * (1 + len(extra)))}]"
            doc = f"{self.scheme.title.capitalize()} steps from the input and {', '.join(extra)}."
            methods.append(_method(self.api["forward"], [(x, TENSOR)], TENSOR, forward))
            methods.append(_method(pair, pair_params, ret, self._unpack(x) + run, doc))
        else:
            methods.append(
                _method(self.api["forward"], [(x, TENSOR)], TENSOR, self._unpack(x) + run)
            )
            pair_params, ret = [(x, TENSOR)], TENSOR
        back = [*self._unpack(x), _stmt(f"{state} = ({', '.join(carried)},)")]
        back.append(
            _stmt(
                f"for {j} in reversed(range({steps})):\n    {state} = self.{unstep}({state}, {j})"
            )
        )
        back += run[-2:]
        doc = "Runs the steps backwards: reconstructs the input from the output."
        methods.append(_method(self.api["inverse"], pair_params, ret, back, doc))
        return methods


def _walk_numbers(node: object):
    from pde2net.codegen.emit import walk

    for sub in walk(node):
        if isinstance(sub, up.Number):
            yield sub
        if isinstance(sub, up.Call) and isinstance(sub.fn, up.Piece):
            yield from _walk_numbers(sub.fn.body)
        if isinstance(sub, up.Ref):
            yield from _walk_numbers(sub.piece.body)


def _nested(values: list | float) -> tuple | float:
    """Nested lists of numbers as nested tuples, for `constant` (which checks each)."""
    return tuple(_nested(v) for v in values) if isinstance(values, list) else values


def _type(value: object) -> str:
    if isinstance(value, tuple):
        return "tuple[float, ...]" if all(isinstance(v, float) for v in value) else "tuple"
    return "int" if isinstance(value, int) else "float"


def _value(value: object) -> int | float:
    value = sympy.sympify(value)
    return int(value) if value.is_Integer else float(value)


__all__ = ["BlockCode", "BlockWriter", "mentions"]
