"""Forward Euler on dt(u) = L u + f(u): the Weyl bound, its verdicts, and the compiled
step measured against it."""

from __future__ import annotations

import pytest
import torch

import pde2net

SPEC = """
const tau = 0.1
const h = 1
pde react {{
    state u[1]
    grid h
    dt(u) = {rhs}
}}
network react_1d {{
    input signal(1, 32)
    react by euler(h = tau, steps = steps)
    output identity
}}
const steps = 1
"""


def _check(rhs: str, tau: float) -> dict:
    return pde2net.check_text(SPEC.format(rhs=rhs), "react.pde", {"tau": tau}).report


def _semilinear(report: dict) -> dict:
    (block,) = report["blocks"]
    (check,) = [c for c in block["checks"] if c["name"].endswith("semilinear step")]
    return check


# rhs -> the exact bound on τ (h = 1: the 3-point Laplacian has spectrum [-4, 0])
CASES = {
    "lap u - tanh(u)": 0.4,  # f' ∈ [-1, 0]: τ ≤ 2 / (4 + 1)
    "lap u - 2 * tanh(u)": 1 / 3,  # f' ∈ [-2, 0]
}


@pytest.mark.parametrize(("factor", "status"), [(0.99, "proven"), (1.01, "violated")])
def test_a_linear_reaction_gets_the_exact_von_neumann_verdict(factor, status):
    """lap u + u grows like e^t itself (μ = 1): stable in the Lax-Richtmyer sense while
    |g| ≤ 1 + τμ, i.e. 1 - 3τ ≥ -(1 + τ), τ ≤ 1 (the same bound as the Weyl argument)."""
    report = _check("lap u + u", factor * 1.0)
    (block,) = report["blocks"]
    assert block["status"] == status, block["condition"]
    (check,) = [c for c in block["checks"] if c["step"]]
    assert check["step"]["bound"]["value"] == pytest.approx(1.0)


@pytest.mark.parametrize("rhs", sorted(CASES))
def test_weyl_bound_is_derived_and_decided_exactly(rhs):
    bound = CASES[rhs]
    under = _semilinear(_check(rhs, 0.99 * bound))
    assert under["status"] == "proven", under
    assert under["step"]["bound"]["value"] == pytest.approx(bound)
    over = _semilinear(_check(rhs, 1.01 * bound))
    assert over["status"] == "violated", over  # linearised at the steady state u = 0


def test_allen_cahn_is_never_proven():
    """f' = 1 - 3u² is unbounded below: large data overshoot at every τ."""
    for tau in (0.01, 0.15, 10):
        report = _check("lap u + u - u^3", tau)
        check = _semilinear(report)
        assert check["status"] == "unverified", check
        assert report["verdict"] == "unverified" and report["stable"] is False


def _growth(rhs: str, tau: float, steps: int = 300) -> float:
    spec = SPEC.format(rhs=rhs)
    compiled = pde2net.compile_text(spec, "react.pde", {"tau": tau, "steps": steps})
    module = compiled.module.double().eval()
    x = 1e-3 * torch.tensor([(-1.0) ** j for j in range(32)], dtype=torch.float64)
    x = x.view(1, 1, 32)
    with torch.no_grad():
        return float(module(x).norm() / x.norm())


@pytest.mark.parametrize("rhs", ["lap u - tanh(u)", "lap u - 2 * tanh(u)"])
def test_compiled_step_is_bounded_under_and_grows_over_the_bound(rhs):
    bound = CASES[rhs]
    assert _growth(rhs, 0.99 * bound) <= 1.0 + 1e-9
    assert _growth(rhs, 1.2 * bound) > 1e3
