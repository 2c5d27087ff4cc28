"""The pipeline as functions: spec text -> IR -> report -> source -> module -> ONNX.

Each stage consumes the previous one's product. `check_*` stops after the analysis and
never imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pde2net import ir
from pde2net.analysis.analyze import analyze
from pde2net.analysis.report import Report
from pde2net.compiled import Compiled, build
from pde2net.compiled import build_module as build_module  # this module's API too
from pde2net.lang.errors import SpecError
from pde2net.lang.lower import lower
from pde2net.lang.parser import parse


@dataclass
class Checked:
    """A spec that parsed, lowered and was analysed."""

    path: str
    text: str
    network: ir.Network
    analysis: Report
    overrides: dict[str, str] | None = None  # the `--set` values, as text (embedded in models)

    @property
    def report(self) -> dict[str, Any]:
        return self.analysis.to_dict()


def read_spec(path: str | Path) -> str:
    """The spec's text; an unreadable file is a located error, not a traceback."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")  # -sig: drops a byte-order mark
    except FileNotFoundError:
        raise SpecError("no such file", ir.Loc(str(path), 1, 1)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", ir.Loc(str(path), 1, 1)) from None
    except UnicodeDecodeError as err:
        raise SpecError(
            f"not UTF-8 text ({err.reason} at byte {err.start})", ir.Loc(str(path), 1, 1)
        ) from None
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", ir.Loc(str(path), 1, 1)) from None


def preflight(network: ir.Network) -> None:
    """Refuse (SpecError) what `pde2net compile` cannot build and export: a number
    float32 cannot hold, a network past a compile budget in force. Nothing is built;
    torch is not imported."""
    from pde2net.lang import cost, float32, limits

    float32.check(network)
    cost.enforce(network, limits.current())


def check_text(
    text: str,
    file: str = "<spec>",
    overrides: Mapping[str, object] | None = None,
    budget: bool = False,
) -> Checked:
    """Parse, lower and analyse spec text. With `budget`, a network whose compile would
    exceed a budget in force (pde2net.lang.cost) is refused before the analysis, as
    compile and train want, as is a number the float32 network cannot hold
    (pde2net.lang.float32); `check` analyses both anyway."""
    network = lower(parse(text, file), file, overrides)
    if budget:
        preflight(network)
    given = {str(k): str(v).strip() for k, v in (overrides or {}).items()}
    return Checked(file, text, network, analyze(network), given)


def display_name(path: str | Path) -> str:
    """A spec path as error messages and generated files name it: bytes of the file name
    that are not UTF-8 (kept by Python as lone surrogates) shown as `\\xff` escapes."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_spec(
    path: str | Path, overrides: Mapping[str, object] | None = None, budget: bool = False
) -> Checked:
    return check_text(read_spec(path), display_name(path), overrides, budget)


def check_file(path: str | Path, set: Mapping[str, object] | None = None) -> dict[str, Any]:
    """The stability report as a dict."""
    return check_spec(path, set).report


def compile_checked(checked: Checked, reversible: bool = False) -> Compiled:
    """Plan and build a checked spec, after its numbers were found to fit float32
    (pde2net.lang.float32; a SpecError otherwise, before anything is built). Building
    the module is cheap at any depth; the compile budgets bound the ONNX export
    (pipeline.build_outputs, and the CLI's compile and train, check them)."""
    from pde2net.plan import make_plan

    return build(make_plan(checked, reversible=reversible), checked)


def compile_text(
    text: str,
    file: str = "<spec>",
    overrides: Mapping[str, object] | None = None,
    reversible: bool = False,
) -> Compiled:
    """Check, generate and build spec text (as `compile_file`)."""
    return compile_checked(check_text(text, file, overrides), reversible=reversible)


def compile_file(
    path: str | Path,
    set: Mapping[str, object] | None = None,
    reversible: bool = False,
) -> Compiled:
    """Check, generate and build: `.module`, `.report`, `.source`.

    `reversible=True` makes leapfrog and Verlet blocks backpropagate by reconstructing
    their states (memory independent of depth) instead of storing them.
    """
    return compile_checked(check_spec(path, set), reversible=reversible)
