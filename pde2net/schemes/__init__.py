"""Time-stepping schemes: one module each, registered in one table.

Adding a scheme is adding a module to this package that defines a `Scheme` subclass
decorated with `@register` (schemes/base.py says what it declares); every module here
is imported when the package is, so nothing else needs an edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from pde2net.schemes.base import Scheme

REGISTRY: dict[str, type[Scheme]] = {}
S = TypeVar("S", bound=type[Scheme])


def register(cls: S) -> S:
    REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> Scheme:
    return REGISTRY[name]()


for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["REGISTRY", "Scheme", "get", "register"]
