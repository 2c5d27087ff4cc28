"""A scheme's update as data: statements over the block's states, its right-hand sides
and the scheme's own numbers. `codegen/emit.py` prints them; nothing here is Python
source, and every name a scheme introduces is a `Local` that the printer names afresh,
so no spec name can capture it.

Arithmetic keeps the order it is written in (`a + b * c` stays that tree), so the
generated code rounds exactly as the scheme says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy


def _operator(op: str, reflected: bool = False):
    """The method behind one of Python's operators: a `Bin` in the written order."""

    def method(self: Expr, other: Operand) -> Expr:
        return Bin(op, lift(other), self) if reflected else Bin(op, self, lift(other))

    return method


class Expr:
    """A value in the update: builds `Bin` trees with Python's operators."""

    __add__, __radd__ = _operator("+"), _operator("+", reflected=True)
    __sub__, __rsub__ = _operator("-"), _operator("-", reflected=True)
    __mul__, __rmul__ = _operator("*"), _operator("*", reflected=True)
    __truediv__, __pow__ = _operator("/"), _operator("**")
    __le__ = _operator("<=")  # type: ignore[assignment]


Operand = Expr | int | float


def lift(value: Operand) -> Expr:
    return value if isinstance(value, Expr) else Num(value)


@dataclass(frozen=True, eq=False)
class Local(Expr):
    """A variable the scheme introduces; `hint` is only a wish for its printed name.
    `symbol` stands for it inside SymPy expressions (`Math`)."""

    hint: str
    symbol: sympy.Dummy = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", sympy.Dummy(self.hint))


@dataclass(frozen=True)
class State(Expr):
    """A state of the pde, by its spec name."""

    name: str


@dataclass(frozen=True)
class Number(Expr):
    """One of the scheme's numbers (`Update.numbers`): an argument of the generated
    class, held as an attribute."""

    name: str


@dataclass(frozen=True)
class Buffer(Expr):
    """One of the scheme's constant tensors (`Update.buffers`)."""

    name: str


@dataclass(frozen=True)
class Num(Expr):
    value: int | float


@dataclass(frozen=True)
class Bin(Expr):
    op: str  # + - * / ** <=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Rhs(Expr):
    """The right-hand side of `state`'s equation with the weights of step `index`, at the
    states themselves or at `at` (one value per state)."""

    state: str
    index: Expr
    at: tuple[Expr, ...] | None = None


@dataclass(frozen=True)
class Math(Expr):
    """A SymPy expression over the spec's symbols and `Local.symbol`s, inside a `Piece`
    (whose last parameter picks the step's weights); printed by the torch printer."""

    expr: sympy.Expr


@dataclass(frozen=True)
class Call(Expr):
    """A call of a `Piece` of the update, a runtime solver or a torch function. `fn` is a
    Piece or one of the names in `CALLS`."""

    fn: Piece | str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Ref(Expr):
    """A `Piece` itself, as a value (a bound method passed to a solver)."""

    piece: Piece


@dataclass(frozen=True)
class Lambda(Expr):
    params: tuple[Local, ...]
    body: Expr


@dataclass(frozen=True)
class Pack(Expr):
    """A tuple of values."""

    values: tuple[Expr, ...]


@dataclass(frozen=True)
class Item(Expr):
    value: Expr
    index: int


@dataclass(frozen=True)
class Assign:
    """targets = values, all values computed before any target is bound."""

    targets: tuple[Local | State, ...]
    values: tuple[Expr, ...]


@dataclass(frozen=True)
class Loop:
    """`for var in over` (a `Number` holding a tuple), or `count` times when `over` is
    None; `index` counts the iterations where the body needs it."""

    body: tuple[Stmt, ...]
    count: Expr | None = None
    over: Expr | None = None
    var: Local | None = None
    index: Local | None = None
    reverse: bool = False


@dataclass(frozen=True)
class Return:
    value: Expr


Stmt = Assign | Loop | Return

# Functions a Call may name: runtime solvers (codegen/runtime.py) and torch functions.
CALLS = (
    "fixed_point",
    "jacobi",
    "conjugate_gradients",
    "multigrid_cycle",
    "repeat",
    "periodic_solve",
    "abs",
    "where",
    "ones_like",
    "full_like",
)


@dataclass(frozen=True, eq=False)
class Piece:
    """A helper method of the generated class: `hint` (a wish for its name), its
    parameters, a docstring, its body, and whether the last parameter is the step index
    (which picks the weights the body's `Math` uses)."""

    hint: str
    params: tuple[Local | State, ...]
    doc: str
    body: tuple[Stmt, ...]
    index: bool = True


@dataclass(frozen=True)
class Reversible:
    """A time-reversible step: the state it carries (the pde's states, then `extra`
    locals such as leapfrog's previous state, initialised by `start`), one step and its
    exact inverse, both in terms of the carried values and `index`."""

    extra: tuple[Local, ...]
    start: tuple[Assign, ...]
    step: tuple[Stmt, ...]
    unstep: tuple[Stmt, ...]
    index: Local
    doc: str
    undoc: str


@dataclass(frozen=True)
class Update:
    """What the generated block computes: `numbers` (the scheme's arguments the class
    takes, by name, in order), `pieces` (helper methods), `buffers` (constant tensors:
    name -> nested list, shape) and either `body` (the forward pass over the states) or
    `reversible` (a step and its inverse, looped by the emitter)."""

    numbers: dict[str, int | float | tuple[float, ...]]
    body: tuple[Stmt, ...] = ()
    reversible: Reversible | None = None
    pieces: tuple[Piece, ...] = ()
    buffers: dict[str, tuple[list, tuple[int, ...]]] = field(default_factory=dict)
    helpers: tuple[str, ...] = ()  # runtime helper groups the body calls
