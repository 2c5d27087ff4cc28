"""A fixed-seed subset of the fuzz run (scripts/fuzz.py runs 10,000+ inputs).

Every input ends in a report or a located error (tests/fuzz/harness.py is the oracle),
within 2 s of CPU time; a few go through the `pde2net` command, which must exit 0, 1 or 2
without a traceback. The hostile inputs below the random ones are the bugs the long run
found (each was a traceback, an internal error or a hang before it was fixed).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz import harness, strategies

FIXED = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module", autouse=True)
def _warm():
    harness.check("network warm { input vector(1)\n output identity }")  # builds the parser


def judged(text: str) -> harness.Outcome:
    outcome = harness.check(text)
    assert outcome.kind != "bug", f"{outcome.detail}\n--- input:\n{text}"
    return outcome


@settings(FIXED, max_examples=200)
@given(strategies.derivations())
def test_grammar_derivations(text):
    judged(text)


@settings(FIXED, max_examples=150)
@given(strategies.structured_specs())
def test_structured_specs(text):
    judged(text)


@settings(FIXED, max_examples=200)
@given(strategies.mutated_specs())
def test_mutated_bundled_specs(text):
    judged(text)


@settings(FIXED, max_examples=200)
@given(strategies.byte_inputs())
def test_bytes(data):
    outcome = harness.check_bytes(data)
    assert outcome.kind != "bug", f"{outcome.detail}\n--- input:\n{data!r}"


def test_some_accepted_specs_compile_and_run():
    """Accepted hostile specs also generate modules that import and run."""
    texts = [
        TEMPLATE.replace("phi", "print").replace("network net", "network torch"),
        TEMPLATE.replace("K", "nn").replace("u[c]", "self[c]").replace("u)", "self)"),
    ]
    for text in texts:
        assert harness.check(text).kind == "ok"
        outcome = harness.compile_and_run(text)
        assert outcome.kind == "ok", outcome.detail


TEMPLATE = """\
fn phi(s) = s / (1 + s^2)
pde block(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' phi(K u)
}
network net {
    input  image(3, 8, 8)
    conv(3x3, 3 -> 4)
    block(4) by euler(h = 0.5, steps = 2)
    output globalavgpool, linear(4 -> 2)
}
"""


def _spec(rhs: str = "-K' relu(K u)", top: str = "", scheme: str = "euler(h = 1, steps = 2)"):
    return f"""{top}
pde p(c) {{
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = {rhs}
}}
network n {{
    input image(3, 8, 8)
    conv(3x3, 3 -> 4), relu
    p(4) by {scheme}
    output globalavgpool, linear(4 -> 2)
}}
"""


def _stencil(
    rhs: str, extra: str = "", scheme: str = "euler(h = 0.1, steps = 2)", data="signal(1, 16)"
):
    return f"""pde d {{
    state u[1]
    grid  h = 1
    {extra}
    dt(u) = {rhs}
}}
network n {{
    input {data}
    d by {scheme}
    output identity
}}
"""


# What the long fuzz run found; each was a bug (traceback, internal error, hang) before.
FOUND = {
    # SymPy on hostile numbers: huge exact integers, overflowing floats, hanging evalf
    "nested powers": _spec(top="const a = ((((2^64)^64)^64)^64)^64"),
    "repeated products": _spec(top="const a = 1e300 * 1e300\nconst b = a * a * a"),
    "infinite step": _spec(scheme="euler(h = 1e300 * 1e300, steps = 2)"),
    "exp overflow": _spec(scheme="euler(h = exp(exp(exp(10))), steps = 2)"),
    "log of zero": _spec(top="const a = log(0)\nconst b = a + 1"),
    "complex step": _spec(scheme="euler(h = sqrt(-1), steps = 2)"),
    "complex positive param": _spec(
        rhs="-K' relu(K u) - b * u", top="", scheme="euler(h = 1)"
    ).replace("weight K", "param b = sqrt(-1) : learn, positive\n    weight K"),
    "undecidable zero": _spec(scheme="euler(h = sin(1)^2 + cos(1)^2 - 1)"),
    "tiny step": _stencil("-dx' f(dx u)", scheme="euler(h = 1e-300, steps = 3)").replace(
        "pde d", "fn f(x) = max(x, 0)\npde d"
    ),
    "huge stencil weight": _stencil("L u", "stencil L = [1e300 * 1e300, -2, 1]"),
    "stencil weight past float32": _stencil("L u", "stencil L = [1e200, -2, 1]"),
    "tiny grid": _stencil("lap u").replace("grid  h = 1", "grid  h = 1e-300"),
    # recursion and blow-up through functions
    "recursive function": "fn f(x) = f(x)\nconst a = f(1)\n" + TEMPLATE,
    "mutual recursion": "fn f(x) = g(x)\nfn g(x) = f(x)\n" + TEMPLATE.replace("phi(K u)", "f(K u)"),
    "exponential expansion": _spec(
        rhs="-K' f30(K u)",
        top="\n".join(
            ["fn f0(x) = sin(x)"]
            + [f"fn f{i}(x) = f{i - 1}(x) + f{i - 1}(x + 1)" for i in range(1, 31)]
        ),
    ),
    "deep composition": _spec(
        rhs="-K' f9(K u)",
        top="\n".join(
            ["fn f0(x) = sin(x)"] + [f"fn f{i}(x) = f{i - 1}(f{i - 1}(x))" for i in range(1, 10)]
        ),
    ),
    "long sum": _spec(top="const a = " + " + ".join(["1"] * 3000)),
    "deep negation": _spec(rhs="-" * 500 + "u"),
    "deep calls": _spec(rhs="relu(" * 300 + "u" + ")" * 300),
    # SymPy taking unbounded time on the analysis of a legal activation
    "exp of exp of exp": _spec(rhs="-K' f(K u)", top="fn f(x) = exp(exp(exp(x)))"),
    "clipped product": _spec(rhs="-K' f(K u)", top="fn f(x) = max(min(x, 1), -1) * abs(x)"),
    "odd power": _spec(rhs="-K' f(K u)", top="fn f(x) = tanh(x)^63 + x"),
    "tower": _spec(rhs="-K' f(K u)", top="fn f(x) = erf(atan(exp(sin(x)^3)))^5"),
    "high power": _spec(rhs="-K' f(K u)", top="fn f(x) = ((x^64)^64)^64"),
    "sigmoid flux": _stencil("-dx' sigmoid(dx u)"),
    "nine-point laplacian": _stencil(
        "L u", "stencil L = [[1, 1, 1], [1, -8, 1], [1, 1, 1]] / h^2", data="image(1, 16, 16)"
    ),
    # resources
    "billion channels": TEMPLATE.replace("3 -> 4", "3 -> 1000000000"),
    "trillion steps": _spec(scheme="euler(h = 1, steps = 1000000000000, shared = true)"),
    "fed steps": _stencil("lap u", scheme="fed(tau_max = 0.25, steps = 1000000000)"),
    "huge image": TEMPLATE.replace("image(3, 8, 8)", "image(3, 1000000, 1000000)"),
    "huge state": _spec().replace("state  u[c]", "state  u[10^300]"),
    # text
    "keyword as a layer": TEMPLATE.replace("block", "input"),
    "form feed line": TEMPLATE.replace("\n    conv", "\f\n    conv"),
    "terminal escape": TEMPLATE.replace("net {", "net \x1b[2J{"),
    "nul byte": TEMPLATE.replace("relu", "re\x00lu"),
    "cr only": TEMPLATE.replace("\n", "\r"),
    # non-real activations, and a zero flux (its step bound 2/(τ L ‖K‖²) was zoo)
    "complex activation": _spec(rhs="-K' f(K u)", top="fn f(x) = sqrt(-1 - x^2)"),
    "complex flux": _stencil("-dx' f(dx u)").replace("pde d", "flux f(x) = sqrt(-1 - x^2)\npde d"),
    "complex slope": _spec(rhs="-K' leaky_relu(K u, sqrt(-1))"),
    "zero flux": _stencil("-dx' f(dx u)").replace("pde d", "fn f(x) = 0\npde d"),
    # the sign of a coefficient with √π (erf's slope) in the exact von Neumann decision
    "transcendental sign": (
        "flux f(x) = erf(x)\npde N(c) {\n    state u[1]\n    grid a = 0.25\n"
        "    dt(u) = -dx' f(dx u)\n}\nnetwork net {\n    input signal(1, 16)\n"
        "    N(1) by euler(h = 1e-3, steps = 1, shared = true, enforce = true)\n"
        "    output identity\n}\n"
    ),
}


@pytest.mark.parametrize("text", FOUND.values(), ids=FOUND.keys())
def test_hostile_inputs_found_by_fuzzing(text):
    judged(text)


@pytest.mark.parametrize(
    "data",
    [
        FOUND["exp of exp of exp"].encode(),
        FOUND["deep calls"].encode(),
        FOUND["billion channels"].encode(),
        FOUND["terminal escape"].encode(),
        b"\xff\xfe\x00n\x00e\x00t",
        b"\xef\xbb\xbf" + TEMPLATE.encode(),
        b"",
    ],
    ids=["slow analysis", "deep", "budget", "escape", "utf-16", "bom", "empty"],
)
def test_through_the_command(data):
    outcome = harness.run_cli(data)
    assert outcome.kind != "bug", outcome.detail


@pytest.mark.parametrize(
    "args",
    [
        ["--set", "h=1e999"],
        ["--set", "h=nan"],
        ["--set", "h=-inf"],
        ["--set", "h==2"],
        ["--set", "=2"],
        ["--set", "h=1e300", "--set", "steps=1e12"],
        ["--set", "h=\x1b[2J"],
        ["--max-parameters", "-1"],
        ["--max-steps", "1e99"],
    ],
    ids=lambda a: " ".join(a).encode("unicode_escape").decode(),
)
def test_hostile_command_lines(args):
    spec = "const h = 1\nconst steps = 2\n" + TEMPLATE.replace(
        "h = 0.5, steps = 2", "h = h, steps = steps"
    )
    outcome = harness.run_cli(spec.encode(), *args)
    assert outcome.kind == "error", outcome.detail


@settings(FIXED, max_examples=40)
@given(strategies.hostile_number_specs())
def test_hostile_numbers(text):
    if judged(text).kind == "ok":
        compiled = harness.compile_and_run(text)
        assert compiled.kind != "bug", f"{compiled.detail}\n--- input:\n{text}"


@settings(FIXED, max_examples=40)
@given(strategies.renamed_specs())
def test_renamed_bundled_specs(text):
    judged(text)


@settings(FIXED, max_examples=40)
@given(strategies.resource_specs())
def test_resource_shapes_are_refused_before_the_analysis(text):
    outcome = harness.check(text, budget=True)
    assert outcome.kind != "bug", f"{outcome.detail}\n--- input:\n{text[:2000]}"


@settings(FIXED, max_examples=40)
@given(strategies.train_options())
def test_abused_train_options(args):
    outcome = harness.train_cli(args)
    assert outcome.kind != "bug", f"{outcome.detail}\n--- options: {args!r}"
