"""Spec text can never make the generated Python do anything but define the network.

Names, numbers and strings of a spec reach the generated module only as identifiers
(mangled by pde2net/codegen/names.py), numeric literals and docstring text. These tests
put hostile text in every place a spec can hold it: Python keywords and builtins, names
the generated code itself uses (torch, nn, F, self, input, x, ...), dunders, unicode
look-alikes, quotes, backslashes and newlines, huge numbers, NaN- and inf-like values.
Each one either compiles to a working model, whose module does nothing at import but
define it, or is a located error.
"""

from __future__ import annotations

import ast
import json

import pytest
import torch

from pde2net.api import check_text, compile_checked
from pde2net.lang.errors import SpecError

TEMPLATE = """\
fn {fn}({var}) = {var} / (1 + {var}^2)

pde {pde}(c) {{
    state  {u}[c]
    weight {K} : conv(3x3, c -> c, bias = true)
    weight {K2} : conv(3x3, c -> c)
    norm   {N} : tvnorm(c)
    param  {p} = 0.5 : learn, positive
    param  {q} = 0.1 : learn
    dt({u}) = -{K}' {fn}({N}({K} {u})) - {p} * {u} - {q} * {K2}' {K2} {u}
}}

network {net} {{
    input  image(3, 8, 8)
    conv(3x3, 3 -> 4), {fn}
    {pde}(4) by euler(h = 0.5, steps = 2)
    output globalavgpool, linear(4 -> 2)
}}
"""
ROLES = {
    "fn": "phi",
    "var": "s",
    "pde": "block",
    "u": "u",
    "K": "K",
    "K2": "W",
    "N": "N",
    "p": "lam",
    "q": "mu",
    "net": "net",
}
HOSTILE = [
    # names the generated module uses
    "torch", "nn", "F", "math", "self", "input", "x", "j", "forward", "f", "f_u",
    "INPUT_SHAPE", "conv_weight", "TVNorm", "NormBound", "pad", "stencil", "taus",
    # Python keywords, soft keywords and builtins
    "class", "def", "lambda", "None", "True", "import", "return", "match", "_", "type",
    "print", "exec", "eval", "open", "super", "object",
    # nn.Module attributes, and names of attributes the generator derives
    "training", "parameters", "state_dict", "register_buffer", "K_bias", "K_bound",
    "lam_raw",
]  # fmt: skip
# An activation used as a network layer becomes a module-level function: it must not
# capture `x` (the network's forward variable) or a generated class name (Net for
# `network net`, Block for `block(4)`); codegen.names.Namer keeps them apart.
LAYER_COLLISIONS = {("fn", "x"), ("fn", "Net"), ("fn", "Block4")}


REFUSED = {("pde", "input")}  # a keyword where a layer starts: a located error


def squares():
    """Specs that put every hostile name in every role, ten at a time: spec i gives role r
    the name HOSTILE[(i + r) % len(HOSTILE)] (a Latin square over the pairs)."""
    for i in range(len(HOSTILE)):
        names = {}
        for r, role in enumerate(ROLES):
            name = HOSTILE[(i + r) % len(HOSTILE)]
            names[role] = ROLES[role] if (role, name) in REFUSED else name
        yield pytest.param(names, id="-".join(names.values()))


def only_definitions(source: str) -> None:
    """The module does nothing at import but import torch and define things: docstring,
    imports, INPUT_SHAPE, functions and classes; class bodies hold only a docstring,
    constants and methods."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Expr):
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            assert set(modules) <= {"math", "torch", "torch.nn.functional", "__future__"}, modules
        elif isinstance(node, ast.Assign):
            assert [ast.unparse(t) for t in node.targets] == ["INPUT_SHAPE"]
            ast.literal_eval(node.value)
        elif isinstance(node, ast.ClassDef):
            assert [ast.unparse(b) for b in node.bases] == ["nn.Module"]
            assert not node.decorator_list
            for item in node.body:
                if isinstance(item, ast.Assign | ast.Expr):
                    ast.literal_eval(item.value)  # a docstring or a constant (FED's taus)
                else:
                    assert isinstance(item, ast.FunctionDef), ast.dump(item)
        else:
            assert isinstance(node, ast.FunctionDef), ast.dump(node)
            assert all(ast.unparse(d) == "torch.no_grad()" for d in node.decorator_list)


def build_and_run(text: str):
    checked = check_text(text, "hostile.pde")
    compiled = compile_checked(checked)
    only_definitions(compiled.source)
    module = compiled.module
    out = module(torch.randn(2, *checked.network.input.shape))
    assert tuple(out.shape) == (2, *checked.network.output_shape)
    assert torch.isfinite(out).all()
    count = sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert count == checked.network.parameters == checked.report["parameters"]
    json.dumps(checked.report, allow_nan=False)
    return compiled


@pytest.mark.parametrize("names", list(squares()))
def test_hostile_names_compile_to_a_working_model(names):
    build_and_run(TEMPLATE.format(**names))


@pytest.mark.parametrize(("role", "name"), sorted(REFUSED))
def test_hostile_name_is_a_located_error(role, name):
    text = TEMPLATE.format(**{**ROLES, role: name})
    with pytest.raises(SpecError) as caught:
        check_text(text, "hostile.pde")
    err = caught.value
    assert err.loc.file == "hostile.pde" and err.loc.column >= 1
    assert name in text.splitlines()[err.loc.line - 1], err


@pytest.mark.parametrize(("role", "name"), sorted(LAYER_COLLISIONS))
def test_layer_function_named_like_generated_code(role, name):
    build_and_run(TEMPLATE.format(**{**ROLES, role: name}))


def test_the_same_name_in_every_role_of_its_kind():
    # every name below is both a Python keyword or builtin and a name the module uses
    text = TEMPLATE.format(
        fn="print", var="self", pde="torch", u="input", K="nn", K2="F", N="math",
        p="forward", q="training", net="super",
    )  # fmt: skip
    compiled = build_and_run(text)
    assert "class Super(nn.Module):" in compiled.source


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("const a = 1e999", "number 1e999 is out of range"),
        (
            "const a = 1e300 * 1e300",
            "is out of range: about 1.00e+600 (at most 1e308 in magnitude)",
        ),
        ("const a = 1e-300 * 1e-300", "is too small"),
        ("const a = 0/0", "division by zero"),
        ("const a = 1/(1 - 1)", "division by zero"),
        ("const a = log(0)", "is not a finite number"),
        ("const a = exp(1000)", "is out of range: about 1.97e+434"),
        ("const a = exp(exp(exp(10)))", "is out of range"),
        ("const a = sqrt(-1)", "constant 'a' must be a finite real number, but it is I"),
        ("const a = ((2^64)^64)^64", "the value of '(2^64)^64' is out of range"),
        ("const a = 2^65", "exponent 65 is too large"),
        ("const a = " + "9" * 1200, "has more than 1000 digits"),
        ("const inf = 1\nconst nan = inf - inf\nconst b = 1/nan", "division by zero"),
    ],
)
def test_numbers_out_of_range_are_located_errors(text, message):
    spec = text + "\nnetwork n { input vector(3)\n output identity }\n"
    with pytest.raises(SpecError) as caught:
        check_text(spec, "numbers.pde")
    assert message in caught.value.message
    assert caught.value.loc.file == "numbers.pde"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('const a = "1"', "unexpected character '\"'"),
        ("const a = '1'", 'unexpected "\'"'),
        ('network n """doc""" { }', "unexpected character '\"'"),
        ("const a = 1 \\ 2", "unexpected character '\\\\'"),
        ("const \u041a = 1", "unexpected character 'К' (U+041A CYRILLIC CAPITAL LETTER KA)"),
        ("const \uff4b = 1", "(U+FF4B FULLWIDTH LATIN SMALL LETTER K)"),
        ("const a = 1\u200b", "(U+200B ZERO WIDTH SPACE)"),
        ("const a = 1\x1b[2J", "(U+001B unnamed)"),
        ("const __import__ = 1", "names containing '__' are reserved"),
        ("const a__b = 1", "names containing '__' are reserved"),
    ],
)
def test_quotes_backslashes_and_look_alikes_are_located_errors(spec, message):
    with pytest.raises(SpecError) as caught:
        check_text(spec + "\nnetwork n { input vector(3)\n output identity }\n", "text.pde")
    assert message in str(caught.value)
    rendered = caught.value.render(spec)
    assert "\x1b" not in rendered and "\u200b" not in rendered  # shown as U+FFFD


def test_docstrings_hold_equations_verbatim_and_stay_docstrings():
    # the adjoint quote at the very end of a docstring line, backslash continuations
    text = TEMPLATE.format(**ROLES).replace("dt(u) = ", "dt(u) = \\\n        ")
    compiled = build_and_run(text)
    tree = ast.parse(compiled.source)
    docs = [ast.get_docstring(n) for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    assert any("dt(u) = -K' phi(N(K u)) - lam * u - mu * W' W u" in (d or "") for d in docs)


def _strict(text: str):
    def refuse(constant: str):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_hostile_spec_compiles_twice_to_identical_safe_files(tmp_path):
    import onnx

    from tests.conftest import run_cli

    names = dict(zip(ROLES, ["print", "self", "torch", "input", "nn", "F", "math", "forward",
                             "training", "super"], strict=True))  # fmt: skip
    spec = tmp_path / "hostile.pde"
    spec.write_text(TEMPLATE.format(**names), encoding="utf-8")
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = run_cli("compile", str(spec), "-o", str(out))
        assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in first.iterdir())
    assert files == ["super.onnx", "super.py", "super.report.json"]
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    only_definitions((first / "super.py").read_text(encoding="utf-8"))
    report = _strict((first / "super.report.json").read_text(encoding="utf-8"))
    assert report["network"] == "super"
    model = onnx.load(str(first / "super.onnx"))
    onnx.checker.check_model(model)
    texts = [model.doc_string, model.graph.doc_string]
    texts += [p.value for p in model.metadata_props] + [n.doc_string for n in model.graph.node]
    for text in texts:
        assert text.isprintable() or not text.strip("\n\t "), repr(text[:200])
