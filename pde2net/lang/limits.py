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

from pde2net.lang.errors import SpecError
from pde2net.loc import Loc

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


OPTIONS = {
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
    for field, (variable, _) in OPTIONS.items():
        raw = os.environ.get(variable)
        if raw is None or not raw.strip():
            continue
        value = parse_size(raw)
        if value is None:
            text = f"{variable}={raw}"
            raise SpecError(
                f"{variable}: '{raw}' is not a positive whole number (e.g. 100000000 or 4GiB)",
                Loc(ENVIRONMENT, 1, len(variable) + 2, len(text) + 1),
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
