"""`input … in [low, high]`: the verifier draws from the data's range, and a network
that overflows on its verification inputs is a located spec problem, not an ONNX bug."""

from __future__ import annotations

import pytest
import sympy

import pde2net
from pde2net.lang.errors import SpecError
from pde2net.pipeline import build_outputs

ALLEN_CAHN = """
const tau = 0.4
const steps = 200
pde ac {{
    state u[1]
    grid h
    dt(u) = lap u + u - u^3
}}
const h = 1
network ac1 {{
    input signal(1, 32){range}
    ac by euler(h = tau, steps = steps)
    output identity
}}
"""


def test_range_is_parsed_exactly():
    checked = pde2net.check_text(ALLEN_CAHN.format(range=" in [-1, 1/2]"), "ac.pde")
    low, high = checked.network.input.range
    assert (low, high) == (-1, sympy.Rational(1, 2))


def test_overflow_is_located_at_the_block():
    with pytest.raises(SpecError) as info:
        build_outputs(pde2net.check_text(ALLEN_CAHN.format(range=""), "ac.pde"))
    assert info.value.loc.line == 12  # the block's line, not the input's
    assert "overflows on standard-normal inputs" in info.value.message
    assert "in [0, 1]" in info.value.message  # says how to declare the range


def test_declared_range_verifies():
    checked = pde2net.check_text(ALLEN_CAHN.format(range=" in [-1, 1]"), "ac.pde")
    outputs, report = build_outputs(checked)
    assert report["onnx"]["max_rel_error"] < 1e-4
    assert set(outputs) == {".py", ".onnx", ".report.json"}


@pytest.mark.parametrize(
    ("text", "message"),
    [(" in [1, 1]", "is empty"), (" in [0, 1e40]", "finite numbers within")],
)
def test_bad_ranges_are_located_errors(text, message):
    with pytest.raises(SpecError) as info:
        pde2net.check_text(ALLEN_CAHN.format(range=text), "ac.pde")
    assert message in info.value.message
    assert info.value.loc.line == 11


def test_cli_exit_code_and_nothing_written(tmp_path, cli):
    spec = tmp_path / "ac.pde"
    spec.write_text(ALLEN_CAHN.format(range=""))
    result = cli("compile", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert "ac.pde:12:5: error: the network overflows" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
