"""Compile budgets: a network whose compile would take too long or too much memory is
refused before anything is built, at the layer that passes the budget, with the estimate
and the option that raises it; `check` analyses it and only warns."""

from __future__ import annotations

import time

import pytest

from pde2net.api import check_spec, check_text
from pde2net.lang import cost, limits
from pde2net.lang.errors import SpecError
from tests.conftest import SPECS

HEAT = SPECS / "classic" / "heat_1d.pde"

BLOCKS = """\
pde heat {{
    state u[1]
    grid h
    dt(u) = lap u
}}
const h = 1
network blocks {{
    input signal(1, 16)
{blocks}
    output identity
}}
"""

FED = """\
flux phi(s) = s
pde pm {
    state u[1]
    grid h
    dt(u) = -dx' phi(dx u)
}
const h = 1
network fedbig {
    input signal(1, 64)
    pm by fed(tau_max = 0.5, steps = 100000, cycles = 1)
    output identity
}
"""

IMAGE = """\
pde heat {
    state u[c]
    grid h
    dt(u) = lap u
}
const h = 1
const c = 3
network image {
    input image(3, 2048, 2048)
    conv(3x3, 3 -> 8), relu
    conv(3x3, 8 -> 3)
    heat by euler(h = 0.25, steps = 10)
    output identity
}
"""

WIDE = """\
network wide {
    input image(3, 2048, 2048)
    conv(3x3, 3 -> 64), relu
    output globalavgpool
}
"""


def refused(text: str, **budgets: int) -> SpecError:
    with limits.use(**budgets), pytest.raises(SpecError) as caught:
        check_text(text, "spec.pde", budget=True)
    return caught.value


def test_heat_1d_at_2000_steps_is_refused_before_the_analysis_with_the_estimate():
    check_spec(HEAT, {"steps": "2000"})  # check analyses it
    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        check_spec(HEAT, {"steps": "2000"}, budget=True)
    assert time.perf_counter() - started < 5
    error = caught.value
    assert (error.loc.line, error.loc.column) == (18, 5)
    assert error.message.startswith(
        "this network unrolls to ~44,000 graph nodes; the budget is 30,000 (passed at block "
        "heat by euler(h = 0.25, steps = 2000)"
    )
    assert "--max-nodes" in error.notes[0] and "PDE2NET_MAX_NODES" in error.notes[0]


def test_a_raised_budget_lets_it_through():
    with limits.use(max_nodes=10**5):
        check_spec(HEAT, {"steps": "2000"}, budget=True)


def test_two_thousand_small_blocks_are_refused_at_the_block_that_passes_the_budget():
    text = BLOCKS.format(blocks="\n".join(["    heat by euler(h = 0.25, steps = 1)"] * 2000))
    error = refused(text)
    per_block = cost.estimate(
        check_text(BLOCKS.format(blocks="    heat by euler(h = 1)"), "b.pde").network
    ).nodes
    first = limits.Limits().max_nodes // per_block + 1  # the first block past the budget
    assert "graph nodes" in error.message and error.message.endswith(
        "(passed at block heat by euler(h = 0.25, steps = 1))"
    )
    assert error.loc.line == 8 + first


def test_a_fed_block_of_100000_steps_is_refused_without_analysing_it():
    started = time.perf_counter()
    error = refused(FED)
    assert time.perf_counter() - started < 5
    assert error.loc.line == 10 and "graph nodes" in error.message


def test_a_2048_image_with_a_stencil_block_is_refused_for_its_operations():
    error = refused(IMAGE)
    assert "weighted operations" in error.message and error.loc.line == 12
    assert "--max-operations" in error.notes[0]


def test_a_wide_layer_on_a_large_image_is_refused_for_its_compile_memory():
    error = refused(WIDE)
    assert "of memory to compile" in error.message and error.loc.line == 3
    assert "--max-compile-memory" in error.notes[0]


def test_compile_memory_estimate_is_calibrated():
    """Measured peaks of `pde2net compile` (docs/language.md): 1.58 GiB for a 16-channel
    1024x1024 network, 2.77 GiB for 32 channels; the estimate is within 10 %."""
    text = """\
pde parabolic(c) {{
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}}
network img {{
    input  image(3, 1024, 1024)
    conv(3x3, 3 -> {c}), relu
    parabolic({c}) by euler(h = 0.1, steps = 2)
    output globalavgpool
}}
"""
    for channels, measured in ((16, 1.58), (32, 2.77)):
        network = check_text(text.format(c=channels), "img.pde").network
        estimate = cost.estimate(network).compile_bytes / 2**30
        assert abs(estimate - measured) / measured < 0.1


@pytest.mark.parametrize("spec", sorted(SPECS.rglob("*.pde")), ids=lambda p: p.stem)
def test_every_shipped_spec_is_well_within_the_default_budgets(spec):
    network = check_spec(spec).network
    assert cost.problems(network, limits.Limits()) == []
    estimate = cost.estimate(network)
    assert estimate.nodes < limits.Limits().max_nodes / 4


def test_check_warns_and_compile_refuses(cli, tmp_path):
    check = cli("check", str(HEAT), "--set", "steps=2000")
    assert check.returncode == 0
    assert "warning: compile would refuse it: this network unrolls" in check.stderr
    compiled = cli("compile", str(HEAT), "--set", "steps=2000", "-o", str(tmp_path))
    assert compiled.returncode == 2 and "Traceback" not in compiled.stderr
    assert "heat_1d.pde:18:5: error: this network unrolls to ~44,000 graph nodes" in compiled.stderr
    assert not list(tmp_path.iterdir())


def test_the_export_is_bounded_in_python_too():
    from pde2net.pipeline import build_outputs

    checked = check_spec(HEAT, {"steps": "2000"})
    with pytest.raises(SpecError, match="graph nodes"):
        build_outputs(checked)
