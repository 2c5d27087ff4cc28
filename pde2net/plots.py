"""Pictures of the analysis: the von Neumann amplification factor over frequency."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pde2net import ir
from pde2net.analysis.vonneumann import amplification, linear_symbol
from pde2net.schemes.conditions import von_neumann


def plot_amplification(network: ir.Network, path: str | Path) -> int:
    """Draw |g(θ)| for each stencil block at the chosen step and at the derived bound.

    2D symbols are drawn along the diagonal θ₁ = θ₂ = θ, where the 5-point Laplacian has
    its extreme mode. Returns the number of panels drawn (0: no stencil block).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for block in network.blocks:
        for eq in block.pde.equations:
            symbol = linear_symbol(block.pde, eq)
            check = von_neumann(block, eq, eq.order)
            if symbol is None or check is None or "bound" not in check.values:
                continue
            panels.append((block, eq, symbol, check))
    if not panels:
        return 0
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 3.2 * len(panels)), squeeze=False)
    theta = np.linspace(0, np.pi, 181)
    for ax, (block, eq, symbol, check) in zip(axes[:, 0], panels, strict=True):
        diagonal = symbol
        if symbol.dims == 2:
            diagonal = type(symbol)(
                symbol.expr.subs(symbol.thetas[1], symbol.thetas[0]), 1, symbol.linearised
            )
        grid = block.pde.grid
        subs = {grid.symbol: grid.value} if grid else {}
        diagonal = type(diagonal)(diagonal.expr.subs(subs), 1, diagonal.linearised)
        tau, bound = check.values["tau"], check.values["bound"]
        for value, label, style in (
            (tau, f"chosen τ = {tau:.4g}", "-"),
            (bound, f"bound τ* = {bound:.4g} ({check.values['closed_form']})", "--"),
        ):
            g = amplification(diagonal, value, eq.order)
            ax.plot(theta, [g(t) for t in theta], style, label=label)
        ax.axhline(1.0, color="grey", linewidth=0.8, label="|g| = 1")
        ax.set_xlabel("θ" + (" (θ₁ = θ₂)" if symbol.dims == 2 else ""))
        ax.set_ylabel("|g(θ)|")
        ax.set_title(f"{block.label} by {block.scheme.text}: {check.status}")
        ax.set_ylim(0, max(1.6, ax.get_ylim()[1] if tau > bound else 1.6))
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return len(panels)
