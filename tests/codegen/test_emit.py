"""The emitter's building blocks: fresh names and literal numbers."""

from __future__ import annotations

import math

import pytest
import sympy

from pde2net.codegen.emit import constant
from pde2net.codegen.names import Namer
from pde2net.codegen.printer import number


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, (1.0, math.inf)])
def test_a_number_that_is_not_finite_never_becomes_code(value):
    """`inf` or `nan` printed as a name could be captured by a spec name: an internal
    error instead (the front end reports such numbers at their place in the spec)."""
    with pytest.raises(ValueError, match="does not fit a float"):
        constant(value)


@pytest.mark.parametrize("value", [sympy.oo, -sympy.oo, sympy.nan, sympy.zoo])
def test_the_printer_refuses_numbers_that_are_not_finite(value):
    with pytest.raises((ValueError, TypeError)):
        number(value)


def test_namer_hands_out_each_name_once_and_keeps_wishes_it_can():
    names = Namer({"torch", "g"})
    assert names.name("u") == "u"
    assert names.name("g") == "g_"
    assert names.name("g") == "g__"
    assert names.name("__init__") == "__init___"
    child = names.child()
    assert child.name("u") == "u_" and names.name("v") == "v"
