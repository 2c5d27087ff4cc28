"""The V-cycle's contraction factor, measured on the built module and reported as an
estimate (never as a proof): below 1 for the heat step, above 1 where the smoother
diverges (the case the analysis finds violated)."""

from __future__ import annotations

import pytest

import pde2net

SPEC = """
pde p {{
    state u[1]
    grid h = 1
{decl}
    dt(u) = {rhs}
}}
network n {{
    input signal(1, 32)
    p by multigrid(tau = {tau}, levels = 3)
    output identity
}}
"""


def _vcycle(decl: str, rhs: str, tau: float) -> tuple[str, dict]:
    compiled = pde2net.compile_text(SPEC.format(decl=decl, rhs=rhs, tau=tau), "mg.pde")
    (block,) = compiled.report["blocks"]
    (check,) = [c for c in block["checks"] if c["name"] == "multigrid V-cycle"]
    return block["status"], check


def test_heat_step_contracts_and_is_labelled_an_estimate():
    status, check = _vcycle("", "-dx' dx u", 5)
    assert check["status"] == "conditional"  # measured, not proven
    contraction = check["values"]["contraction"]
    assert contraction["kind"] == "estimate"
    assert 0 < contraction["value"] < 0.5
    assert "an estimate, not a proof" in check["reason"]
    assert status == "conditional"


def test_a_diverging_smoother_is_violated_and_measured_above_one():
    status, check = _vcycle("    stencil S = [1, 1, 1, 1, 1]", "-S' S u", 10)
    assert status == "violated"  # ω = 2/3 against 2/λ_max(D⁻¹A) = 0.406
    assert check["values"]["contraction"]["value"] > 1


@pytest.mark.parametrize("tau", [1, 100])
def test_check_alone_has_no_measurement(tau):
    report = pde2net.check_text(SPEC.format(decl="", rhs="-dx' dx u", tau=tau), "mg.pde").report
    (check,) = [c for c in report["blocks"][0]["checks"] if c["name"] == "multigrid V-cycle"]
    assert "contraction" not in check["values"]
