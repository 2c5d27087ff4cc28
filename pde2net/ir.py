"""The intermediate representation: the contract between the front end and later stages.

Every value here is plain data (dataclasses, ints, SymPy expressions). Nothing imports
torch, so parsing and analysis stay fast. Right-hand sides of PDEs are SymPy expressions
in which operator applications are the unevaluated functions below; scalars stay SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import sympy

from pde2net.loc import Loc

# ---------------------------------------------------------------------------------------
# Operator applications inside SymPy expressions.
#
# Each holds the operator's name as a Symbol and the operand; they never evaluate, so the
# tree that the analysis inspects is exactly the one the generator prints.


class _Application(sympy.Function):
    nargs = 2

    @property
    def op(self) -> str:
        return str(self.args[0])

    @property
    def operand(self) -> sympy.Expr:
        return self.args[1]


class Conv(_Application):
    """K u: a learned convolution applied to a field."""


class ConvT(_Application):
    """K' u: the adjoint (transposed convolution with the same weight)."""


class Norm(_Application):
    """N u: a normalization layer."""


class Act(_Application):
    """σ(u): a pointwise activation or flux, builtin or user-defined."""


class Stencil(_Application):
    """S u: a fixed difference stencil (dx, lap, a user stencil) with its boundary rule.

    The third argument is the number of channels it acts on, each independently.
    """

    nargs = 3

    @property
    def groups(self) -> int:
        return int(self.args[2])


class StencilT(Stencil):
    """S' u: the exact adjoint of the stencil, boundary included."""


class SquaredT(_Application):
    """(K∘K)' g: the adjoint of the convolution with K's entries squared, the diagonal of
    K' diag(g) K (a Jacobi smoother's divisor)."""


class StencilSquaredT(Stencil):
    """(S∘S)' g: the same for a fixed stencil."""


class SumSq(sympy.Function):
    """|v|²: the sum of squares over the channels of a field, one channel per pixel (so
    |grad u|² = u_x² + u_y²); `|v|` is its square root. A vector flux g(|grad u|²) grad u
    multiplies this one channel into every channel of grad u."""

    nargs = 1
    is_real = True
    is_nonnegative = True

    @property
    def operand(self) -> sympy.Expr:
        return self.args[0]


APPLICATIONS: tuple[type[_Application], ...] = (Conv, ConvT, Norm, Act, Stencil, StencilT)


# ---------------------------------------------------------------------------------------
# Pointwise functions


@dataclass
class Function:
    """A pointwise nonlinearity σ(x) = expr.

    `expr` is the definition the analysis differentiates; `torch` is the name of a fused
    builtin kernel (or None, when the generator prints `expr` itself).
    """

    name: str
    var: sympy.Symbol
    expr: sympy.Expr
    torch: str | None = None
    torch_args: tuple[float, ...] = ()
    loc: Loc | None = None
    flux: bool = False  # declared with `flux`: judged by Φ(s)/s, not by monotonicity

    @property
    def builtin(self) -> bool:
        return self.torch is not None


# ---------------------------------------------------------------------------------------
# Declarations inside a pde


@dataclass
class State:
    name: str
    channels: int
    loc: Loc


@dataclass
class Weight:
    """A learned convolution: c_in -> c_out with an odd kernel; dims = len(kernel).
    `depthwise`: c -> c, one kernel per channel (groups = c, weight shape (c, 1, *kernel))."""

    name: str
    kernel: tuple[int, ...]
    c_in: int
    c_out: int
    bias: bool
    loc: Loc
    depthwise: bool = False

    @property
    def dims(self) -> int:
        return len(self.kernel)

    @property
    def groups(self) -> int:
        return self.c_in if self.depthwise else 1

    @property
    def parameters(self) -> int:
        n = self.c_in // self.groups * self.c_out
        for k in self.kernel:
            n *= k
        return n + (self.c_out if self.bias else 0)


NormKind = Literal["tvnorm", "batchnorm", "instancenorm"]


@dataclass
class NormDecl:
    name: str
    kind: NormKind
    channels: int
    eps: float
    affine: bool
    loc: Loc

    @property
    def parameters(self) -> int:
        return 2 * self.channels if self.affine else 0


@dataclass
class Param:
    """A parameter of the model; learned ones become nn.Parameters. `channels` is None
    for a scalar, else the count of a per-channel parameter (`param kappa[c]`): one value
    per channel of the state it scales, broadcast over space."""

    name: str
    value: float
    learn: bool
    positive: bool
    loc: Loc
    channels: int | None = None

    @property
    def size(self) -> int:
        """How many numbers the parameter holds: 1, or one per channel."""
        return 1 if self.channels is None else self.channels


def derivative(order: int) -> str:
    """How a spec writes the time derivative of this order: dt or dtt."""
    return "dtt" if order == 2 else "dt"


@dataclass
class Equation:
    order: int  # 1 for dt(u), 2 for dtt(u)
    state: str
    rhs: sympy.Expr
    loc: Loc
    text: str  # the right-hand side as written, for reports and docstrings


Boundary = Literal["neumann", "periodic", "zero", "dirichlet"]
# How each boundary pads the grid (torch.nn.functional.pad modes): Neumann is the
# half-sample reflection, so a ghost cell copies its neighbour (zero flux); zero and
# dirichlet(b) hold the ghost cells at a constant (0, b). An adjoint stencil is the
# transpose of the stencil's linear part, so its ghost cells are zero under both.
PAD_MODES: dict[str, str] = {
    "neumann": "replicate",
    "periodic": "circular",
    "zero": "constant",
    "dirichlet": "constant",
}


@dataclass
class Grid:
    """The pde's grid: the spacing's name, its value, and the boundary rule; `data` is the
    value dirichlet(b) holds outside the domain (b ≠ 0: `dirichlet(0)` is `zero`)."""

    name: str
    value: sympy.Expr
    boundary: Boundary
    loc: Loc
    data: sympy.Expr = sympy.S.Zero

    @property
    def symbol(self) -> sympy.Symbol:
        return sympy.Symbol(self.name, positive=True)


@dataclass
class StencilDecl:
    """A fixed linear operator on the grid, one kernel per output component.

    `kernels` hold SymPy weights in the grid spacing's symbol (so bounds come out in
    closed form in h); `origin` is the kernel index that lands on the output point.
    A stencil with m components maps c channels to c·m (grad has one per direction).
    """

    name: str
    kernels: tuple[sympy.Array, ...]
    origin: tuple[int, ...]
    grid: Grid | None
    loc: Loc

    @property
    def dims(self) -> int:
        return self.kernels[0].rank()

    @property
    def components(self) -> int:
        return len(self.kernels)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.kernels[0].shape)

    @property
    def pads(self) -> tuple[int, ...]:
        """F.pad's pads (last dimension first) so that the output keeps the grid size."""
        pads: list[int] = []
        for size, origin in reversed(list(zip(self.shape, self.origin, strict=True))):
            pads += [origin, size - 1 - origin]
        return tuple(pads)

    @property
    def boundary(self) -> Boundary:
        return self.grid.boundary if self.grid else "zero"

    def numeric(self) -> list[list[float]]:
        """The kernels with the spacing plugged in, flattened per component."""
        subs = {self.grid.symbol: self.grid.value} if self.grid else {}
        return [[float(w.subs(subs)) for w in k.reshape(len(k))] for k in self.kernels]


@dataclass
class PDE:
    """A pde definition instantiated with concrete arguments."""

    name: str
    args: dict[str, sympy.Expr]
    states: dict[str, State]
    weights: dict[str, Weight]
    norms: dict[str, NormDecl]
    params: dict[str, Param]
    functions: dict[str, Function]
    equations: list[Equation]
    dims: int
    loc: Loc
    stencils: dict[str, StencilDecl] = field(default_factory=dict)
    grid: Grid | None = None

    @property
    def signature(self) -> str:
        inner = ", ".join(f"{k} = {v}" for k, v in self.args.items())
        return f"{self.name}({inner})" if inner else self.name


# ---------------------------------------------------------------------------------------
# Network layers


@dataclass
class ConvLayer:
    kernel: tuple[int, ...]
    c_in: int
    c_out: int
    bias: bool
    stride: int
    loc: Loc

    @property
    def parameters(self) -> int:
        return Weight("", self.kernel, self.c_in, self.c_out, self.bias, self.loc).parameters


@dataclass
class BatchNormLayer:
    channels: int
    dims: int
    loc: Loc

    @property
    def parameters(self) -> int:
        return 2 * self.channels


class Parameterless:
    """A layer without trainable weights: it adds nothing to the parameter count."""

    @property
    def parameters(self) -> int:
        return 0


@dataclass
class ActivationLayer(Parameterless):
    function: Function
    loc: Loc


@dataclass
class Pooling(Parameterless):
    """What local and global pooling share: average or maximum."""

    kind: Literal["avg", "max"]


@dataclass
class PoolLayer(Pooling):
    size: int
    dims: int
    loc: Loc


@dataclass
class GlobalPoolLayer(Pooling):
    dims: int
    loc: Loc


@dataclass
class FlattenLayer(Parameterless):
    loc: Loc


@dataclass
class LinearLayer:
    c_in: int
    c_out: int
    bias: bool
    loc: Loc

    @property
    def parameters(self) -> int:
        return self.c_in * self.c_out + (self.c_out if self.bias else 0)


@dataclass
class IdentityLayer(Parameterless):
    loc: Loc


@dataclass
class SchemeCall:
    """`by euler(h = 1, steps = 3)`: the scheme's name and its checked arguments."""

    name: str
    args: dict[str, object]
    loc: Loc
    given: tuple[str, ...] = ()  # the arguments the spec wrote (the rest are defaults)
    exact: dict[str, sympy.Expr] = field(default_factory=dict)  # numeric args, exact
    locs: dict[str, Loc] = field(default_factory=dict)  # where each written argument is

    def number(self, name: str) -> sympy.Expr:
        """A numeric argument as an exact SymPy number: spec numbers and `--set` values
        are exact decimals (0.0625000001 stays that, never rounded to 1/16), and
        comparisons with derived bounds are decided in exact arithmetic."""
        value = self.exact.get(name, self.args[name])
        if isinstance(value, sympy.Basic):
            return value
        if isinstance(value, bool | int):
            return sympy.Integer(int(value))
        return sympy.Rational(repr(float(value)))  # the shortest decimal of the float

    @property
    def text(self) -> str:
        inner = ", ".join(f"{k} = {_fmt(self.args[k])}" for k in self.args if k in self.given)
        return f"{self.name}({inner})"


@dataclass
class Block:
    """A pde advanced in time by a scheme: one residual unit of the network."""

    pde: PDE
    scheme: SchemeCall
    shape: tuple[int, ...]  # (channels, *spatial) entering the block
    loc: Loc
    index: int = 0

    @property
    def steps(self) -> int:
        return int(self.scheme.args.get("steps", 1))

    @property
    def shared(self) -> bool:
        return bool(self.scheme.args.get("shared", False))

    @property
    def copies(self) -> int:
        """How many sets of weights the block holds (one per step unless shared)."""
        return 1 if self.shared else self.steps

    @property
    def label(self) -> str:
        return f"block{self.index}: {self.pde.signature}"

    @property
    def parameters(self) -> int:
        per_step = sum(w.parameters for w in self.pde.weights.values())
        per_step += sum(n.parameters for n in self.pde.norms.values())
        learned = sum(p.size for p in self.pde.params.values() if p.learn)
        return per_step * self.copies + learned


Layer = (
    ConvLayer
    | BatchNormLayer
    | ActivationLayer
    | PoolLayer
    | GlobalPoolLayer
    | FlattenLayer
    | LinearLayer
    | IdentityLayer
    | Block
)


@dataclass
class InputSpec:
    kind: Literal["signal", "image", "volume", "vector"]
    shape: tuple[int, ...]  # (channels, *spatial)
    loc: Loc
    # `input image(1, 64, 64) in [0, 1]`: the data's range, exact (None: standard normal)
    range: tuple[sympy.Expr, sympy.Expr] | None = None

    @property
    def range_text(self) -> str:
        if self.range is None:
            return "standard-normal inputs"
        low, high = (f"{float(v):g}" for v in self.range)
        return f"inputs drawn uniformly from [{low}, {high}]"

    @property
    def dims(self) -> int:
        return len(self.shape) - 1


@dataclass
class Network:
    name: str
    input: InputSpec
    layers: list[Layer]
    output_shape: tuple[int, ...]
    loc: Loc
    constants: dict[str, float] = field(default_factory=dict)
    source_file: str = ""

    @property
    def blocks(self) -> list[Block]:
        return [layer for layer in self.layers if isinstance(layer, Block)]

    @property
    def parameters(self) -> int:
        """Trainable parameters, counted from the IR alone."""
        return sum(layer.parameters for layer in self.layers)

    @property
    def spatial_dynamic(self) -> bool:
        """Whether the model accepts other spatial sizes than the declared one."""
        return not any(isinstance(layer, FlattenLayer) for layer in self.layers)


def _fmt(value: object) -> str:
    if isinstance(value, tuple):  # a list argument, e.g. a Butcher tableau
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
