"""Fresh names for generated Python: every identifier in a generated module comes from a
`Namer`, so no spec name can capture or shadow one the generated code relies on.

A namer starts from the names its scope already has (Python's keywords and builtins,
the module's imports and runtime helpers, nn.Module's attributes) and hands out each
wish unchanged if it is free, else with underscores appended until it is. Spec names ask
first; every name the generator introduces (a scheme's locals, helper methods, derived
attributes such as K_bias) asks after them, so it never meets one.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections.abc import Iterable

_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
KEYWORDS = frozenset(keyword.kwlist + keyword.softkwlist)
PYTHON = KEYWORDS | frozenset([*dir(builtins), "self"])
IMPORTS = frozenset({"annotations", "math", "torch", "F", "nn", "INPUT_SHAPE"})


def defined_names(source: str) -> set[str]:
    """The names a piece of module source defines at its top level."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def module_attributes() -> frozenset[str]:
    """Every attribute an nn.Module has before the generated class adds its own."""
    from torch import nn

    return frozenset(dir(nn.Module) + list(vars(nn.Module())))


class Namer:
    """One scope's names: `name(wish)` returns a free identifier close to `wish`."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken)

    def name(self, wish: str) -> str:
        if not _IDENT.fullmatch(wish) or not wish.isascii():
            raise ValueError(f"not an identifier: {wish!r}")  # the grammar never lets one through
        candidate = wish + "_" if wish.startswith("__") else wish
        while candidate in self.taken:
            candidate += "_"
        self.taken.add(candidate)
        return candidate

    def child(self) -> Namer:
        """A scope inside this one (it sees every name taken here so far)."""
        return Namer(self.taken)


def class_name(name: str) -> str:
    """parabolic_cifar10 -> ParabolicCifar10 (a wish for a Namer)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Network"
