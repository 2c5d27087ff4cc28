"""The lowering stage on its own: syntax tree -> IR, with `--set` overrides."""

from __future__ import annotations

import re

import pytest
import sympy

from pde2net import ir
from pde2net.ir import Act, Conv, ConvT, Norm
from pde2net.lang.errors import SpecError
from pde2net.lang.lower import lower
from pde2net.lang.parser import parse
from tests.conftest import ALL_SPECS, SPECS

RH = SPECS / "ruthotto_haber_2018"
CIFAR10 = RH / "parabolic_cifar10.pde"


def lowered(path, overrides=None) -> ir.Network:
    text = path.read_text(encoding="utf-8")
    return lower(parse(text, str(path)), str(path), overrides)


def lowered_text(text: str, overrides=None) -> ir.Network:
    return lower(parse(text, "t.pde"), "t.pde", overrides)


@pytest.fixture(scope="module")
def cifar10() -> ir.Network:
    return lowered(CIFAR10)


def test_layer_sequence(cifar10):
    kinds = [type(layer).__name__ for layer in cifar10.layers]
    unit = ["ConvLayer", "BatchNormLayer", "ActivationLayer"]
    assert kinds == [
        *unit,
        "Block",
        *unit,
        "PoolLayer",
        "Block",
        *unit,
        "PoolLayer",
        "Block",
        *unit,
        "GlobalPoolLayer",
        "LinearLayer",
    ]


def test_layer_fields(cifar10):
    convs = [layer for layer in cifar10.layers if isinstance(layer, ir.ConvLayer)]
    assert [(c.kernel, c.c_in, c.c_out) for c in convs] == [
        ((3, 3), 3, 32),
        ((1, 1), 32, 64),
        ((1, 1), 64, 112),
        ((1, 1), 112, 112),
    ]
    assert all(not c.bias and c.stride == 1 for c in convs)
    norms = [layer.channels for layer in cifar10.layers if isinstance(layer, ir.BatchNormLayer)]
    assert norms == [32, 64, 112, 112]
    acts = [layer for layer in cifar10.layers if isinstance(layer, ir.ActivationLayer)]
    assert {a.function.name for a in acts} == {"relu"}
    pools = [layer for layer in cifar10.layers if isinstance(layer, ir.PoolLayer)]
    assert [(p.kind, p.size, p.dims) for p in pools] == [("avg", 2, 2), ("avg", 2, 2)]
    (gap,) = [layer for layer in cifar10.layers if isinstance(layer, ir.GlobalPoolLayer)]
    assert (gap.kind, gap.dims) == ("avg", 2)
    linear = cifar10.layers[-1]
    assert isinstance(linear, ir.LinearLayer)
    assert (linear.c_in, linear.c_out, linear.bias) == (112, 10, True)


def test_shapes(cifar10):
    assert cifar10.name == "parabolic_cifar10"
    assert cifar10.input.kind == "image"
    assert cifar10.input.shape == (3, 32, 32)
    assert cifar10.input.dims == 2
    assert cifar10.output_shape == (10,)
    assert [b.shape for b in cifar10.blocks] == [(32, 32, 32), (64, 16, 16), (112, 8, 8)]
    assert cifar10.spatial_dynamic


def test_blocks(cifar10):
    blocks = cifar10.blocks
    assert len(blocks) == 3
    assert [b.index for b in blocks] == [1, 2, 3]
    for block, c in zip(blocks, (32, 64, 112), strict=True):
        assert block.pde.name == "parabolic"
        assert block.pde.args == {"c": c}
        assert block.pde.signature == f"parabolic(c = {c})"
        assert block.pde.dims == 2
        assert block.scheme.name == "euler"
        assert block.scheme.args["h"] == 1
        assert block.scheme.args["steps"] == 3
        assert block.scheme.given == ("h", "steps")
        assert block.scheme.text == "euler(h = 1, steps = 3)"
        assert block.steps == 3 and not block.shared and block.copies == 3
        assert list(block.pde.states) == ["u"]
        assert block.pde.states["u"].channels == c
    assert [b.loc.line for b in blocks] == [19, 21, 23]


def test_weight_and_norm_declarations(cifar10):
    for block, c in zip(cifar10.blocks, (32, 64, 112), strict=True):
        (weight,) = block.pde.weights.values()
        assert weight.name == "K"
        assert weight.kernel == (3, 3)
        assert (weight.c_in, weight.c_out) == (c, c)
        assert weight.bias is False
        assert weight.dims == 2
        assert weight.parameters == c * c * 9
        assert (weight.loc.line, weight.loc.column) == (8, 12)
        (norm,) = block.pde.norms.values()
        assert norm.name == "N"
        assert norm.kind == "tvnorm"
        assert norm.channels == c
        assert norm.eps == pytest.approx(1e-3, rel=0, abs=1e-15)
        assert norm.affine is True
        assert norm.parameters == 2 * c
        assert norm.loc.line == 9
        assert block.parameters == 3 * (c * c * 9 + 2 * c)


def test_equation_rhs_is_the_expected_sympy_tree(cifar10):
    K, N, u, relu = (sympy.Symbol(s) for s in ("K", "N", "u", "relu"))
    expected = -ConvT(K, Act(relu, Norm(N, Conv(K, u))))
    for block in cifar10.blocks:
        (eq,) = block.pde.equations
        assert eq.order == 1
        assert eq.state == "u"
        assert eq.text == "-K' relu(N(K u))"
        assert eq.rhs == expected
        # the same tree, structurally: the outer node is -1 * ConvT(...)
        coeff, term = eq.rhs.as_coeff_Mul()
        assert coeff == -1
        assert isinstance(term, ConvT) and term.op == "K"
        assert isinstance(term.operand, Act) and term.operand.op == "relu"
        assert isinstance(term.operand.operand, Norm)
        assert isinstance(term.operand.operand.operand, Conv)
        assert term.operand.operand.operand.operand == u
        # a different tree is not equal: Conv vs ConvT is kept apart
        assert eq.rhs != -Conv(K, Act(relu, Norm(N, Conv(K, u))))
        relu_fn = block.pde.functions["relu"]
        assert relu_fn.builtin and relu_fn.torch == "torch.relu"


def test_constants_recorded(cifar10):
    assert cifar10.constants == {"h": 1, "steps": 3}


@pytest.mark.parametrize(
    ("name", "count"),
    [("parabolic_cifar10", 502570), ("parabolic_cifar100", 652484), ("parabolic_stl10", 618554)],
)
def test_paper_parameter_counts(name, count):
    """Table 1 of Ruthotto & Haber (2018), counted from the IR alone."""
    assert lowered(RH / f"{name}.pde").parameters == count


DECLARED = [p for p in ALL_SPECS if re.search(r"\(Table 1: [0-9,]+ parameters\)", p.read_text())]


@pytest.mark.parametrize("spec", DECLARED, ids=lambda p: p.stem)
def test_parameter_count_stated_in_spec_header(spec):
    """Specs that quote a parameter count in their header comment match it."""
    stated = re.search(r"\(Table 1: ([0-9,]+) parameters\)", spec.read_text()).group(1)
    assert lowered(spec).parameters == int(stated.replace(",", ""))


# -- --set overrides ------------------------------------------------------------------------


def test_set_steps_changes_blocks_and_parameters(cifar10):
    five = lowered(CIFAR10, {"steps": "5"})
    assert [b.steps for b in five.blocks] == [5, 5, 5]
    assert [b.copies for b in five.blocks] == [5, 5, 5]
    assert five.constants["steps"] == 5
    per_step = sum(c * c * 9 + 2 * c for c in (32, 64, 112))
    assert five.parameters == 502570 + 2 * per_step == 821354
    # the original lowering is untouched
    assert cifar10.parameters == 502570


def test_set_accepts_numbers_and_strings():
    assert lowered(CIFAR10, {"steps": 2}).blocks[0].steps == 2
    half = lowered(CIFAR10, {"h": "0.5"})
    assert [b.scheme.args["h"] for b in half.blocks] == [0.5, 0.5, 0.5]
    assert half.constants["h"] == 0.5
    assert half.blocks[0].scheme.text == "euler(h = 0.5, steps = 3)"


def test_set_unknown_constant_is_a_located_error():
    with pytest.raises(SpecError) as info:
        lowered(CIFAR10, {"stpes": "4"})
    err = info.value
    assert "stpes" in err.message and "did you mean 'steps'" in err.message
    assert err.loc is not None and err.loc.file == "<command line>"


@pytest.mark.parametrize("value", ["abc", "", "1+1"])
def test_set_non_number_is_an_error(value):
    with pytest.raises(SpecError, match="must be a number"):
        lowered(CIFAR10, {"steps": value})


def test_set_fractional_steps_is_an_error():
    with pytest.raises(SpecError, match="whole number"):
        lowered(CIFAR10, {"steps": "2.5"})


# -- other shapes of spec -------------------------------------------------------------------

SMALL = """\
fn soft(x) = x / (1 + abs(x))

pde heat(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' soft(K u)
}

network small {
    input  image(2, 8, 12)
    heat(2) by euler(h = 0.25, steps = 4, shared = true)
    conv(3x3, 2 -> 6, stride = 2), maxpool(2)
    flatten
    output linear(36 -> 5, bias = false)
}
"""


def test_user_function_shared_weights_stride_and_flatten():
    net = lowered_text(SMALL)
    (block,) = net.blocks
    assert block.shared and block.copies == 1 and block.steps == 4
    assert block.parameters == 2 * 2 * 9
    soft = block.pde.functions["soft"]
    assert not soft.builtin and soft.torch is None
    x = soft.var
    assert sympy.simplify(soft.expr - x / (1 + sympy.Abs(x))) == 0
    assert block.pde.equations[0].rhs == -ConvT(
        sympy.Symbol("K"), Act(sympy.Symbol("soft"), Conv(sympy.Symbol("K"), sympy.Symbol("u")))
    )
    conv = next(layer for layer in net.layers if isinstance(layer, ir.ConvLayer))
    assert conv.stride == 2
    assert net.output_shape == (5,)
    assert not net.spatial_dynamic  # flatten fixes the spatial size
    assert net.parameters == 36 + 2 * 6 * 9 + 36 * 5


def test_hamiltonian_splits_channels_between_two_states():
    net = lowered(RH / "hamiltonian_cifar10.pde")
    block = net.blocks[0]
    assert {s.name: s.channels for s in block.pde.states.values()} == {"y": 16, "z": 16}
    assert {eq.state for eq in block.pde.equations} == {"y", "z"}
    assert all(w.c_in == w.c_out == 16 for w in block.pde.weights.values())
