"""The experiment scripts' --quick mode runs end to end and writes JSON and figures."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("skimage")


def test_rh_digits_quick(tmp_path):
    from experiments import rh_digits

    result = rh_digits.main(["--quick", "--results", str(tmp_path), "--figures", str(tmp_path)])
    saved = json.loads((tmp_path / "rh_digits.json").read_text())
    assert saved["quick"] is True
    assert {r["family"] for r in saved["runs"]} == set(rh_digits.FAMILIES)
    # same layout: the ResNet block has the most parameters, Hamiltonian the fewest
    params = {r["family"]: r["parameters"] for r in result["runs"]}
    assert params["hamiltonian"] < params["parabolic"] < params["resnet"]
    assert all(r["test_accuracy"] > 50 for r in result["runs"])  # far above 10% chance
    assert (tmp_path / "rh_digits.png").stat().st_size > 0
    assert "| ResNet |" in rh_digits.summarise(result)


def test_alt_denoising_quick(tmp_path):
    from experiments import alt_denoising

    result = alt_denoising.main(["--quick", "--results", str(tmp_path), "--figures", str(tmp_path)])
    runs = {(r["dim"], r["variant"]): r for r in result["runs"]}
    for dim in ("1d", "2d"):
        resnet, symmetric = runs[dim, "ResNet(m)"], runs[dim, "symmetric(m)"]
        # the symmetric block reuses K for K': half the convolution weights (+ lambda)
        assert symmetric["parameters"] - 1 == (resnet["parameters"] - 1) // 2
        assert math.isfinite(symmetric["test_psnr"]) and math.isfinite(resnet["test_psnr"])
        assert abs(result["noisy_psnr"][dim] - 20) < 0.5  # noise 0.1 on [0, 1] data
    assert (tmp_path / "alt_denoising.json").exists()
    assert (tmp_path / "alt_denoising_examples.png").exists()


def test_fed_depth_quick_fixed_operators(tmp_path):
    from experiments import fed_depth

    result = fed_depth.main(
        ["--quick", "--no-train", "--results", str(tmp_path), "--figures", str(tmp_path)]
    )
    heat = [r for r in result["fixed"]["rows"] if r["pde"] == "heat"]
    for row in heat:
        # the RK4 reference agrees with exp(T L) u0, and FED needs fewer layers than Euler
        assert row["reference_vs_exact_psnr"] > 100
        assert row["euler_depth"] >= row["T"] / fed_depth.TAU_STABLE
        assert row["fed_depth"] < row["euler_depth"]
    assert (tmp_path / "fed_depth.png").exists()


def test_multigrid_factor_quick(tmp_path):
    """(d) the V-cycle contraction factor, compiled against textbook multigrid: both
    contract like multigrid (well below 1, independent of the grid)."""
    from experiments import multigrid_factor

    result = multigrid_factor.main(["--quick", "--results", str(tmp_path)])
    (row,) = result["rows"]
    assert 0 < row["textbook"] < 0.2
    assert 0 < row["compiled"] < 0.35
    assert (tmp_path / "multigrid_factor.json").exists()
    assert "| implicit heat step" in multigrid_factor.table(result)
