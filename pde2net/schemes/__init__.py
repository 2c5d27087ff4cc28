"""Time-stepping schemes: one module each, registered in one table.

Adding a scheme is adding a module that defines a `Scheme` subclass decorated with
`@register` and importing it below.
"""

from __future__ import annotations

from typing import TypeVar

from pde2net.schemes.base import Scheme

REGISTRY: dict[str, type[Scheme]] = {}
S = TypeVar("S", bound=type[Scheme])


def register(cls: S) -> S:
    REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> Scheme:
    return REGISTRY[name]()


from pde2net.schemes import (  # noqa: E402,F401  (register themselves)
    euler,
    fed,
    fsi,
    implicit,
    leapfrog,
    multigrid,
    verlet,
)

__all__ = ["REGISTRY", "Scheme", "get", "register"]
