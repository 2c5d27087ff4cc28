"""A plan built: its generated source instantiated as a torch module, with the
measurements only a run of that module can make. Imports no SymPy (pde2net/plan.py)."""

from __future__ import annotations

import hashlib
import sys
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pde2net.plan import Plan

if TYPE_CHECKING:
    import torch

    from pde2net import ir
    from pde2net.api import Checked


@dataclass
class Compiled:
    """A compiled spec: its plan (source and facts) and the module built from it; and the
    checked spec it was planned from, where this process has it (compile's parent builds
    from the plan its child sent, without the IR)."""

    plan: Plan
    module: torch.nn.Module
    checked: Checked | None = None

    @property
    def source(self) -> str:
        return self.plan.source

    @property
    def class_name(self) -> str:
        return self.plan.class_name

    @property
    def weights(self) -> dict[int, dict[str, str]]:
        """Block index -> weight -> module attribute."""
        return self.plan.weights

    @property
    def bounds(self) -> dict[int, dict[str, str]]:
        """Block index -> weight -> attribute of the NormBound modules enforcing its bound."""
        return self.plan.bounds

    @property
    def reversible(self) -> bool:
        return self.plan.reversible

    @property
    def report(self) -> dict[str, Any]:
        return self.plan.report

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def network(self) -> ir.Network:
        """The IR, where this process checked the spec itself."""
        if self.checked is None:
            raise AttributeError("built from a plan alone: the IR stayed where it was checked")
        return self.checked.network


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


def build(plan: Plan, checked: Checked | None = None) -> Compiled:
    """The module of `plan` (seed 0), with its multigrid cycles' contraction measured
    into the plan's report (measure.py)."""
    from pde2net.measure import add_measurements

    module = build_module(plan.source, plan.class_name)
    add_measurements(plan, module)
    return Compiled(plan, module, checked)
