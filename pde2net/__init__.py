"""pde2net: compile PDE specifications into stable PyTorch networks and verified ONNX models.

`check_file` parses and analyses a spec without importing torch; `compile_file` also
generates the PyTorch module and builds it from the generated source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pde2net.api import Checked, Compiled


def check_file(path: str, set: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stability report of the spec at `path` (a dict, as `pde2net check --json`)."""
    from pde2net.api import check_file as check

    return check(path, set=set)


def compile_file(
    path: str,
    set: dict[str, Any] | None = None,
    reversible: bool = False,
) -> Compiled:
    """Compile the spec at `path`: `.module` (torch), `.report` (dict), `.source` (code).

    `reversible=True`: leapfrog and Verlet blocks train without storing their states.
    """
    from pde2net.api import compile_file as compile_

    return compile_(path, set=set, reversible=reversible)


def check_text(text: str, file: str = "<spec>", set: dict[str, Any] | None = None) -> Checked:
    """Parse, lower and analyse spec text: `.report` (dict), `.analysis` (typed)."""
    from pde2net.api import check_text as check

    return check(text, file, set)


def compile_text(
    text: str, file: str = "<spec>", set: dict[str, Any] | None = None, reversible: bool = False
) -> Compiled:
    """Compile spec text, as `compile_file`."""
    from pde2net.api import compile_text as compile_

    return compile_(text, file, set, reversible=reversible)


__all__ = ["__version__", "check_file", "check_text", "compile_file", "compile_text"]
