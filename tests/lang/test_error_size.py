"""Errors sized for a terminal: a long source line is clipped around the caret, and the
token limit counts tokens, not line breaks or comments."""

from __future__ import annotations

import pytest

import pde2net
from pde2net.ir import Loc
from pde2net.lang.errors import LINE_WIDTH, SpecError, clip

HEAT = """
pde heat {
    state u[1]
    grid h
    dt(u) = lap u
}
const h = 1
network heat_1d {
    input signal(1, 16)
    heat by euler(h = 0.25, steps = 2)
    output identity
}
"""


def test_a_long_line_is_clipped_around_the_caret():
    text = "x" * 1_000_000 + " bad " + "y" * 1_000_000
    rendered = SpecError("oops", Loc("f.pde", 1, 1_000_002, 1_000_005)).render(text)
    source, caret = rendered.splitlines()[1:3]
    assert len(source) < LINE_WIDTH + 20 and len(caret) < LINE_WIDTH + 20
    assert source[caret.index("^") : caret.index("^") + 3] == "bad"


@pytest.mark.parametrize("column", [1, 50, 150, 5000, 9999])
def test_clip_keeps_the_caret_on_its_character(column):
    text = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    window, at, width = clip(text, column, 3)
    assert window[at - 1] == text[column - 1]
    assert len(window) <= LINE_WIDTH and width == 3


def test_comment_lines_do_not_count_as_tokens():
    spec = "# a comment\n" * 60_000 + HEAT
    assert pde2net.check_text(spec, "long.pde").report["verdict"] == "proven"
