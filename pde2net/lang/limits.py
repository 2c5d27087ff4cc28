"""Resource budgets: a spec that would need too much is refused before anything is built.

The lowering estimates, layer by layer and from the IR alone (nothing is allocated), the
trainable parameters, the activation memory of one sample (float32, batch 1, everything
a training step stores) and the number of right-hand-side evaluations per block. A
layer that takes any of them over its budget is a located error that states the
estimate. The budgets come from `use(...)` (the CLI's --max-* options), else from the
environment (PDE2NET_MAX_PARAMETERS, PDE2NET_MAX_ACTIVATION_BYTES, PDE2NET_MAX_STEPS,
and for compile's own cost, estimated in pde2net.lang.cost: PDE2NET_MAX_NODES,
PDE2NET_MAX_OPERATIONS, PDE2NET_MAX_COMPILE_MEMORY), else from the defaults below.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import sympy

from pde2net import ir
from pde2net.lang.errors import SpecError

FLOAT_BYTES = 4  # float32
ENVIRONMENT = "<environment>"  # the file name of errors in the PDE2NET_MAX_* variables


@dataclass(frozen=True)
class Limits:
    """The budgets one compile may use."""

    max_parameters: int = 10**8
    max_activation_bytes: int = 4 * 2**30
    max_steps: int = 100_000  # right-hand-side evaluations per block and forward pass
    # compile's own cost (pde2net.lang.cost): `compile` within about 60 s and 4 GB
    max_nodes: int = 30_000  # ONNX graph nodes, every step unrolled
    max_operations: int = 8 * 10**10  # weighted operations of one sample's forward pass
    max_compile_bytes: int = 4 * 2**30  # the compile process's memory

    def replace(self, **changes: int | None) -> Limits:
        given = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **given)


_OPTIONS = {
    "max_parameters": ("PDE2NET_MAX_PARAMETERS", "--max-parameters"),
    "max_activation_bytes": ("PDE2NET_MAX_ACTIVATION_BYTES", "--max-activation-bytes"),
    "max_steps": ("PDE2NET_MAX_STEPS", "--max-steps"),
    "max_nodes": ("PDE2NET_MAX_NODES", "--max-nodes"),
    "max_operations": ("PDE2NET_MAX_OPERATIONS", "--max-operations"),
    "max_compile_bytes": ("PDE2NET_MAX_COMPILE_MEMORY", "--max-compile-memory"),
}
_ACTIVE: ContextVar[Limits | None] = ContextVar("pde2net_limits", default=None)


def from_environment() -> Limits:
    """The defaults, overridden by the PDE2NET_MAX_* environment variables."""
    values: dict[str, int] = {}
    for field, (variable, _) in _OPTIONS.items():
        raw = os.environ.get(variable)
        if raw is None or not raw.strip():
            continue
        value = parse_size(raw)
        if value is None:
            text = f"{variable}={raw}"
            raise SpecError(
                f"{variable}: '{raw}' is not a positive whole number (e.g. 100000000 or 4GiB)",
                ir.Loc(ENVIRONMENT, 1, len(variable) + 2, len(text) + 1),
            )
        values[field] = value
    return Limits().replace(**values)


def current() -> Limits:
    """The budgets in force: those of the innermost `use(...)`, else the environment's."""
    active = _ACTIVE.get()
    return active if active is not None else from_environment()


@contextlib.contextmanager
def use(
    max_parameters: int | None = None,
    max_activation_bytes: int | None = None,
    max_steps: int | None = None,
    max_nodes: int | None = None,
    max_operations: int | None = None,
    max_compile_bytes: int | None = None,
) -> Iterator[Limits]:
    """Compile with these budgets (None keeps the one in force)."""
    limits = current().replace(
        max_parameters=max_parameters,
        max_activation_bytes=max_activation_bytes,
        max_steps=max_steps,
        max_nodes=max_nodes,
        max_operations=max_operations,
        max_compile_bytes=max_compile_bytes,
    )
    token = _ACTIVE.set(limits)
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)


_SIZE = re.compile(
    r"(?P<number>[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?)\s*(?P<unit>[kmgt]i?)?b?"
)
_UNITS = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_UNITS.update({u + "i": 2 ** (10 * (i + 1)) for i, u in enumerate("kmgt")})


def parse_size(text: str) -> int | None:
    """'100000000', '1e8', '100_000', '4GiB', '512M' as a positive int; None if not one."""
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None:
        return None
    scale = _UNITS[match["unit"]] if match["unit"] else 1
    number = float(match["number"].replace("_", ""))
    if not math.isfinite(number) or not 1 <= number * scale <= 2**62:
        return None
    return int(number * scale)


def show_bytes(n: int) -> str:
    """1536 -> '1.5 KiB', 4294967296 -> '4 GiB'."""
    if n >= 2**80:
        return f"{show_count(n)} bytes"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    return f"{n} bytes"


def show_count(n: int) -> str:
    """12,345 up to 10^15, then 1.23e+20 (and 1e+612 past float range)."""
    if n < 10**15:
        return f"{n:,}"
    return f"{n:.3g}" if n < 10**300 else f"1e+{len(str(n)) - 1}"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


# ---------------------------------------------------------------------------------------
# Estimates


def repeats(block: ir.Block) -> tuple[int, str]:
    """How often one forward pass evaluates the block's right-hand side, and how that
    count comes about (from the scheme's count arguments: steps, cycles, ...)."""
    from pde2net.schemes import REGISTRY

    scheme = REGISTRY.get(block.scheme.name)
    kinds = {a.name: a.kind for a in scheme.arguments} if scheme is not None else {}
    counts = {
        k: int(v)
        for k, v in block.scheme.args.items()
        if kinds.get(k) in ("posint", "count") and isinstance(v, int) and not isinstance(v, bool)
    }
    summed = getattr(scheme, "summed_counts", ())
    additive = [k for k in summed if k in counts]
    total, names, values = 1, [], []
    for name, value in counts.items():
        if name not in additive:
            total *= max(value, 1)
            names.append(name)
            values.append(show_count(value))
    if additive:
        total *= max(sum(counts[k] for k in additive), 1)
        names.append("(" + " + ".join(additive) + ")")
        values.append("(" + " + ".join(show_count(counts[k]) for k in additive) + ")")
    if not names:
        return total, "one step"
    return total, f"{' × '.join(names)} = {' × '.join(values)}"


def block_tensors(block: ir.Block) -> tuple[int, int]:
    """Per evaluation: how many intermediate tensors the right-hand sides make, and the
    widest one's channel count."""
    pde = block.pde
    count = 1  # the state after the step
    widest = max(block.shape[0], 1)
    for eq in pde.equations:
        for node in sympy.preorder_traversal(eq.rhs):
            if isinstance(node, ir.APPLICATIONS) or (
                isinstance(node, sympy.Add | sympy.Mul | sympy.Pow) and node.free_symbols
            ):
                count += 1
    for weight in pde.weights.values():
        widest = max(widest, weight.c_in, weight.c_out)
    for decl in pde.stencils.values():
        widest = max(widest, block.shape[0] * decl.components)
    return count, widest


def raise_budget(message: str, loc: ir.Loc, option: str) -> SpecError:
    """The error for a budget exceeded, with how to raise it."""
    variable, flag = _OPTIONS[option]
    note = f"the budget can be raised with {flag} or the environment variable {variable}"
    return SpecError(message, loc, [note])


class Budget:
    """Running totals over the layers of a network, checked as each layer is added."""

    def __init__(self, limits: Limits, file: str) -> None:
        self.limits = limits
        self.file = file
        self.parameters = 0
        self.activation_bytes = 0

    def _raise(self, message: str, loc: ir.Loc, option: str) -> None:
        raise raise_budget(message, loc, option)

    def input(self, spec: ir.InputSpec) -> None:
        self.activations(math.prod(spec.shape) * FLOAT_BYTES, "the input", spec.loc)

    def activations(self, nbytes: int, what: str, loc: ir.Loc) -> None:
        self.activation_bytes += nbytes
        limit = self.limits.max_activation_bytes
        if self.activation_bytes > limit:
            shown = show_bytes(self.activation_bytes)
            total = "" if shown == show_bytes(nbytes) else f"; with the layers before it, {shown}"
            self._raise(
                f"{what} would need about {show_bytes(nbytes)} of activation memory for "
                f"one sample (float32, batch 1){total}: over the budget of "
                f"{show_bytes(limit)}",
                loc,
                "max_activation_bytes",
            )

    def params(self, count: int, what: str, loc: ir.Loc) -> None:
        self.parameters += count
        limit = self.limits.max_parameters
        if self.parameters > limit:
            shown = show_count(self.parameters)
            total = "" if shown == show_count(count) else f"; with the layers before it, {shown}"
            self._raise(
                f"{what} would have {show_count(count)} trainable parameters{total}: over "
                f"the budget of {show_count(limit)}",
                loc,
                "max_parameters",
            )

    def steps(self, block: ir.Block, what: str) -> None:
        """Before the scheme validates the block: its evaluation count."""
        total, how = repeats(block)
        if total > self.limits.max_steps:
            self._raise(
                f"{what} would evaluate its right-hand side {show_count(total)} times per "
                f"forward pass ({how}): over the budget of {show_count(self.limits.max_steps)}",
                block.scheme.loc,
                "max_steps",
            )

    def layer(self, layer: ir.Layer, before: tuple[int, ...], after: tuple[int, ...]) -> None:
        """Add one lowered layer: its parameters and the activations it stores."""
        what = _describe(layer, before)
        self.params(layer.parameters, what, layer.loc)
        if isinstance(layer, ir.Block):
            count, widest = block_tensors(layer)
            total, how = repeats(layer)
            spatial = math.prod(before[1:])
            per_eval = count * widest * spatial * FLOAT_BYTES
            self.activations(
                per_eval * total,
                f"{what} ({count} tensors of up to {widest}x{_shape(before[1:])} floats per "
                f"evaluation, {show_count(total)} evaluations: {how})",
                layer.loc,
            )
        elif not isinstance(layer, ir.IdentityLayer):
            self.activations(math.prod(after) * FLOAT_BYTES, what, layer.loc)


def _describe(layer: ir.Layer, before: tuple[int, ...]) -> str:
    if isinstance(layer, ir.ConvLayer):
        return f"conv({'x'.join(map(str, layer.kernel))}, {layer.c_in} -> {layer.c_out})"
    if isinstance(layer, ir.LinearLayer):
        return f"linear({layer.c_in} -> {layer.c_out})"
    if isinstance(layer, ir.Block):
        return f"block {layer.pde.signature} by {layer.scheme.text}"
    if isinstance(layer, ir.ActivationLayer):
        return f"activation '{layer.function.name}' on {_shape(before)}"
    name = type(layer).__name__.removesuffix("Layer").lower()
    return f"{name} on {_shape(before)}"
