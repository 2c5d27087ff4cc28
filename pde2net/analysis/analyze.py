"""IR to stability report: each block's scheme derives its own conditions."""

from __future__ import annotations

from pde2net import ir
from pde2net.analysis.report import BlockReport, Report
from pde2net.schemes import get


def analyze(network: ir.Network) -> Report:
    """The stability report of a lowered network."""
    blocks = []
    for block in network.blocks:
        scheme = get(block.scheme.name)
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
                checks=scheme.checks(block),
                index=block.index,
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
