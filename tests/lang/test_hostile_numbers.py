"""Hostile numbers: every number that reaches generated code is a finite float literal or
a located error; nothing becomes an internal error or the bare name `inf`."""

from __future__ import annotations

import pytest
import sympy

import pde2net
from pde2net.api import check_text
from pde2net.codegen.printer import number
from pde2net.lang.errors import SpecError

SPEC = """fn e({var}) = {body}
pde heat {{
    state u[1]
    grid h
    weight K : conv({kernel}, 1 -> 1)
    dt(u) = lap u - 1e-3 * e(u)
}}
const h = 1
network heat_1d {{
    input signal(1, 16)
    heat by euler(h = 0.25, steps = 2)
    output identity
}}
"""


def _spec(var: str = "x", body: str = "x", kernel: str = "3") -> str:
    return SPEC.format(var=var, body=body, kernel=kernel)


def test_1e308_is_in_range_as_documented():
    pde2net.check_text(_spec(body="1e308 * x"), "n.pde")


@pytest.mark.parametrize(
    ("kwargs", "line", "message"),
    [
        ({"var": "inf", "body": "inf * exp(700) * exp(700)"}, 1, "out of range"),
        ({"body": "x * 1e" + "9" * 5000}, 1, "out of range"),
        ({"body": "x * 1e-" + "9" * 5000}, 1, "out of range"),
        ({"kernel": "3x" + "9" * 5000}, 5, "kernel size"),
        ({"kernel": "9" * 5000}, 5, "more than 1000 digits"),
    ],
)
def test_hostile_numbers_are_located_errors(kwargs, line, message):
    with pytest.raises(SpecError) as info:
        pde2net.check_text(_spec(**kwargs), "n.pde")
    assert info.value.loc.line == line
    assert message in info.value.message


def test_cli_exit_code_for_a_5000_digit_exponent(tmp_path, cli):
    spec = tmp_path / "n.pde"
    spec.write_text(_spec(body="x * 1e" + "9" * 5000))
    result = cli("check", str(spec))
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("value", "text"),
    [(sympy.Integer(10) ** 300, "1e+300"), (sympy.Integer(3), "3"), (sympy.Rational(1, 4), "0.25")],
)
def test_printed_literals_are_floats_or_small_ints(value, text):
    assert number(value) == text


def test_a_non_finite_literal_is_never_printed():
    with pytest.raises(ValueError):
        number(sympy.Integer(10) ** 400)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("1e300 * x", "1e+300 is beyond float32's range"),
        ("min(x, 1e300)", "1e+300 is beyond float32's range"),
        ("leaky_relu(1e300)", "1e+300 is beyond float32's range"),
        ("x * exp(100)", "2.69e+43 is beyond float32's range"),
        ("1e-50 * x", "1e-50 is 0 in float32"),
    ],
)
def test_a_number_float32_cannot_hold_is_analysed_but_not_compiled(body, found):
    pde2net.check_text(_spec(body=body), "n.pde")  # check: exact analysis up to 1e308
    with pytest.raises(SpecError) as info:
        check_text(_spec(body=body), "n.pde", budget=True)
    assert info.value.loc.line == 1 and found in info.value.message


def test_cli_min_1e300_is_a_located_error_not_an_internal_one(tmp_path, cli):
    spec = tmp_path / "n.pde"
    spec.write_text(_spec(body="min(x, 1e300)"))
    result = cli("compile", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{spec}:1:4: error: a number in 'e': 1e+300")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("kwargs", "overrides"),
    [
        ({"body": "x * 1e" + "9" * 5000}, None),
        ({}, {"h": "1e" + "9" * 5000}),
        ({}, {"h": "9" * 5000 + "x"}),
    ],
)
def test_a_huge_number_is_abbreviated_in_the_message(kwargs, overrides):
    with pytest.raises(SpecError) as info:
        pde2net.check_text(_spec(**kwargs), "n.pde", overrides)
    assert len(info.value.message) < 120 and "…" in info.value.message


def test_a_network_name_too_long_for_a_file_name_is_a_located_error():
    name = "n" * 201
    with pytest.raises(SpecError) as info:
        pde2net.check_text(_spec().replace("network heat_1d", f"network {name}"), "n.pde")
    assert (info.value.loc.line, info.value.loc.column) == (9, 9)
    assert "at most 200 characters" in info.value.message
    pde2net.check_text(_spec().replace("network heat_1d", f"network {name[:200]}"), "n.pde")


CONSTANT = """\
fn c(x) = 2
pde p {{
    state u[1]
    weight K : conv(3, 1 -> 1)
    dt(u) = {rhs}
}}
network constant {{
    input signal(1, 16)
{layer}    p by euler(h = 0.1, steps = 2)
    output identity
}}
"""


@pytest.mark.parametrize(
    ("rhs", "layer", "line"),
    [("-K' c(K u)", "", 1), ("-K' K u", "    c\n", 1), ("-K' K c(u)", "", 1)],
)
def test_a_constant_function_where_a_field_is_needed_is_a_located_error(rhs, layer, line):
    text = CONSTANT.format(rhs=rhs, layer=layer)
    pde2net.check_text(text, "c.pde")
    with pytest.raises(SpecError) as info:
        check_text(text, "c.pde", budget=True)
    assert info.value.loc.line == line and "does not depend on x" in info.value.message


def test_a_constant_function_added_to_a_field_compiles():
    compiled = pde2net.compile_text(CONSTANT.format(rhs="-K' K u - c(u)", layer=""), "c.pde")
    assert compiled.module is not None
