"""IR to stability report: each block's scheme derives its own conditions."""

from __future__ import annotations

from pde2net import ir
from pde2net.analysis.boundary import with_boundary_data
from pde2net.analysis.report import BlockReport, Report
from pde2net.schemes import get


def analyze(network: ir.Network) -> Report:
    """The stability report of a lowered network, with each block's update as data.

    The update is derived here, beside the checks, because building it can need SymPy
    (a flux's slope at 0, the frozen operator of an implicit step); the code generator
    only prints it."""
    blocks = []
    derived: dict[tuple, tuple] = {}  # one derivation per distinct block (2,000 equal ones)
    for block in network.blocks:
        scheme = get(block.scheme.name)
        key = (block.pde.signature, block.scheme.text, tuple(block.shape), block.steps)
        if key not in derived:
            checks = with_boundary_data(block.pde, scheme.checks(block))
            derived[key] = (checks, scheme.update(block))
        checks, update = derived[key]
        blocks.append(
            BlockReport(
                name=block.label,
                pde=block.pde.signature,
                scheme=block.scheme.text,
                equations=[
                    f"{ir.derivative(eq.order)}({eq.state}) = {eq.text}"
                    for eq in block.pde.equations
                ],
                parameters=block.parameters,
                reversible=scheme.reversible,
                checks=list(checks),
                index=block.index,
                update=update,
            )
        )
    return Report(
        network=network.name,
        spec=network.source_file,
        parameters=network.parameters,
        input_shape=list(network.input.shape),
        output_shape=list(network.output_shape),
        constants=network.constants,
        blocks=blocks,
    )
