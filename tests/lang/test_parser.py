"""The grammar and the newline post-lexer: which texts parse, and into which trees."""

from __future__ import annotations

import pytest
from lark import Token, Tree

from pde2net.lang.errors import SpecError
from pde2net.lang.parser import parse
from tests.conftest import ALL_SPECS, ROOT

PDE = """\
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = -K' relu(N(K u))
}
"""

NETWORK = """\
network tiny {
    input  image(3, 8, 8)
    conv(3x3, 3 -> 4), batchnorm, relu
    parabolic(4) by euler(h = 1, steps = 2)
    globalavgpool
    output linear(4 -> 10)
}
"""

ONE_LINE = PDE + "\n" + NETWORK


def _equations(tree: Tree) -> list[Tree]:
    return list(tree.find_data("equation"))


def _rhs(text: str) -> Tree:
    """The right-hand side of the only equation in `text`."""
    (equation,) = _equations(parse(text))
    return equation.children[2]


def _name(tree: Tree) -> str:
    assert isinstance(tree, Tree) and tree.data in ("name", "adjoint"), tree
    return str(tree.children[0])


# -- the bundled specs ------------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_bundled_spec_parses_into_pdes_and_one_network(spec):
    tree = parse(spec.read_text(encoding="utf-8"), str(spec))
    assert tree.data == "start"
    kinds = [item.data for item in tree.children if item is not None]
    assert kinds.count("network_def") == 1
    assert "pde_def" in kinds
    network = next(tree.find_data("network_def"))
    statements = [s for s in network.children[1:] if s is not None]
    assert statements[0].data == "input_stmt"
    assert statements[-1].data == "output_stmt"
    # every pde ends up with at least one equation dt(...) or dtt(...)
    for pde in tree.find_data("pde_def"):
        equations = _equations(pde)
        assert equations
        assert all(str(eq.children[0]) in ("dt", "dtt") for eq in equations)


def test_paper_spec_has_three_blocks_stepped_by_euler():
    spec = ROOT / "specs" / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
    tree = parse(spec.read_text(encoding="utf-8"), str(spec))
    schemes = [
        layer.children[1] for layer in tree.find_data("layer") if layer.children[1] is not None
    ]
    assert [str(call.children[0]) for call in schemes] == ["euler"] * 3
    consts = {str(c.children[0]) for c in tree.find_data("const_def")}
    assert consts == {"h", "steps"}


# -- the tree of the parabolic right-hand side ---------------------------------------------


def test_tree_of_parabolic_rhs():
    """`-K' relu(N(K u))` is neg(juxt(K', relu(N(juxt(K, u))))): the minus applies to the
    whole application, K' is an adjoint operator, and juxtaposition binds K to u."""
    rhs = _rhs(ONE_LINE)
    assert rhs.data == "neg"
    (juxt,) = rhs.children
    assert juxt.data == "juxt"
    adjoint, relu_call = juxt.children
    assert adjoint.data == "adjoint" and _name(adjoint) == "K"
    assert relu_call.data == "call_expr"
    relu, relu_args = relu_call.children
    assert relu.data == "name" and _name(relu) == "relu"
    assert relu_args.data == "arglist"
    (n_call,) = relu_args.children
    assert n_call.data == "call_expr"
    n, n_args = n_call.children
    assert _name(n) == "N"
    (k_u,) = n_args.children
    assert k_u.data == "juxt"
    k, u = k_u.children
    assert k.data == "name" and _name(k) == "K"
    assert u.data == "name" and _name(u) == "u"


def test_juxtaposition_is_right_associative():
    rhs = _rhs(ONE_LINE.replace("-K' relu(N(K u))", "K' K u"))
    assert rhs.data == "juxt"
    head, operand = rhs.children
    assert head.data == "adjoint" and _name(head) == "K"
    assert operand.data == "juxt"
    assert [_name(c) for c in operand.children] == ["K", "u"]


def test_juxtaposition_binds_tighter_than_arithmetic():
    rhs = _rhs(ONE_LINE.replace("-K' relu(N(K u))", "2 * K u - u"))
    assert rhs.data == "sub"
    product, u = rhs.children
    assert _name(u) == "u"
    assert product.data == "mul"
    two, applied = product.children
    assert two.data == "number" and str(two.children[0]) == "2"
    assert applied.data == "juxt"


def test_equation_keeps_dt_and_state():
    (equation,) = _equations(parse(ONE_LINE))
    deriv, state, _ = equation.children
    assert isinstance(deriv, Token) and deriv.type == "DERIV" and str(deriv) == "dt"
    assert str(state) == "u"


def test_kernel_and_channel_map_arguments():
    tree = parse(ONE_LINE)
    conv = next(c for c in tree.find_data("call") if str(c.children[0]) == "conv")
    kernel, channels = conv.children[1].children
    assert kernel.data == "kernel_arg" and str(kernel.children[0]) == "3x3"
    assert channels.data == "map_arg"
    assert [str(c.children[0]) for c in channels.children] == ["3", "4"]


# -- newlines and continuation ----------------------------------------------------------------


def test_statement_continues_after_a_comma():
    split = ONE_LINE.replace(
        "conv(3x3, 3 -> 4), batchnorm, relu", "conv(3x3, 3 -> 4),\n        batchnorm,\n  relu"
    )
    assert split != ONE_LINE
    assert parse(split) == parse(ONE_LINE)


def test_comment_after_a_comma_does_not_end_the_statement():
    split = ONE_LINE.replace(
        "conv(3x3, 3 -> 4), batchnorm, relu", "conv(3x3, 3 -> 4),  # opening\n    batchnorm, relu"
    )
    assert parse(split) == parse(ONE_LINE)


def test_statement_continues_inside_parentheses():
    split = ONE_LINE.replace("-K' relu(N(K u))", "-K' relu(\n        N(\n  K u\n)\n    )").replace(
        "input  image(3, 8, 8)", "input  image(3,\n 8,\n 8\n)"
    )
    assert split.count("\n") > ONE_LINE.count("\n") + 5
    assert parse(split) == parse(ONE_LINE)


def test_statement_continues_after_an_operator_or_equals_sign():
    split = ONE_LINE.replace("dt(u) = -K' relu(N(K u))", "dt(u) =\n   -K' relu(N(K u))")
    assert parse(split) == parse(ONE_LINE)
    base = ONE_LINE.replace("-K' relu(N(K u))", "u - K u")
    assert parse(base.replace("u - K u", "u -\n K u")) == parse(base)


def test_backslash_continues_a_line():
    split = ONE_LINE.replace("parabolic(4) by euler", "parabolic(4) \\\n    by euler")
    assert parse(split) == parse(ONE_LINE)


def test_semicolon_separates_statements():
    joined = ONE_LINE.replace(
        "    state  u[c]\n    weight K : conv(3x3, c -> c)\n",
        "    state  u[c]; weight K : conv(3x3, c -> c)\n",
    ).replace("    globalavgpool\n    output", "    globalavgpool; output")
    assert joined.count("\n") == ONE_LINE.count("\n") - 2
    assert parse(joined) == parse(ONE_LINE)


def test_blank_lines_and_comments_between_statements():
    spaced = ONE_LINE.replace("\n", "\n\n   # a comment line\n\n")
    assert parse(spaced) == parse(ONE_LINE)


def test_a_finished_line_ends_the_statement():
    """`-K'` is a complete expression, so the newline after it ends the equation and the
    next line is a new (invalid) statement: an error at that line, not a continuation."""
    broken = ONE_LINE.replace("-K' relu(N(K u))", "-K'\n        relu(N(K u))")
    with pytest.raises(SpecError) as info:
        parse(broken, "broken.pde")
    loc = info.value.loc
    assert loc is not None and loc.file == "broken.pde"
    lines = broken.splitlines()
    assert lines[loc.line - 1].strip().startswith("relu(")


def test_two_statements_on_one_line_need_a_separator():
    fused = ONE_LINE.replace(
        "    state  u[c]\n    weight K : conv(3x3, c -> c)\n",
        "    state  u[c] weight K : conv(3x3, c -> c)\n",
    )
    with pytest.raises(SpecError) as info:
        parse(fused, "fused.pde")
    assert info.value.loc.line == 2


def test_the_parser_cache_lives_only_where_no_one_else_can_write(tmp_path, monkeypatch):
    """The cache is a pickle (code when loaded): never in a directory others can write."""
    import os

    from pde2net.lang import parser

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = parser.cache_file()
    assert path == str(tmp_path / "pde2net" / os.path.basename(path))
    os.chmod(tmp_path / "pde2net", 0o777)
    assert parser.cache_file() is False
    monkeypatch.setenv("PDE2NET_PARSER_CACHE", "0")
    assert parser.cache_file() is False


def test_a_corrupt_parser_cache_is_rebuilt(tmp_path):
    """A truncated or garbage cache (an interrupted write) costs a rebuild, not a crash."""
    import os
    import subprocess
    import sys

    (tmp_path / "pde2net").mkdir(mode=0o700)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    code = "from pde2net.lang import parser; parser.parse('network n {}\\n'); print(parser.cache_file())"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    cache = first.stdout.strip()
    assert first.returncode == 0 and os.path.getsize(cache) > 1000, first.stderr
    with open(cache, "r+b") as f:
        f.truncate(100)
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert os.path.getsize(cache) > 1000  # rebuilt and saved again
