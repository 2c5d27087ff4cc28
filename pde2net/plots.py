"""Pictures of the analysis: the von Neumann amplification over frequency.

Each panel draws the spectral radius ρ(G(θ)) of one linear stencil block's step, at the
chosen step size and at the derived bound, read from the typed `Check.step`
(`StepBound`) of the block's von Neumann check in the report (never re-derived) and
from the symbol matrix A(θ); no untyped `values` are read.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import sympy

from pde2net import ir
from pde2net.analysis import amplification as amp
from pde2net.analysis.report import Report
from pde2net.schemes.conditions import SCHEME_STEPS


def spectral_radius_curve(
    system: amp.LinearSystem, scheme: str, tau: float, theta: np.ndarray
) -> np.ndarray:
    """ρ(G(θ)) along θ₁ = … = θ_d = θ, in floating point (for drawing only)."""
    a = system.matrix()
    tau_s = sympy.Symbol("tau_plot")
    g = SCHEME_STEPS[scheme](a, tau_s)
    args = (*system.zs, tau_s)
    f = sympy.lambdify(args, g, modules="numpy")
    out = []
    for t in theta:
        z = complex(math.cos(t), math.sin(t))
        m = np.array(f(*([z] * system.dims), tau), dtype=complex)
        out.append(max(abs(np.linalg.eigvals(m))))
    return np.array(out)


def plot_amplification(network: ir.Network, report: Report, path: str | Path) -> int:
    """Draw ρ(G(θ)) for each linear stencil block at the chosen step and at the derived
    bound. 2D symbols are drawn along the diagonal θ₁ = θ₂ = θ, where the 5-point
    Laplacian has its extreme mode. Returns the number of panels drawn (0: none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for block in network.blocks:
        if block.scheme.name not in SCHEME_STEPS:
            continue
        system = amp.linear_system(block.pde)
        if system is None:
            continue
        checks = report.block(block.index).checks  # the analysis' own, not re-derived
        check = next((c for c in checks if c.step is not None), None)
        if check is None:
            continue
        panels.append((block, system, check))
    if not panels:
        return 0
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 3.2 * len(panels)), squeeze=False)
    theta = np.linspace(0, np.pi, 181)
    for ax, (block, system, check) in zip(axes[:, 0], panels, strict=True):
        step = check.step
        tau, bound = step.tau.value, step.bound.value
        lines = [(tau, f"chosen τ = {tau:.4g}", "-")]
        if 0 < bound < math.inf:
            rel = "<" if step.strict else "≤"
            closed = f" ({step.closed_form})" if step.closed_form else ""
            lines.append((bound, f"bound τ {rel} {bound:.4g}{closed}", "--"))
        for value, label, style in lines:
            rho = spectral_radius_curve(system, block.scheme.name, value, theta)
            ax.plot(theta, rho, style, label=label)
        ax.axhline(1.0, color="grey", linewidth=0.8, label="ρ = 1")
        ax.set_xlabel("θ" + (" (θ₁ = θ₂)" if system.dims == 2 else ""))
        ax.set_ylabel("ρ(G(θ))")
        ax.set_title(f"{block.label} by {block.scheme.text}: {check.status}")
        ax.set_ylim(0, max(1.6, ax.get_ylim()[1] if tau > bound else 1.6))
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return len(panels)
