"""Hypothesis strategies for hostile specs: from the grammar, structured, mutated, bytes.

- `derivations()`: random derivations of grammars/pde.lark itself (every rule, every
  terminal), so syntactically valid programs that mean anything or nothing;
- `structured_specs()`: specs shaped like real ones (constants, functions, pdes, a
  network), with hostile leaves: Python keywords and builtins, names the generated code
  uses, dunders, huge and tiny numbers, deep expressions, big channel counts;
- `mutated_specs()`: the bundled specs with token-level mutations (deleted, duplicated,
  swapped tokens; hostile names, numbers and characters spliced in; truncation);
- `byte_inputs()`: random bytes, and the bundled specs' bytes flipped, cut, re-encoded.
"""

from __future__ import annotations

import functools
import re

from hypothesis import strategies as st

from tests.fuzz.harness import BUNDLED

# -- hostile leaves ---------------------------------------------------------------------

# fmt: off
PYTHON_NAMES = [
    'torch', 'nn', 'F', 'math', 'self', 'input', 'output', 'x', 'j', 'forward',
    '__init__', '__class__', '__dict__', '__import__', '__builtins__', '_take', '_',
    'class', 'def', 'return', 'import', 'lambda', 'None', 'True', 'False', 'await',
    'match', 'case', 'type', 'print', 'exec', 'eval', 'open', 'compile', 'globals',
    'sum', 'super', 'object', 'id', 'len', 'range', 'INPUT_SHAPE', 'conv_weight',
    'TVNorm', 'NormBound', 'pad', 'stencil', 'stencil_adjoint', 'training',
    'parameters', 'state_dict', 'register_buffer', 'annotations', 'taus', 'operator',
    'f', 'f_u', 'K_bias', 'K_bound', 'lambda_raw', 'Tiny', 'Block1', 'Net', 'os',
    'sys', 'subprocess',
]
SPEC_NAMES = [
    'u', 'v', 'y', 'z', 'K', 'K1', 'K2', 'N', 'c', 'h', 'tau', 'steps', 's', 'phi',
    'sigma', 'relu', 'tanh', 'sigmoid', 'softplus', 'leaky_relu', 'identity', 'lap',
    'dx', 'dy', 'grad', 'div', 'exp', 'log', 'sqrt', 'abs', 'max', 'min', 'erf',
    'atan', 'euler', 'leapfrog', 'verlet', 'fed', 'fsi', 'implicit', 'multigrid',
    'conv', 'batchnorm', 'linear', 'avgpool', 'maxpool', 'globalavgpool', 'flatten',
    'image', 'signal', 'vector', 'true', 'false', 'pde', 'network', 'state', 'weight',
    'norm', 'param', 'grid', 'stencil', 'const', 'fn', 'flux', 'dt', 'dtt', 'by',
]
LOOKALIKES = [
    'К', 'ｕ', 'ᴋ', 'λ', 'σ', 'u\u200b', 'Κ', 'ꓘ', 'ﬁ', 'µ',
]
NUMBERS = [
    '0', '1', '2', '3', '4', '8', '16', '0.5', '.5', '1.', '1e-3', '2.5E+2', '1e300',
    '1e-300', '1e301', '1e999', '1e-999', '9999999999999999999999999999999999999999',
    '0.0000000000000000000000000000001', '00', '007', '1e+0', '64', '65', '1000000000',
    '1e9', '1e12', '1e13', '3.14159',
]
WEIRD_TEXT = [
    '"', "'", '"""', "'''", '\\', '\\n', '\n', '\r\n', '\r', '\t', '\x00', '\x0c',
    '\ufeff', '#', '//', '/*', '{', '}', '(', ')', '[', ']', '->', '=>', '**', '^',
    '`', '$', '@', '!', '?', '<', '>', '|', '&', '%', '~', ',', ';', ':', '..',
    '\u2028', '😀', 'é',
]
# fmt: on

names = st.one_of(
    st.sampled_from(SPEC_NAMES),
    st.sampled_from(PYTHON_NAMES),
    st.from_regex(r"\A[A-Za-z_][A-Za-z_0-9]{0,12}\Z"),
    st.sampled_from(["x" * 200, "_" * 3, "__", "a" + "_" * 50]),
)
hostile_names = st.one_of(names, st.sampled_from(LOOKALIKES))
numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(0, 10**6).map(str),
    st.from_regex(r"\A([0-9]{1,4}(\.[0-9]{0,3})?|\.[0-9]{1,3})([eE][+-]?[0-9]{1,3})?\Z"),
)


# -- expressions ----------------------------------------------------------------------

SCALAR_FUNCTIONS = ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "atan", "erf"]


def expressions(atoms: st.SearchStrategy[str], max_leaves: int = 12) -> st.SearchStrategy[str]:
    """Expression text over `atoms`: sums, products, powers, calls, juxtapositions."""

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(inner, st.sampled_from([" + ", " - ", " * ", " / ", "^"]), inner)
        return st.one_of(
            binary.map("".join),
            inner.map(lambda e: f"-{e}"),
            inner.map(lambda e: f"({e})"),
            st.tuples(st.sampled_from([*SCALAR_FUNCTIONS, "max", "min"]), inner).map(
                lambda p: f"{p[0]}({p[1]})"
            ),
            st.tuples(inner, inner).map(lambda p: f"max({p[0]}, {p[1]})"),
            st.tuples(names, inner).map(lambda p: f"{p[0]}({p[1]})"),
            st.tuples(names, st.booleans(), inner).map(
                lambda p: f"{p[0]}{chr(39) if p[1] else ''} {p[2]}"
            ),
        )

    return st.recursive(atoms, extend, max_leaves=max_leaves)


def scalar_atoms(variables: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(numbers, st.sampled_from(variables or ["1"]), names)


deep = st.integers(1, 400).flatmap(
    lambda n: st.sampled_from(
        ["(" * n + "u" + ")" * n, "-" * n + "u", "relu(" * n + "u" + ")" * n, " + ".join(["u"] * n)]
    )
)


# -- structured specs ---------------------------------------------------------------


def mostly(valid: st.SearchStrategy, hostile: st.SearchStrategy, odds: int = 4):
    """`valid` odds times out of odds + 1, else `hostile`."""
    return st.integers(0, odds).flatmap(lambda i: hostile if i == 0 else valid)


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, item in enumerate(items):
        out.append(item if item not in seen else f"{item}_{i}")
        seen.add(out[-1])
    return out


SCHEMES = [
    "euler(h = {h}, steps = {s})",
    "euler(h = {h}, steps = {s}, shared = true, enforce = true)",
    "leapfrog(h = {h}, steps = {s})",
    "verlet(h = {h}, steps = {s})",
    "fed(tau_max = {h}, steps = {s})",
    "fsi(tau = {h}, steps = {s})",
    "implicit(tau = {h}, iterations = {s})",
    "multigrid(tau = {h}, levels = {s})",
]
BODIES = [
    "x / (1 + x^2)",
    "tanh(x)",
    "x - 2*tanh(x)",
    "max(x, 0)",
    "min(max(x, -1), 1)",
    "x / (1 + exp(-x))",
    "log(1 + exp(x))",
    "atan(x)",
    "erf(x)",
    "x^3",
    "abs(x)",
    "sqrt(1 + x^2)",
    "exp(-x^2) * x",
]
RHS = [
    "-{K}' {act}({K} {u})",
    "-{K}' {act}({N}({K} {u}))",
    "{K}' {act}({K} {u})",
    "-{K}' {act}({K} {u}) - {num} * {u}",
    "lap {u}",
    "-dx' {act}(dx {u})",
    "{act}({u})",
    "-{u}^3",
]


@st.composite
def structured_specs(draw: st.DrawFn) -> str:
    """A spec with the layout of the bundled ones, mostly valid, with hostile details:
    names the generated code uses, keywords, huge numbers, deep expressions."""
    small = st.sampled_from(["1", "2", "0.5", "0.1", "3", "0.25", "1e-3", "4"])
    name_of = lambda valid: mostly(st.just(valid), hostile_names, odds=5)  # noqa: E731
    const, fn, x, pde, u, k, n, g, lam, net = _unique(
        [draw(name_of(v)) for v in ("a", "f", "x", "p", "u", "K", "N", "h", "lam", "net")]
    )
    lines = []
    if draw(st.booleans()):
        value = draw(mostly(small, expressions(scalar_atoms([]), max_leaves=6)))
        lines.append(f"const {const} = {value}")
    has_fn = draw(st.booleans())
    if has_fn:
        body = draw(
            mostly(st.sampled_from(BODIES), expressions(scalar_atoms(["x"]), max_leaves=8), 3)
        )
        keyword = draw(st.sampled_from(["fn", "flux"]))
        lines.append(f"{keyword} {fn}({x}) = " + re.sub(r"\bx\b", x, body))
    acts = ["relu", "tanh", "sigmoid", "softplus", "identity", "leaky_relu"]
    act = draw(st.sampled_from([fn] * 3 + acts if has_fn else acts))
    rhs = draw(mostly(st.sampled_from(RHS), deep.map(lambda e: e.replace("u", "{u}")), 8))
    rhs = rhs.format(K=k, N=n, u=u, act=act, num=draw(mostly(small, numbers)))
    stencils = any(op in rhs for op in ("lap", "dx"))
    kernel = draw(
        mostly(
            st.sampled_from(["3x3", "1x1", "5x5"]),
            st.sampled_from(["3", "2x2", "101x101", "3x3x3"]),
        )
    )
    c = draw(mostly(st.just("c"), st.sampled_from(["c/2", "2*c", "c+1", "1", "n"])))
    decls = [f"state {u}[{c if not stencils else '1'}]"]
    if "{K}".replace("{K}", k) in rhs and not stencils:
        decls.append(f"weight {k} : conv({kernel}, {c} -> {c})")
    if n in rhs:
        decls.append(
            f"norm {n} : {draw(st.sampled_from(['tvnorm', 'batchnorm', 'instancenorm']))}({c})"
        )
    if stencils:
        decls.append(f"grid {g} = {draw(mostly(small, numbers))}")
    if draw(st.integers(0, 3)) == 0:
        decls.append(f"param {lam} = {draw(mostly(small, numbers))} : learn, positive")
    if draw(st.integers(0, 5)) == 0:
        decls.append(f"stencil S = [1, -{draw(small)}, 1]")
    lines.append(f"pde {pde}(c) {{\n    " + "\n    ".join(decls) + f"\n    dt({u}) = {rhs}\n}}")
    width = draw(
        mostly(
            st.sampled_from(["4", "8", "2"]),
            st.sampled_from(["1000000000", "0", "-4", "1e9", "3", const]),
        )
    )
    steps = draw(
        mostly(st.sampled_from(["1", "2", "3"]), st.sampled_from(["100000", "1e12", "0", "200000"]))
    )
    scheme = draw(
        mostly(
            st.sampled_from(SCHEMES[:2]),
            st.sampled_from([*SCHEMES[2:], "eulr(h = {h})", "euler"]),
            2,
        )
    )
    scheme = scheme.format(h=draw(mostly(small, numbers)), s=steps)
    if stencils:
        data = draw(
            mostly(
                st.just("signal(1, 16)"),
                st.sampled_from(["image(1, 8, 8)", "signal(1, 1000000000000)"]),
            )
        )
        layers = [f"{pde}(1) by {scheme}"]
        output = "identity"
    else:
        data = draw(
            mostly(
                st.just("image(3, 8, 8)"),
                st.sampled_from(["signal(3, 16)", "image(3, 1000000, 1000000)", "vector(3)"]),
            )
        )
        layers = [f"conv(3x3, 3 -> {width})", f"{pde}({width}) by {scheme}"]
        output = f"globalavgpool, linear({width} -> 10)"
    if draw(st.integers(0, 3)) == 0:
        layers.insert(
            1,
            draw(
                st.sampled_from(
                    ["avgpool(2)", "maxpool(2)", "batchnorm", "relu", *([fn] if has_fn else [])]
                )
            ),
        )
    lines.append(
        f"network {net} {{\n    input {data}\n    "
        + ", ".join(layers)
        + f"\n    output {output}\n}}"
    )
    if draw(st.integers(0, 4)) == 0:
        lines = draw(st.permutations(lines))
    return "\n".join(lines) + "\n"


# -- grammar derivations -----------------------------------------------------------------


@functools.cache
def _grammar() -> tuple[dict[str, list[list[tuple[bool, str]]]], dict[str, object]]:
    """The compiled grammar: nonterminal -> expansions ((is_terminal, name), ...)."""
    from pde2net.lang.parser import _parser

    parser = _parser()
    rules: dict[str, list[list[tuple[bool, str]]]] = {}
    for rule in parser.rules:
        expansion = [(sym.is_term, sym.name) for sym in rule.expansion]
        rules.setdefault(rule.origin.name, []).append(expansion)
    terminals = {t.name: t.pattern for t in parser.terminals}
    return rules, terminals


@functools.cache
def _min_depth() -> dict[str, int]:
    rules, _ = _grammar()
    depth = {name: 10**9 for name in rules}
    changed = True
    while changed:
        changed = False
        for name, expansions in rules.items():
            for expansion in expansions:
                d = 1 + max((depth[s] for t, s in expansion if not t), default=0)
                if d < depth[name]:
                    depth[name], changed = d, True
    return depth


_TERMINALS = {
    "NAME": names,
    "NUMBER": numbers,
    "KERNEL": st.sampled_from(["3x3", "1x1", "3x3x3", "0x2", "99x99"]),
    "_NL": st.sampled_from(["\n", ";", "\n\n", " # comment\n"]),
    "FN_KW": st.sampled_from(["fn", "flux"]),
    "DECL_KW": st.sampled_from(["state", "weight", "norm", "param", "grid", "stencil"]),
    "DERIV": st.sampled_from(["dt", "dtt"]),
}


@st.composite
def derivations(draw: st.DrawFn, max_depth: int = 14) -> str:
    """A random derivation of the grammar from `start`, tokens joined by spaces."""
    rules, terminals = _grammar()
    min_depth = _min_depth()
    out: list[str] = []
    stack: list[tuple[bool, str, int]] = [(False, "start", 0)]
    while stack:
        is_term, name, depth = stack.pop()
        if is_term:
            if name in _TERMINALS:
                out.append(draw(_TERMINALS[name]))
            else:
                out.append(str(terminals[name].value))  # a literal: "{", "->", "pde"
            continue
        options = rules[name]
        if depth >= max_depth:  # finish: only expansions that end soonest
            best = min(max((min_depth[s] for t, s in e if not t), default=0) for e in options)
            options = [
                e for e in options if max((min_depth[s] for t, s in e if not t), default=0) == best
            ]
        expansion = draw(st.sampled_from(options))
        stack.extend((t, s, depth + 1) for t, s in reversed(expansion))
    return " ".join(out)


# -- mutations of the bundled specs ---------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|[0-9.]+(?:[eE][+-]?[0-9]+)?|\s+|.", re.S)


@functools.cache
def _bundled_texts() -> tuple[str, ...]:
    return tuple(p.read_text(encoding="utf-8") for p in BUNDLED)


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """A bundled spec with 1 to 6 token-level mutations."""
    texts = _bundled_texts()
    tokens = _TOKEN.findall(draw(st.sampled_from(texts)))
    for _ in range(draw(st.integers(1, 6))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.integers(0, 9))
        word = tokens[i]
        if op == 0:
            del tokens[i]
        elif op == 1:
            tokens.insert(i, word)
        elif op == 2 and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif op == 3 and re.fullmatch(r"[A-Za-z_]\w*", word):
            tokens[i] = draw(hostile_names)
        elif op == 4 and re.fullmatch(r"[0-9.]+([eE][+-]?[0-9]+)?", word):
            tokens[i] = draw(numbers)
        elif op == 5:
            tokens.insert(i, draw(st.sampled_from(WEIRD_TEXT)))
        elif op == 6:
            tokens = tokens[:i]  # truncated
        elif op == 7:
            other = _TOKEN.findall(draw(st.sampled_from(texts)))
            j = draw(st.integers(0, len(other)))
            tokens = tokens[:i] + other[j:]  # spliced
        elif op == 8:
            # every use of a name renamed to a hostile one
            if re.fullmatch(r"[A-Za-z_]\w*", word):
                new = draw(hostile_names)
                tokens = [new if t == word else t for t in tokens]
        else:
            tokens.insert(i, draw(deep) if draw(st.booleans()) else draw(numbers))
    return "".join(tokens)


# -- bytes ---------------------------------------------------------------------------------


@st.composite
def byte_inputs(draw: st.DrawFn) -> bytes:
    """Random bytes, or a bundled spec's bytes flipped, cut, re-encoded."""
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return draw(st.binary(max_size=600))
    text = draw(st.sampled_from(_bundled_texts()))
    if choice == 1:
        encoding = draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "utf-8-sig", "cp1252"]))
        return text.replace("#", "# é").encode(encoding, errors="replace")
    data = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.integers(0, 3))
        if op == 0:
            data[i] = draw(st.integers(0, 255))
        elif op == 1:
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == 2:
            del data[i : i + draw(st.integers(1, 20))]
        else:
            data = data.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b"\x0b", b"\x85"])))
    return bytes(data)


# -- hostile numbers, renamings, resource shapes, train options -------------------------

# fmt: off
HUGE_NUMBERS = [
    '1e308', '1e-308', '1e309', '1e-309', '1.7976931348623157e308', '3.4e38', '3.5e38',
    '1e-45', '1e-46', '1e300', '1e-300', '1e39', '1e' + '9' * 4400, '1e-' + '9' * 4400,
    '9' * 4400, '0.' + '0' * 400 + '1', '1' + '0' * 400, '10000000000000000.5',
    '4294967297', '18446744073709551617',
]
NUMBER_BODIES = [
    '{n} * x', 'x * {n}', 'min(x, {n})', 'max(x, -{n})', 'leaky_relu({n})', '{n}',
    'x / {n}', 'x * exp({n})', 'x * exp(700) * exp(700)', '3 / 10^400 * x',
    'x + {n} - {n}', 'tanh({n} * x)', 'x^{n}', '{n}^x', 'x * 10^{n}',
]
# fmt: on

NUMBER_TEMPLATE = """\
const c = {c}
fn e(x) = {body}
pde heat(k) {{
    state u[1]
    grid h
    weight K : conv({kernel}, 1 -> 1)
    dt(u) = lap u - {coef} * e(u)
}}
const h = 1
network {name} {{
    input signal(1, 16)
    heat({arg}) by euler(h = {h}, steps = 2)
    output identity
}}
"""


@st.composite
def hostile_number_specs(draw: st.DrawFn) -> str:
    """A small spec with hostile numbers in a function body, a coefficient, a kernel
    size, a pde argument, a constant and a step size: overflow, underflow, 4,400-digit
    exponents, float32's limits."""
    number = st.one_of(st.sampled_from(HUGE_NUMBERS), numbers)
    body = draw(st.sampled_from(NUMBER_BODIES)).replace("{n}", draw(number))
    safe = st.sampled_from(["1e-3", "0.5", "1"])
    return NUMBER_TEMPLATE.format(
        c=draw(mostly(safe, number)),
        body=body,
        kernel=draw(mostly(st.just("3"), number, odds=6)),
        coef=draw(mostly(safe, number)),
        # a pde argument reaches the generated class name, which code generation has yet
        # to sanitise (issue 19, item 1: `Heat1e+300`, `Heat1e+16` do not parse): only
        # arguments that print without an exponent here
        arg=draw(mostly(st.just("1"), st.sampled_from(["0", "2", "0.5", "4294967297"]))),
        h=draw(mostly(st.just("0.25"), number, odds=6)),
        name=draw(mostly(st.just("net"), st.sampled_from(["n" * 200, "n" * 201, "n" * 5000]))),
    )


def _identifiers(text: str) -> list[str]:
    return sorted(set(re.findall(r"(?<![\w.])[A-Za-z_]\w*", text)))


@st.composite
def renamed_specs(draw: st.DrawFn) -> str:
    """A bundled spec with one to three of its names renamed consistently, to Python's
    names, the generated module's, the language's own words, or long ones."""
    text = draw(st.sampled_from(_bundled_texts()))
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    for _ in range(draw(st.integers(1, 3))):
        old = draw(st.sampled_from(_identifiers(code)))
        new = draw(hostile_names)
        code = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, code)
    return code


RESOURCE_TEMPLATE = """\
pde heat(c) {{
    state u[c]
    grid h
    dt(u) = lap u
}}
pde parabolic(c) {{
    state  u[c]
    weight K : conv({kernel}, c -> c)
    dt(u) = -K' relu(K u)
}}
const h = 1
network {name} {{
    input {input}
    conv({kernel}, 1 -> {width}), relu
{blocks}
    output identity
}}
"""


@st.composite
def resource_specs(draw: st.DrawFn) -> str:
    """Specs shaped to cost too much: many steps, large inputs, many blocks, wide
    layers, long names. Compile budgets refuse them before anything is built."""
    dims = draw(st.integers(1, 2))
    size = draw(st.sampled_from([8, 16, 64, 1024, 2048, 65536, 10**6]))
    if dims == 2:
        size = min(size, 4096)
    width = draw(st.sampled_from([1, 2, 16, 64, 512, 4096]))
    steps = draw(st.sampled_from([1, 2, 10, 200, 1000, 2000, 10**5, 10**9]))
    # 1,500 one-step blocks pass the node budget; lowering costs ~2 ms a block, so 2,000
    # would sit at the oracle's 4 s of CPU time on a loaded machine
    count = draw(st.sampled_from([1, 2, 5, 50, 1500]))
    kind = draw(st.sampled_from(["heat", "parabolic"]))
    scheme = draw(
        st.sampled_from(["euler(h = 0.1, steps = {s})", "leapfrog(h = 0.1, steps = {s})"])
    )
    block = f"    {kind}({width}) by {scheme.format(s=steps)}"
    return RESOURCE_TEMPLATE.format(
        kernel="x".join(["3"] * dims),
        name=draw(st.sampled_from(["net", "n" * 200, "n" * 201, "n" * 100_000])),
        input=f"image(1, {size}, {size})" if dims == 2 else f"signal(1, {size})",
        width=width,
        blocks="\n".join([block] * count),
    )


TRAIN_OPTIONS = [
    "--lr", "--momentum", "--weight-decay", "--smoothness", "--val-fraction", "--epochs",
    "--batch-size", "--seed", "--workers", "--nproc", "--stop-after", "--optimizer",
    "--schedule", "--amp", "--augment", "--device", "--max-nodes", "--max-operations",
    "--max-compile-memory", "--max-steps", "--set",
]  # fmt: skip
TRAIN_VALUES = [
    "nan", "inf", "-inf", "+inf", "NaN", "1e400", "-1e400", "1e30", "-1", "0", "1", "0.5",
    "1.0000001", "0x10", "", " ", "1e", "abc", "10" * 30, "-" + "9" * 30, "2**63",
    "9223372036854775808", "1_000", "steps=1e400", "steps=nan", "h=inf", "=", "1e-400",
    "\x00", "é",
]  # fmt: skip


@st.composite
def train_options(draw: st.DrawFn) -> list[str]:
    """One to three abused `pde2net train` options."""
    args: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        args += [draw(st.sampled_from(TRAIN_OPTIONS)), draw(st.sampled_from(TRAIN_VALUES))]
    return args
