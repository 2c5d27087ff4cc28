"""What building, exporting and verifying a network needs from its checked spec, as
plain data: the generated source and a few facts of the IR and the report.

A plan holds no SymPy object, and importing this module imports neither SymPy nor
torch. `pde2net compile` makes the plan in the child that checks the spec while the
parent imports torch (overlap.py), so the process that builds, exports and verifies
never imports SymPy, which would cost it a third of a second after torch's import.
Everything after the plan (compiled.py, measure.py, export/) reads the plan, not the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pde2net.loc import Loc

if TYPE_CHECKING:
    from pde2net import ir
    from pde2net.api import Checked
    from pde2net.schemes import update as up

# export/compose.py: a block of at least COMPOSE_MIN equal steps is traced for one step
# and copied; a solver of at least LOOP_MIN iterations becomes an ONNX Loop, fewer are
# copies of one traced iteration (a Loop costs onnxruntime about 2 µs an iteration and
# more a call: 1.28x the unrolled time for 16 Jacobi iterations on 256 points, 1.11x
# for 32, docs/design.md; it pays where the unrolled graph grows large)
COMPOSE_MIN = 4
LOOP_MIN = 32


@dataclass(frozen=True)
class InputPlan:
    """The network's input: (channels, *spatial) and the data's range."""

    shape: tuple[int, ...]
    range: tuple[float, float] | None  # `input … in [low, high]`; None: standard normal
    range_text: str  # as messages say it
    loc: Loc

    @property
    def dims(self) -> int:
        return len(self.shape) - 1


@dataclass(frozen=True)
class BlockPlan:
    """One block: where it is, what it holds, and how the export treats its steps."""

    index: int
    label: str  # "block1: heat(u)", as messages name it
    scheme: str  # the scheme call as written, "euler(tau = 0.1, steps = 10)"
    loc: Loc
    steps: int
    copies: int  # sets of weights: one per step unless shared
    shape: tuple[int, ...]  # (channels, *spatial) entering the block
    kernels: dict[str, tuple[int, ...]]  # each learned weight's kernel size
    composed: bool  # its steps are one traced step, composed (export/compose.py)
    reversible: bool  # its step is reversible (leapfrog, Verlet): `step` and `unstep`
    cycle: str | None = None  # a multigrid block's cycle, "V" or "W" (measure.py)


@dataclass
class Plan:
    """A checked spec, ready to build: source, facts, and the report as a dict."""

    name: str
    path: str  # the spec's file name, as errors show it
    text: str  # the spec's source (embedded in the ONNX model for certify)
    overrides: dict[str, str]  # the `--set` values, as text
    reversible: bool  # reversible blocks backpropagate by reconstruction
    source: str
    class_name: str
    weights: dict[int, dict[str, str]]  # block index -> weight -> module attribute
    bounds: dict[int, dict[str, str]]  # block index -> weight -> its NormBound modules
    input: InputPlan
    output_shape: tuple[int, ...]
    spatial_dynamic: bool  # other spatial sizes than the declared one are accepted
    verification_shapes: list[tuple[int, ...]]  # spatial sizes verify runs at
    blocks: list[BlockPlan] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


def make_plan(checked: Checked, reversible: bool = False) -> Plan:
    """Generate the code of a checked spec and gather what the build needs. The numbers
    must fit float32 first (pde2net.lang.float32: a SpecError otherwise)."""
    from pde2net.codegen.generate import generate
    from pde2net.lang import float32

    network, analysis = checked.network, checked.analysis
    float32.check(network)
    generated = generate(network, analysis, reversible=reversible)
    blocks = []
    for block in network.blocks:
        update = analysis.block(block.index).update
        blocks.append(
            BlockPlan(
                index=block.index,
                label=block.label,
                scheme=block.scheme.text,
                loc=block.loc,
                steps=block.steps,
                copies=block.copies,
                shape=tuple(block.shape),
                kernels={n: tuple(w.kernel) for n, w in block.pde.weights.items()},
                composed=composable(block, update),
                reversible=update is not None and update.reversible is not None,
                cycle=(
                    str(block.scheme.args["cycle"]) if block.scheme.name == "multigrid" else None
                ),
            )
        )
    given = network.input.range
    return Plan(
        name=network.name,
        path=checked.path,
        text=checked.text,
        overrides=dict(checked.overrides or {}),
        reversible=reversible,
        source=generated.source,
        class_name=generated.class_name,
        weights=generated.weights,
        bounds=generated.bounds,
        input=InputPlan(
            shape=tuple(network.input.shape),
            range=None if given is None else (float(given[0]), float(given[1])),
            range_text=network.input.range_text,
            loc=network.input.loc,
        ),
        output_shape=tuple(network.output_shape),
        spatial_dynamic=network.spatial_dynamic,
        verification_shapes=verification_shapes(network),
        blocks=blocks,
        report=checked.report,
    )


def composable(block: ir.Block, update: up.Update | None) -> bool:
    """Whether every step of the block computes the same function of its input: the
    update is one loop of `steps` over the states (or a reversible step the generated
    class loops `steps` times over the states it carries), and no step has weights of
    its own. Those blocks' steps are traced once and composed (export/compose.py)."""
    from pde2net.schemes import update as up

    if update is None or block.steps < COMPOSE_MIN:
        return False
    if any(isinstance(v, tuple) for v in update.numbers.values()):
        return False  # per-step numbers (a FED cycle's step sizes)
    if not block.shared and (block.pde.weights or block.pde.norms):
        return False  # each step its own weights
    if update.reversible is not None:
        return True
    (loop,) = update.body if len(update.body) == 1 else (None,)
    return (
        isinstance(loop, up.Loop)
        and loop.over is None
        and loop.count == up.Number("steps")
        and not loop.reverse
    )


def verification_shapes(network: ir.Network) -> list[tuple[int, ...]]:
    """Spatial sizes `verify` runs at: the declared one and, for dynamic layouts, a
    second that every pooling, stride and coarsening of the network divides."""
    from pde2net import ir
    from pde2net.schemes import get

    declared = tuple(network.input.shape[1:])
    if not network.spatial_dynamic or not declared:
        return [declared]
    factor = 1
    for layer in network.layers:
        if isinstance(layer, ir.PoolLayer):
            factor *= layer.size
        elif isinstance(layer, ir.ConvLayer):
            factor *= layer.stride
        elif isinstance(layer, ir.Block):
            factor *= get(layer.scheme.name).size_factor(layer)
    other = tuple(max(factor, (s // 2) // factor * factor) for s in declared)
    if other == declared:
        other = tuple(s + factor for s in declared)
    return [declared, other]
