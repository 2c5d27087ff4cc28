"""Hygiene: no spec name can capture or shadow a name the generated code uses.

For every bundled spec (and the scheme variants they do not show), renaming the spec's
own names (states, weights, norms, params, stencils, functions, pdes) to names the
generated code itself uses, gives bit-identical outputs on the same weights and inputs.
"""

from __future__ import annotations

import ast
import functools
import keyword
import re

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pde2net.api import build_module, check_text
from pde2net.codegen import runtime
from pde2net.codegen.generate import generate
from pde2net.lang.errors import SpecError
from tests.codegen.parity import ROOT, set_weights

SPECS = sorted(
    p for p in (ROOT / "specs").rglob("*.pde") if not re.search(r"cifar100|stl10", p.name)
)
VARIANTS = {  # scheme options no bundled spec uses
    "implicit-jacobi": ("alt_2023/implicit.pde", "solver = cg", "solver = jacobi"),
    "implicit-fixed-point": ("alt_2023/implicit.pde", "solver = cg", "solver = fixed_point"),
    "fed-unfrozen": ("alt_2023/fed.pde", "enforce = true", "enforce = true, freeze = false"),
    "fsi-unfrozen": ("alt_2023/fsi.pde", "steps = steps", "steps = steps, freeze = false"),
    "euler-shared": ("experiments/digits_parabolic.pde", "enforce = true", "shared = true"),
    "verlet-shared": (
        "experiments/digits_hamiltonian.pde",
        "steps = steps",
        "steps = 2, shared = true",
    ),
}
CASES = {str(p.relative_to(ROOT / "specs")): p.read_text() for p in SPECS}
for variant, (base, old, new) in VARIANTS.items():
    text = CASES[base]
    assert old in text, (variant, old)
    CASES[variant] = text.replace(old, new, 1)


def strip_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def spec_names(text: str) -> list[str]:
    net = check_text(text, "spec.pde").network
    names: set[str] = set()
    for block in net.blocks:
        pde = block.pde
        names |= {pde.name, *pde.states, *pde.weights, *pde.norms, *pde.params}
        names |= {f for f, fn in pde.functions.items() if not fn.builtin}
    layers = [layer.function for layer in net.layers if hasattr(layer, "function")]
    names |= {fn.name for fn in layers if not fn.builtin}
    names |= set(re.findall(r"\bstencil\s+(\w+)", text))  # declared, not builtin (lap)
    return sorted(names)


def code_names(source: str) -> set[str]:
    """Every identifier a piece of generated code mentions."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
    return found


RUNTIME = set().union(
    *(
        code_names(code)
        for code in (runtime.CONV_WEIGHT, runtime.TVNORM, runtime.NORM_BOUND, runtime.STENCIL)
    ),
    code_names(runtime.MULTIGRID),
    code_names(runtime.SOLVERS),
    code_names(runtime.REVERSIBLE),
)


def run(text: str, reversible: bool) -> tuple[str, list[torch.Tensor]]:
    checked = check_text(text, "spec.pde")
    gen = generate(checked.network, checked.analysis, reversible=reversible)
    module = build_module(gen.source, gen.class_name)
    set_weights(module)
    x = torch.randn((2, *checked.network.input.shape), generator=torch.Generator().manual_seed(3))
    if not reversible:
        with torch.no_grad():
            return gen.source, [module.eval()(x)]
    x.requires_grad_(True)
    out = module.train()(x)
    out.square().sum().backward()
    return gen.source, [out.detach(), x.grad]


@functools.cache
def original(case: str) -> tuple[list[str], list[str], list[torch.Tensor], bool]:
    text = strip_comments(CASES[case])
    reversible = bool(re.search(r"by (leapfrog|verlet)", text))
    source, outputs = run(text, reversible)
    # not a word the spec already uses: renaming `lambda` to a flux's argument `s` is
    # capture in the spec itself (the flux then reads its argument), not in the code
    used = set(re.findall(r"\b\w+\b", text))
    pool = sorted((code_names(source) | RUNTIME) - set(keyword.kwlist) - used)
    return spec_names(text), pool, outputs, reversible


def rename(text: str, mapping: dict[str, str]) -> str:
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, mapping)) + r")(?!\w)")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


@pytest.mark.parametrize("case", sorted(CASES))
@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=st.data())
def test_renaming_spec_names_changes_nothing(case, data):
    torch.set_num_threads(1)
    names, pool, expected, reversible = original(case)
    targets = data.draw(
        st.lists(st.sampled_from(pool), min_size=len(names), max_size=len(names), unique=True)
    )
    mapping = dict(zip(names, targets, strict=True))
    text = rename(strip_comments(CASES[case]), mapping)
    try:
        _, outputs = run(text, reversible)
    except SpecError:
        assume(False)  # a name the language refuses in that place: not a valid rename
    for got, want in zip(outputs, expected, strict=True):
        assert torch.equal(got, want), mapping


def test_names_the_issue_found_capturing():
    """Issue 19's cases: `explicit` and `alpha` under fsi, `g`, `v`, `d` under the
    implicit solvers, `tau` under fed, a weight `g`, a function `reversible_steps`."""
    cases = [
        ("fsi-unfrozen", {"u": "explicit"}),
        ("fsi-unfrozen", {"u": "alpha"}),
        ("alt_2023/fsi.pde", {"u": "explicit", "K": "alpha"}),
        ("implicit-jacobi", {"u": "g", "K": "v", "phi": "d"}),
        ("implicit-fixed-point", {"u": "v", "K": "g"}),
        ("alt_2023/implicit.pde", {"u": "g", "K": "v"}),
        ("alt_2023/multigrid.pde", {"u": "g", "K": "vcycle", "phi": "level"}),
        ("alt_2023/fed.pde", {"u": "tau", "K": "g"}),
    ]
    for case, mapping in cases:
        _, _, expected, reversible = original(case)
        _, outputs = run(rename(strip_comments(CASES[case]), mapping), reversible)
        assert all(torch.equal(a, b) for a, b in zip(outputs, expected, strict=True)), case


def test_the_written_module_attributes_hold_every_one_torch_has():
    """Generating code imports no torch (it runs beside torch's import), so nn.Module's
    attributes are written out; each of the installed torch's must be among them, or a
    spec name could shadow one."""
    from torch import nn

    from pde2net.codegen.names import module_attributes

    live = set(dir(nn.Module)) | set(vars(nn.Module()))
    assert live <= module_attributes(), sorted(live - module_attributes())
