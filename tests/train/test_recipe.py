"""The Ruthotto–Haber recipe options (augmentation, normalisation, schedules) and the
device code path (device, channels_last, autocast, DataLoader workers) on the CPU."""

from __future__ import annotations

import pytest
import torch

import pde2net
from pde2net.train.datasets import DataError, load
from pde2net.train.loop import Normalization, TrainConfig, augment, resolve_device, train
from tests.conftest import SPECS


def test_crop_pads_by_4_and_shifts_flip_mirrors():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    g = torch.Generator().manual_seed(0)
    cropped, _ = augment(x, torch.zeros(2), ("crop",), g, "classification")
    assert cropped.shape == x.shape
    for i in range(2):
        # the crop is a shift by at most 4 with zeros coming in
        found = False
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                shifted = torch.zeros(3, 16, 16)
                shifted[:, 4:12, 4:12] = x[i]
                window = shifted[:, 4 + dy : 12 + dy, 4 + dx : 12 + dx]
                found |= torch.equal(window, cropped[i])
        assert found
    flipped, _ = augment(x, torch.zeros(2), ("flip",), torch.Generator().manual_seed(1), "x")
    for i in range(2):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    # denoising pairs get the same transformation; 1D signals are cropped too
    s = torch.rand(5, 1, 16)
    a, b = augment(s, s.clone(), ("crop", "flip"), torch.Generator(), "denoising")
    assert torch.equal(a, b) and a.shape == s.shape


def test_normalization_is_per_channel_from_the_data():
    x = torch.randn(100, 3, 4, 4) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 5
    norm = Normalization.of(x)
    y = norm.apply(x)
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y.std((0, 2, 3)), torch.ones(3), atol=1e-4)


def test_step_and_cosine_schedules_reach_their_ends():
    from pde2net.train.loop import _optimizer, _scheduler

    module = torch.nn.Linear(2, 2)
    for schedule, final in (("step", 0.1 * 0.2 * 0.2), ("cosine", 0.0)):
        config = TrainConfig(optimizer="sgd", lr=0.1, schedule=schedule, weight_decay=1e-4)
        optimizer = _optimizer(module, config)
        assert optimizer.defaults["momentum"] == 0.9
        scheduler = _scheduler(optimizer, config, 10)
        for _ in range(10):
            optimizer.step()
            scheduler.step()
        assert optimizer.param_groups[0]["lr"] == pytest.approx(final, abs=1e-12)


def test_device_code_path_on_the_cpu(tmp_path):
    """--device auto (the CPU here), channels_last, bf16 autocast, a DataLoader worker."""
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    compiled = pde2net.compile_file(
        str(SPECS / "experiments" / "digits_parabolic.pde"), set={"steps": 1}
    )
    data = load("digits")
    data.x_train, data.y_train = data.x_train[:256], data.y_train[:256]
    config = TrainConfig(
        epochs=2,
        batch_size=32,
        device="cpu",
        channels_last=True,
        amp="bf16",
        workers=1,
        pin_memory=True,
        augment=("flip",),
        normalize=True,
        progress=False,
    )
    metrics = train(compiled, data, config, tmp_path)
    assert metrics["device"] == "cpu" and metrics["test_accuracy"] > 40
    assert next(compiled.module.parameters()).device.type == "cpu"
    assert (tmp_path / "digits_parabolic.onnx").exists()


def test_device_and_option_mistakes_are_data_errors():
    if not torch.cuda.is_available():
        with pytest.raises(DataError, match="no CUDA device"):
            resolve_device("cuda")
    with pytest.raises(DataError, match="use auto, cpu or cuda"):
        resolve_device("tpu")
    compiled = pde2net.compile_file(str(SPECS / "experiments" / "digits_parabolic.pde"))
    with pytest.raises(DataError, match="--augment rotate"):
        train(compiled, load("digits"), TrainConfig(augment=("rotate",), progress=False))
    with pytest.raises(DataError, match="fp16 needs a GPU"):
        train(compiled, load("digits"), TrainConfig(amp="fp16", device="cpu", progress=False))
