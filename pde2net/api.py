"""The pipeline as functions: spec text -> IR -> report -> source -> module -> ONNX.

Each stage consumes the previous one's product. `check_*` stops after the analysis and
never imports torch.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pde2net import ir
from pde2net.analysis.analyze import analyze
from pde2net.analysis.report import Report
from pde2net.lang.errors import SpecError
from pde2net.lang.lower import lower
from pde2net.lang.parser import parse

if TYPE_CHECKING:
    import torch


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


@dataclass
class Compiled:
    """A compiled spec: the generated source and the module built from it."""

    checked: Checked
    source: str
    class_name: str
    module: torch.nn.Module
    weights: dict[int, dict[str, str]]  # block index -> weight -> module attribute
    reversible: bool = False
    # block index -> weight -> attribute of the NormBound modules enforcing its bound
    bounds: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def report(self) -> dict[str, Any]:
        return self.checked.report

    @property
    def network(self) -> ir.Network:
        return self.checked.network

    @property
    def name(self) -> str:
        return self.network.name


def build_module(source: str, class_name: str, seed: int = 0) -> torch.nn.Module:
    """Instantiate the generated class from its source (the one code path to a module).

    The source is pde2net's own output, whose identifiers were validated; spec text is
    never executed. Weights are initialised from `seed`, so compiles are reproducible.
    """
    import torch

    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    name = f"pde2net_generated_{class_name}_{digest}"
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name)
        module.__file__ = f"<pde2net generated {class_name}>"
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        sys.modules[name] = module
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return getattr(module, class_name)()


def compile_checked(checked: Checked, reversible: bool = False) -> Compiled:
    """Generate and build a checked spec, after its numbers were found to fit float32
    (pde2net.lang.float32; a SpecError otherwise, before anything is built). Building
    the module is cheap at any depth; the compile budgets bound the ONNX export
    (pipeline.build_outputs, and the CLI's compile and train, check them)."""
    from pde2net.codegen.generate import generate
    from pde2net.lang import float32

    float32.check(checked.network)

    generated = generate(checked.network, checked.analysis, reversible=reversible)
    module = build_module(generated.source, generated.class_name)
    from pde2net.measure import add_measurements

    add_measurements(checked.analysis, checked.network, module)
    return Compiled(
        checked,
        generated.source,
        generated.class_name,
        module,
        generated.weights,
        reversible,
        generated.bounds,
    )


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
