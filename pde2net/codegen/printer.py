"""SymPy expressions to torch code: one `_print_<Node>` method per node kind."""

from __future__ import annotations

import math

import sympy
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from pde2net.ir import (
    PAD_MODES,
    Act,
    Conv,
    ConvT,
    Function,
    Norm,
    SquaredT,
    Stencil,
    StencilDecl,
    StencilSquaredT,
    StencilT,
    SumSq,
)

_TORCH_FUNCTIONS = {
    "exp": "torch.exp",
    "log": "torch.log",
    "sin": "torch.sin",
    "cos": "torch.cos",
    "tanh": "torch.tanh",
    "atan": "torch.atan",
    "erf": "torch.erf",
    "Abs": "torch.abs",
}


def number(value: sympy.Expr) -> str:
    """A numeric literal: small integers stay integers, everything else is a float
    (1e300 as a float, not 301 digits). The front end refuses numbers beyond float64
    (`lang.expressions.number_problem`); one that still is not finite here is a bug,
    never the bare name `inf` that a spec name could capture."""
    if value.is_Integer and abs(int(value)) < 2**53:
        return str(int(value))
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"the number {value} does not fit a float")
    return repr(result)


class TorchPrinter(StrPrinter):
    """Prints right-hand sides and activations as torch expressions.

    `names` maps SymPy symbols (states, function variables, learned parameters) to the
    Python expression that holds them; `convs` gives each weight its call details.
    """

    def __init__(
        self,
        names: dict[str, str],
        weights: dict[str, tuple[str, ...]] | None = None,
        functions: dict[str, Function] | None = None,
        methods: dict[str, str] | None = None,
        stencils: dict[str, tuple[StencilDecl, str]] | None = None,
        dummies: dict[sympy.Dummy, str] | None = None,
    ) -> None:
        super().__init__({"order": "none"})
        self.names = names
        self.stencils = stencils or {}  # name -> (declaration, python buffer)
        self.weights = weights or {}  # name -> (dims, python variable, padding[, groups])
        self.functions = functions or {}
        self.methods = methods or {}  # user function name -> python callable
        self.dummies = dummies or {}  # a scheme's locals (update.Local.symbol) -> python

    def doprint(self, expr: sympy.Expr) -> str:  # type: ignore[override]
        return super().doprint(expr)

    def _print(self, expr, **kwargs) -> str:  # type: ignore[override]
        if isinstance(expr, sympy.Expr) and expr.is_number and not expr.has(*_APPS):
            return number(expr)
        return super()._print(expr, **kwargs)

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return self.names[expr.name]

    def _print_Dummy(self, expr: sympy.Dummy) -> str:
        return self.dummies[expr]

    def _conv(self, op: sympy.Symbol) -> tuple[str, str, str]:
        """dims, the weight variable, and the padding (with groups, for depthwise)."""
        dims, var, padding, *groups = self.weights[op]
        if groups and int(groups[0]) > 1:
            padding = f"{padding}, groups={groups[0]}"
        return dims, var, padding

    def _print_SquaredT(self, expr: SquaredT) -> str:
        _, var, padding = self._conv(expr.op)
        return f"conv_adjoint({self._print(expr.operand)}, {var} ** 2, {padding})"

    def _print_StencilSquaredT(self, expr: StencilSquaredT) -> str:
        decl, buffer = self.stencils[expr.op]
        mode = PAD_MODES[decl.boundary]
        operand = self._print(expr.operand)
        return f"stencil_adjoint({operand}, {buffer} ** 2, {decl.pads!r}, {mode!r}, {expr.groups})"

    def _print_Conv(self, expr: Conv) -> str:
        dims, var, padding = self._conv(expr.op)
        return f"F.conv{dims}d({self._print(expr.operand)}, {var}, padding={padding})"

    def _print_ConvT(self, expr: ConvT) -> str:
        _, var, padding = self._conv(expr.op)
        return f"conv_adjoint({self._print(expr.operand)}, {var}, {padding})"

    def _print_Stencil(self, expr: Stencil) -> str:
        return self._stencil("stencil", expr)

    def _print_StencilT(self, expr: StencilT) -> str:
        return self._stencil("stencil_adjoint", expr)

    def _stencil(self, helper: str, expr: Stencil | StencilT) -> str:
        decl, buffer = self.stencils[expr.op]
        mode = PAD_MODES[decl.boundary]
        operand = self._print(expr.operand)
        call = f"{helper}({operand}, {buffer}, {decl.pads!r}, {mode!r}, {expr.groups}"
        data = decl.grid.data if decl.grid is not None else 0
        if data != 0 and helper == "stencil":  # dirichlet(b): ghost cells held at b
            return f"{call}, {number(data)})"
        return call + ")"

    def _print_SumSq(self, expr: SumSq) -> str:
        """|v|²: squares summed over the channels, kept as one channel."""
        return f"({self._print(expr.operand)}).pow(2).sum(dim=1, keepdim=True)"

    def _print_Norm(self, expr: Norm) -> str:
        return f"{self.names[expr.op]}({self._print(expr.operand)})"

    def _print_Act(self, expr: Act) -> str:
        return self.activation(self.functions[expr.op], self._print(expr.operand))

    def activation(self, fn: Function, operand: str) -> str:
        """A call of σ on already-printed operand code."""
        if fn.torch is None:
            return f"{self.methods[fn.name]}({operand})"
        if fn.torch == "":
            return operand
        extra = "".join(f", {number(a)}" for a in fn.torch_args)
        return f"{fn.torch}({operand}{extra})"

    def _print_Function(self, expr: sympy.Function) -> str:
        name = type(expr).__name__
        if name not in _TORCH_FUNCTIONS:
            raise NotImplementedError(f"no torch spelling for {name}")
        return f"{_TORCH_FUNCTIONS[name]}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        base, exp = expr.args
        if exp == sympy.Rational(1, 2):
            return f"torch.sqrt({self._print(base)})"
        if exp == -sympy.Rational(1, 2):
            return f"torch.rsqrt({self._print(base)})"
        if exp == -1:
            return f"1 / {self.parenthesize(base, precedence(expr), strict=True)}"
        return (
            f"{self.parenthesize(base, precedence(expr), strict=True)}"
            f"**{self.parenthesize(exp, precedence(expr), strict=True)}"
        )

    def _print_Max(self, expr: sympy.Max) -> str:
        return self._extremum(expr, "maximum", "min")

    def _print_Min(self, expr: sympy.Min) -> str:
        return self._extremum(expr, "minimum", "max")

    def _extremum(self, expr: sympy.Expr, binary: str, clamp: str) -> str:
        numbers = [a for a in expr.args if a.is_number]
        tensors = [a for a in expr.args if not a.is_number]
        code = self._print(tensors[0])
        for other in tensors[1:]:
            code = f"torch.{binary}({code}, {self._print(other)})"
        for value in numbers:
            code = f"torch.clamp({code}, {clamp}={number(value)})"
        return code

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        *pieces, (last, cond) = expr.args
        code = self._print(last) if cond is sympy.true else "float('nan')"
        for value, condition in reversed(pieces):
            code = f"torch.where({self._print(condition)}, {self._print(value)}, {code})"
        return code

    def _print_Relational(self, expr: sympy.core.relational.Relational) -> str:
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_And(self, expr: sympy.And) -> str:
        return " & ".join(self._print(a) for a in expr.args)

    def _print_Or(self, expr: sympy.Or) -> str:
        return " | ".join(self._print(a) for a in expr.args)


_APPS = (Conv, ConvT, Norm, Act, Stencil, StencilT, SquaredT)
