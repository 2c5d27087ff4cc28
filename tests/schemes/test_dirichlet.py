"""Boundary data, `grid h = 1 : dirichlet(b)`: heat in 1D, 2D and 3D against an
independent NumPy scheme (ghost cells held at b) in onnxruntime; the verdicts, which are
the zero-boundary scheme's when an argument carries them over and `unverified` when
none does; the solver schemes that refuse it; the spelling mistakes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pde2net
from pde2net.lang.errors import SpecError
from tests.conftest import SPECS
from tests.schemes.test_volumes import numpy_heat, run_onnx

HEAT_DIRICHLET_2D = SPECS / "classic" / "heat_dirichlet_2d.pde"


def heat_spec(tmp_path, shape: str, boundary: str, tau: float, steps: int, h: float = 1.0):
    spec = tmp_path / "heat.pde"
    spec.write_text(
        f"pde heat {{\n state u[1]\n grid h = {h} : {boundary}\n dt(u) = lap u\n}}\n"
        f"network net {{\n input {shape}\n heat by euler(tau = {tau}, steps = {steps})\n"
        " output identity\n}\n"
    )
    return spec


@pytest.mark.parametrize(
    ("shape", "size", "b", "h", "tau"),
    [
        ("signal(1, 40)", (40,), 1.0, 1.0, 0.45),
        ("signal(1, 33)", (33,), -2.5, 0.5, 0.1),
        ("image(1, 12, 20)", (12, 20), 1.0, 1.0, 0.24),
        ("image(1, 16, 16)", (16, 16), 0.3, 2.0, 0.9),
        ("volume(1, 6, 8, 10)", (6, 8, 10), 1.0, 1.0, 0.16),
    ],
)
def test_dirichlet_heat_matches_numpy_in_onnxruntime(tmp_path, shape, size, b, h, tau):
    spec = heat_spec(tmp_path, shape, f"dirichlet({b})", tau, 25, h)
    compiled = pde2net.compile_file(str(spec))
    x = np.random.default_rng(0).random((2, 1, *size))
    want = numpy_heat(x, tau, h, 25, "constant", value=b)
    got = run_onnx(compiled, x)
    assert np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max())
    # the data matters: the same spec with zero ghost cells gives other values
    zero = numpy_heat(x, tau, h, 25, "constant", value=0.0)
    assert np.abs(got - zero).max() > 1e-2


def test_the_bundled_spec_matches_numpy_and_tends_to_the_data():
    compiled = pde2net.compile_file(str(HEAT_DIRICHLET_2D), set={"steps": 40})
    x = np.random.default_rng(1).random((1, 1, 32, 32))
    want = numpy_heat(x, 0.2, 1.0, 40, "constant", value=1.0)
    got = run_onnx(compiled, x)
    assert np.abs(got - want).max() <= 1e-5
    # maximum principle with the data: values stay within [min(x, b), max(x, b)]
    assert got.min() >= x.min() - 1e-6 and got.max() <= 1 + 1e-6
    # and a long run approaches the boundary value
    module = pde2net.compile_file(str(HEAT_DIRICHLET_2D), set={"steps": 3000}).module
    with torch.no_grad():
        far = module.double()(torch.from_numpy(x))
    assert float((far - 1).abs().max()) < 0.05


@pytest.mark.parametrize(("shape", "bound"), [("signal(1, 16)", 1 / 2), ("image(1, 8, 8)", 1 / 4)])
@pytest.mark.parametrize("h", [0.5, 2.0])
def test_dirichlet_verdicts_either_side_of_the_textbook_bound(tmp_path, shape, bound, h):
    for factor, verdict in ((0.99, "proven"), (1.01, "violated")):
        spec = heat_spec(tmp_path, shape, "dirichlet(1.5)", factor * bound * h**2, 3, h)
        report = pde2net.check_file(str(spec))
        assert report["verdict"] == verdict
        (check,) = report["blocks"][0]["checks"]
        assert check["step"]["bound"]["value"] == pytest.approx(bound * h**2, rel=1e-12)
        assert "With dirichlet(3/2) the verdict is the zero-boundary scheme's" in check["reason"]


def test_the_bundled_spec_verdicts():
    for factor, verdict in ((0.99, "proven"), (1.01, "violated")):
        report = pde2net.check_file(str(HEAT_DIRICHLET_2D), set={"tau": factor * 0.25})
        assert report["verdict"] == verdict


def test_dirichlet_zero_is_the_zero_boundary(tmp_path):
    a = pde2net.compile_file(str(heat_spec(tmp_path, "signal(1, 8)", "dirichlet(0)", 0.3, 2)))
    b = pde2net.compile_file(str(heat_spec(tmp_path, "signal(1, 8)", "zero", 0.3, 2)))
    assert a.source == b.source


NONLINEAR = """
pde reaction {{
    state u[1]
    grid h = 1 : {boundary}
    dt(u) = lap u + u - u^3
}}
pde flux {{
    state u[1]
    grid h = 1 : {boundary}
    flux phi(s) = s / (1 + s^2)
    dt(u) = div(phi(grad u))
}}
network n {{
    input image(1, 8, 8) in [-1, 1]
    flux by euler(tau = 0.2, steps = 2)
    {extra}
    output identity
}}
"""


def test_zero_sum_stencil_fluxes_keep_their_verdict(tmp_path):
    spec = tmp_path / "flux.pde"
    spec.write_text(NONLINEAR.format(boundary="dirichlet(2)", extra=""))
    (block,) = pde2net.check_file(str(spec))["blocks"]
    assert block["status"] == "proven"
    assert all("u − b obeys the zero-boundary scheme" in c["reason"] for c in block["checks"])


def test_a_reaction_beside_a_stencil_is_not_claimed(tmp_path):
    spec = tmp_path / "reaction.pde"
    extra = "reaction by euler(tau = 0.01, steps = 2)"
    spec.write_text(NONLINEAR.format(boundary="dirichlet(2)", extra=extra))
    blocks = pde2net.check_file(str(spec))["blocks"]
    assert blocks[1]["status"] == "unverified"
    assert all(c["status"] in ("unverified", "violated") for c in blocks[1]["checks"])
    assert "no argument carries this verdict over" in blocks[1]["checks"][0]["reason"]
    # with zero ghost cells the same block is whatever the analysis derives, unchanged
    spec.write_text(NONLINEAR.format(boundary="zero", extra=extra))
    zero = pde2net.check_file(str(spec))["blocks"][1]
    assert all("dirichlet" not in c["reason"] for c in zero["checks"])


def test_a_pde_without_stencils_ignores_the_data(tmp_path):
    spec = tmp_path / "learned.pde"
    spec.write_text(
        "pde p(c) {\n state u[c]\n grid h = 1 : dirichlet(3)\n weight K : conv(3, c -> c)\n"
        " dt(u) = -K' relu(K u)\n}\n"
        "network n {\n input signal(2, 16)\n p(2) by euler(h = 0.1, enforce = true)\n"
        " output identity\n}\n"
    )
    (block,) = pde2net.check_file(str(spec))["blocks"]
    assert block["status"] == "enforced"
    assert "this pde has none" in block["checks"][-1]["reason"]


@pytest.mark.parametrize(
    "scheme",
    ["implicit(tau = 1)", "theta(theta = 0.5, tau = 1)", "multigrid(tau = 1)", "imex(tau = 1)"],
)
def test_solver_schemes_refuse_boundary_data(tmp_path, scheme):
    spec = tmp_path / "solve.pde"
    spec.write_text(
        "pde heat {\n state u[1]\n grid h = 1 : dirichlet(1)\n dt(u) = -dx' dx u\n}\n"
        f"network n {{\n input signal(1, 16)\n heat by {scheme}\n output identity\n}}\n"
    )
    with pytest.raises(SpecError, match="makes that operator affine, not linear") as err:
        pde2net.check_file(str(spec))
    assert err.value.loc.line == 8  # at the `by`


@pytest.mark.parametrize(
    ("boundary", "message"),
    [
        ("dirichlet", "dirichlet takes one number"),
        ("dirichlet(1, 2)", "dirichlet takes one number"),
        ("dirichlet(b = 1)", "dirichlet takes one number"),
        ("dirichlet(q)", "unknown name 'q'"),
        ("zero, dirichlet(1)", "choose one boundary: neumann, periodic, zero or dirichlet"),
        ("dirichlet(1e40)", "the boundary value 1e\\+40 is out of range"),
        ("dirchlet(1)", "unknown attribute 'dirchlet' \\(did you mean 'dirichlet'\\?\\)"),
    ],
)
def test_boundary_mistakes_are_located(tmp_path, boundary, message):
    spec = heat_spec(tmp_path, "signal(1, 8)", boundary, 0.1, 1)
    with pytest.raises(SpecError, match=message) as err:
        pde2net.check_file(str(spec))
    assert err.value.loc.line == 3
