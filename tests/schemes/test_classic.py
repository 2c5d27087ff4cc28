"""The classic PDEs: derived bounds against REFERENCE.md §3 at several grid spacings, and
the compiled networks' behaviour just under and just over those bounds."""

from __future__ import annotations

import math

import pytest
import torch

import pde2net
from tests.conftest import SPECS

CLASSIC = SPECS / "classic"
# spec -> the bound on tau as a function of h (REFERENCE.md §3)
BOUNDS = {
    "heat_1d": lambda h: h**2 / 2,
    "heat_2d": lambda h: h**2 / 4,
    "heat_3d": lambda h: h**2 / 6,
    "wave_1d": lambda h: h,
    "wave_2d": lambda h: h / math.sqrt(2),
    "perona_malik_1d": lambda h: h**2 / 2,
}


@pytest.mark.parametrize("name", sorted(BOUNDS))
@pytest.mark.parametrize("h", [0.5, 1.0, 2.0])
def test_derived_bound_matches_the_textbook_at_each_spacing(name, h):
    bound = BOUNDS[name](h)
    for factor, stable in ((0.99, True), (1.01, False)):
        report = pde2net.check_file(
            str(CLASSIC / f"{name}.pde"), set={"h": h, "tau": factor * bound}
        )
        assert report["stable"] is stable, (name, h, factor, report["blocks"][0]["condition"])
        steps = [c["step"] for c in report["blocks"][0]["checks"] if c["step"] is not None]
        assert steps and all(s["bound"]["value"] == pytest.approx(bound, rel=1e-12) for s in steps)
        assert all(s["bound"]["kind"] == "exact" for s in steps)
        # the waves' bound is strict (a double root at -1 grows linearly at equality)
        assert all(s["strict"] is name.startswith("wave") for s in steps)


@pytest.mark.parametrize("name", ["wave_1d", "wave_2d"])
def test_leapfrog_exactly_at_the_cfl_bound_is_unstable(name):
    h = 1.0 if name == "wave_1d" else 2.0  # tau = h resp. h / sqrt(2) = sqrt(2): exact
    tau = h if name == "wave_1d" else math.sqrt(2)
    if name == "wave_2d":
        # sqrt(2) is not a float: check just above and just below instead
        under = pde2net.check_file(str(CLASSIC / f"{name}.pde"), set={"h": h, "tau": 1.4142135})
        over = pde2net.check_file(str(CLASSIC / f"{name}.pde"), set={"h": h, "tau": 1.4142136})
        assert under["stable"] is True and over["verdict"] == "violated"
        return
    report = pde2net.check_file(str(CLASSIC / f"{name}.pde"), set={"h": h, "tau": tau})
    assert report["verdict"] == "violated"


def test_heat_bound_is_compared_exactly():
    spec = str(CLASSIC / "heat_2d.pde")
    at = pde2net.check_file(spec, set={"h": 0.5, "tau": 0.0625})
    over = pde2net.check_file(spec, set={"h": 0.5, "tau": 0.0625000001})
    assert at["stable"] is True
    assert over["verdict"] == "violated"


def _run(name: str, factor: float, steps: int, h: float = 1.0, x: torch.Tensor | None = None):
    tau = factor * BOUNDS[name](h)
    overrides = {"h": h, "tau": tau, "steps": steps}
    compiled = pde2net.compile_file(str(CLASSIC / f"{name}.pde"), set=overrides)
    module = compiled.module.double().eval()
    if x is None:
        shape = compiled.network.input.shape
        x = torch.rand(4, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return x, module(x)


@pytest.mark.parametrize("name", ["heat_1d", "heat_2d", "heat_3d"])
def test_heat_obeys_the_maximum_principle_and_conserves_mass_under_the_bound(name):
    x, y = _run(name, 0.97, steps=200)
    dims = tuple(range(2, x.dim()))
    assert (y.amax(dim=dims) <= x.amax(dim=dims) + 1e-12).all()
    assert (y.amin(dim=dims) >= x.amin(dim=dims) - 1e-12).all()
    torch.testing.assert_close(y.sum(dim=dims), x.sum(dim=dims), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_blows_up_over_the_bound(name):
    # Perona-Malik's flux is bounded by lambda/2, so its instability shows in the
    # linearised regime: small data, where the flux is nearly the identity.
    scale = 1e-4 if name == "perona_malik_1d" else 1.0
    shape = {"1d": (4, 1, 64), "2d": (4, 1, 32, 32), "3d": (2, 1, 16, 16, 16)}[name[-2:]]
    x = scale * torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x, y = _run(name, 1.2, steps=200, x=x)
    assert y.abs().max() > 1e3 * x.abs().max()


def test_perona_malik_is_non_expansive_under_the_bound():
    x, y = _run("perona_malik_1d", 0.97, steps=200)
    assert (y.norm(dim=-1) <= x.norm(dim=-1) + 1e-12).all()
    # Perona-Malik preserves mass with Neumann boundaries, too
    torch.testing.assert_close(y.sum(-1), x.sum(-1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["wave_1d", "wave_2d"])
def test_wave_stays_bounded_under_the_bound(name):
    x, y = _run(name, 0.97, steps=200)
    assert y.abs().max() < 10 * x.abs().max()


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_any_spatial_size(name):
    spec = CLASSIC / f"{name}.pde"
    module = pde2net.compile_file(str(spec), set={"steps": 3}).module.eval()
    dims = int(name[-2])
    for size in (5, 17, 40) if dims < 3 else (5, 11):
        x = torch.randn(2, 1, *([size] * dims))
        with torch.no_grad():
            assert module(x).shape == x.shape


def test_compiling_over_the_bound_is_refused_unless_allowed(tmp_path, cli):
    spec = str(CLASSIC / "heat_1d.pde")
    refused = cli("compile", spec, "-o", str(tmp_path / "a"), "--set", "tau=0.6")
    assert refused.returncode == 1
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())
    allowed = cli(
        "compile", spec, "-o", str(tmp_path / "b"), "--set", "tau=0.6", "--allow-unstable"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "b" / "heat_1d.onnx").exists()
