"""`pde2net train` and `pde2net evaluate` on files in the real formats: the Table 1
network learns a tiny CIFAR-10, the ONNX model scores the same in onnxruntime, and bad
files or data that do not fit end in exit 2 naming the file, without a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import SPECS
from tests.train import formats

CIFAR_SPEC = str(SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde")


@pytest.mark.slow
def test_table1_network_learns_tiny_cifar10_and_evaluate_agrees(tmp_path, cli):
    formats.write_cifar10(tmp_path / "data", per_batch=40, test=80)
    out = tmp_path / "run"
    result = cli(
        "train", CIFAR_SPEC, "--data", "cifar10", "--data-root", str(tmp_path / "data"),
        "--epochs", "3", "--batch-size", "20", "--set", "steps=1", "--normalize",
        "--out", str(out), "--no-progress", "--device", "cpu", "--workers", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 75.0, metrics["history"]  # 4 classes: chance is 25 %
    assert metrics["dataset"] == "cifar10" and metrics["device"] == "cpu"
    evaluated = cli(
        "evaluate", str(out / "parabolic_cifar10.onnx"), "--data", "cifar10",
        "--data-root", str(tmp_path / "data"), "--json",
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["normalization"] is True and report["samples"] == 80
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1.25)  # one image


def test_bad_files_exit_2_naming_the_file(tmp_path, cli):
    folder = formats.write_cifar10(tmp_path / "data")
    raw = (folder / "data_batch_4").read_bytes()
    (folder / "data_batch_4").write_bytes(raw[:1000])
    for command in (
        ("train", CIFAR_SPEC, "--out", str(tmp_path / "run")),
        ("evaluate", str(_onnx(tmp_path))),
    ):
        result = cli(*command, "--data", "cifar10", "--data-root", str(tmp_path / "data"))
        assert result.returncode == 2, result.stderr
        assert str(folder / "data_batch_4") in result.stderr and "truncated" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_data_of_the_wrong_size_exit_2_saying_what_the_spec_expects(tmp_path, cli):
    formats.write_stl10(tmp_path)
    result = cli(
        "train", CIFAR_SPEC, "--data", "stl10", "--data-root", str(tmp_path),
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "(3, 96, 96)" in result.stderr and "image(3, 32, 32)" in result.stderr
    assert "Traceback" not in result.stderr


_ONNX = {}


def _onnx(tmp_path, spec=CIFAR_SPEC, **overrides):
    import pde2net
    from pde2net.pipeline import export_compiled

    key = (spec, tuple(sorted(overrides.items())))
    if key not in _ONNX:
        model, _ = export_compiled(pde2net.compile_file(spec, set=overrides))
        _ONNX[key] = model
    path = tmp_path / "model.onnx"
    path.write_bytes(_ONNX[key])
    return path


def test_evaluate_reports_psnr_for_denoising(tmp_path):
    from pde2net.train.deploy import evaluate_onnx

    path = _onnx(tmp_path, str(SPECS / "experiments" / "denoise_1d_resnet.pde"))
    result = evaluate_onnx(path, "signals1d")
    assert result["samples"] == 256 and result["input_psnr"] == pytest.approx(20.0, abs=0.3)
    assert 5 < result["psnr"] < 60
    rng = np.random.default_rng(0)
    clean = rng.uniform(0, 1, (8, 1, 256)).astype(np.float32)
    np.savez(tmp_path / "s.npz", x_train=clean, y_train=clean, x_test=clean, y_test=clean)
    assert evaluate_onnx(path, str(tmp_path / "s.npz"))["samples"] == 8


def test_evaluate_accuracy_matches_torch_on_an_npz(tmp_path):
    import torch

    import pde2net
    from pde2net.train.deploy import evaluate_onnx
    from pde2net.train.loop import evaluate

    path = _onnx(tmp_path, str(SPECS / "experiments" / "digits_parabolic.pde"))
    x, y = formats.images(64, 4, 8, 0)
    grey = x[:, :1]
    np.savez(tmp_path / "d.npz", x_train=grey, y_train=y, x_test=grey, y_test=y)
    result = evaluate_onnx(path, str(tmp_path / "d.npz"))
    from pde2net.train.datasets import load

    data = load(str(tmp_path / "d.npz"), (1, 8, 8))
    module = pde2net.compile_file(str(SPECS / "experiments" / "digits_parabolic.pde")).module
    with torch.no_grad():
        assert result["accuracy"] == pytest.approx(evaluate(module, data), abs=1e-9)
    np.savez(tmp_path / "big.npz", x_train=grey, y_train=y * 4, x_test=grey, y_test=y * 4)
    with pytest.raises(ValueError, match=r"13 classes but .* 10 outputs"):
        evaluate_onnx(path, str(tmp_path / "big.npz"))
