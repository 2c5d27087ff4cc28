"""The stability report: statuses, conditions with numbers plugged in, verdicts."""

from __future__ import annotations

import math

import pytest

import pde2net
from pde2net.api import check_text
from tests.conftest import SPECS

CIFAR10 = SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde"

TEMPLATE = """\
fn wiggle(x) = x - 2*tanh(x)

pde heat(c) {{
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c)
    dt(u) = -K' {sigma}({inner})
}}

network tiny {{
    input  image(2, 8, 8)
    heat(2) by euler({scheme})
    globalavgpool
    output linear(2 -> 3)
}}
"""


def report_of(tmp_path, sigma="relu", scheme="h = 1, steps = 2", inner="K u") -> dict:
    """The tiny network's report; `inner="N(K u)"` puts the tvnorm inside σ."""
    spec = tmp_path / "tiny.pde"
    spec.write_text(TEMPLATE.format(sigma=sigma, scheme=scheme, inner=inner), encoding="utf-8")
    return pde2net.check_file(str(spec))


def checks_by_name(block: dict) -> dict[str, dict]:
    return {c["name"]: c for c in block["checks"]}


@pytest.fixture(scope="module")
def cifar10() -> dict:
    return pde2net.check_file(str(CIFAR10))


def test_cifar10_report_summary(cifar10):
    assert cifar10["network"] == "parabolic_cifar10"
    assert cifar10["parameters"] == 502570
    assert cifar10["verdict"] == "unverified"  # the tvnorm N inside σ: no theorem
    assert cifar10["stable"] is False
    assert cifar10["input_shape"] == [3, 32, 32]
    assert cifar10["output_shape"] == [10]
    assert cifar10["constants"] == {"h": 1, "steps": 3}
    assert len(cifar10["blocks"]) == 3
    assert [b["parameters"] for b in cifar10["blocks"]] == [27840, 110976, 339360]
    assert sum(b["parameters"] for b in cifar10["blocks"]) < cifar10["parameters"]


def test_cifar10_blocks_are_unverified_because_of_the_norm(cifar10):
    for index, (block, c) in enumerate(zip(cifar10["blocks"], (32, 64, 112), strict=True)):
        assert block["name"] == f"block{index + 1}: parabolic(c = {c})"
        assert block["scheme"] == "euler(h = 1, steps = 3)"
        assert block["status"] == "unverified"
        assert block["equations"] == ["dt(u) = -K' relu(N(K u))"]
        # the tvnorm's Lipschitz constant 1/√ε at ε = 1e-3, stated, not assumed to be 1
        assert "L_N = max|w| / √ε = 31.6228" in block["condition"]
        assert block["reversible"] is False


def test_cifar10_monotone_check_is_proven(cifar10):
    for block in cifar10["blocks"]:
        monotone = [c for c in block["checks"] if "monotone" in c["name"]]
        assert len(monotone) == 1
        assert monotone[0]["status"] == "proven"
        assert monotone[0]["values"]["inf_slope"]["text"] == "0"  # a Number, exact
        (step,) = [c for c in block["checks"] if c["status"] == "unverified"]
        assert step["requires"] is None  # nothing for enforce or certify to keep
        assert step["values"]["L_norm_at_init"]["value"] == pytest.approx(1 / math.sqrt(1e-3))


def test_without_the_norm_the_step_is_conditional_on_k(tmp_path):
    (block,) = report_of(tmp_path)["blocks"]
    assert block["status"] == "conditional"
    (step,) = [c for c in block["checks"] if c["status"] == "conditional"]
    # sqrt(2 / (h · L_σ)) = sqrt(2) with h = 1 and L_relu = 1
    assert step["requires"]["bound"] == pytest.approx(math.sqrt(2))
    assert step["requires"]["bound"] <= math.sqrt(2)  # rounded down, never up
    assert step["values"]["L_sigma"] == {"value": 1.0, "kind": "exact", "text": "1"}
    assert "1.41421" in block["condition"]


def test_check_file_and_check_text_agree(cifar10):
    text = CIFAR10.read_text(encoding="utf-8")
    assert check_text(text, str(CIFAR10)).report == cifar10


def test_enforce_makes_the_step_enforced(tmp_path):
    report = report_of(tmp_path, scheme="h = 1, steps = 2, enforce = true")
    (block,) = report["blocks"]
    assert block["status"] == "enforced"
    assert report["stable"] is True and report["verdict"] == "enforced"
    statuses = sorted(c["status"] for c in block["checks"])
    assert statuses == ["enforced", "proven"]


def test_enforce_cannot_cover_a_norm_inside_the_layer(tmp_path):
    report = report_of(tmp_path, scheme="h = 1, steps = 2, enforce = true", inner="N(K u)")
    (block,) = report["blocks"]
    assert block["status"] == "unverified"
    assert report["stable"] is False
    assert "cannot bound the learned scale of N" in block["checks"][-1]["reason"]


def test_without_enforce_the_same_block_is_conditional(tmp_path):
    (block,) = report_of(tmp_path)["blocks"]
    assert block["status"] == "conditional"


def test_non_monotone_activation_is_violated(tmp_path):
    report = report_of(tmp_path, sigma="wiggle")
    assert report["stable"] is False
    (block,) = report["blocks"]
    assert block["status"] == "violated"
    (monotone,) = [c for c in block["checks"] if "monotone" in c["name"]]
    assert monotone["status"] == "violated"
    x = monotone["values"]["counterexample_x"]["value"]
    # σ(x) = x - 2 tanh(x): σ'(x) = 2 tanh(x)^2 - 1, negative at the counterexample
    assert 2 * math.tanh(x) ** 2 - 1 < 0
    assert monotone["values"]["slope_there"]["value"] == pytest.approx(2 * math.tanh(x) ** 2 - 1)


def test_enforce_does_not_hide_a_violation(tmp_path):
    report = report_of(tmp_path, sigma="wiggle", scheme="h = 1, steps = 2, enforce = true")
    assert report["stable"] is False
    assert report["blocks"][0]["status"] == "violated"


def test_step_size_changes_the_bound(tmp_path):
    report = report_of(tmp_path, scheme="h = 0.5, steps = 2")
    (block,) = report["blocks"]
    # sqrt(2 / (h · L_σ)) = sqrt(2 / (0.5 · 1)) = 2
    assert "≤ 2" in block["condition"]
    assert "1.41421" not in block["condition"]
    assert block["condition"].startswith("0.5 ")
    (step,) = [c for c in block["checks"] if c["status"] == "conditional"]
    assert step["requires"]["bound"] == pytest.approx(2.0)
    assert step["values"]["h"]["text"] == "1/2"


def test_sigmoid_lipschitz_constant_enters_the_bound(tmp_path):
    (block,) = report_of(tmp_path, sigma="sigmoid")["blocks"]
    (step,) = [c for c in block["checks"] if c["status"] == "conditional"]
    # sqrt(2 / (1 · 1/4)) = sqrt(8)
    assert step["requires"]["bound"] == pytest.approx(math.sqrt(8))
    assert "2.82843" in block["condition"]


def test_set_overrides_reach_the_report():
    report = pde2net.check_file(str(CIFAR10), set={"h": "0.5"})
    assert report["constants"]["h"] == 0.5
    for block in report["blocks"]:
        assert block["scheme"] == "euler(h = 0.5, steps = 3)"
        assert block["status"] == "unverified"


def test_equal_blocks_are_derived_once_and_reported_each():
    """2,000 equal blocks: one derivation, 2,000 block reports (check stays fast)."""
    import time

    import pde2net

    blocks = "\n".join("    heat by euler(h = 0.25, steps = 1)" for _ in range(2000))
    text = (
        "pde heat {\n    state u[1]\n    grid h = 1\n    dt(u) = lap u\n}\n"
        f"network many {{\n    input signal(1, 16)\n{blocks}\n    output identity\n}}\n"
    )
    start = time.perf_counter()
    report = pde2net.check_text(text, "many.pde").report
    assert time.perf_counter() - start < 60
    assert len(report["blocks"]) == 2000 and report["verdict"] == "proven"
    assert report["blocks"][1999]["name"].startswith("block2000")
