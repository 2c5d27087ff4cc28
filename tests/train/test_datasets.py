"""The offline datasets: shapes, ranges, seeded splits; nothing downloads."""

from __future__ import annotations

import pytest
import torch

from pde2net.train import datasets


def test_digits_split_is_fixed_and_stratified():
    a, b = datasets.digits(), datasets.digits()
    assert a.x_train.shape == (1437, 1, 8, 8) and a.x_test.shape == (360, 1, 8, 8)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    assert float(a.x_train.min()) >= 0 and float(a.x_train.max()) <= 1
    counts = torch.bincount(a.y_test, minlength=10)
    assert counts.min() >= 34  # every class is in the test split


@pytest.mark.parametrize("name", ["signals1d", "images2d"])
def test_denoising_sets_are_seeded_with_about_20_db_of_noise(name):
    a, b, other = datasets.load(name), datasets.load(name), datasets.load(name, seed=1)
    assert torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_train, other.x_train)
    assert a.task == "denoising"
    assert datasets.psnr(a.x_test, a.y_test) == pytest.approx(20.0, abs=0.3)  # σ = 0.1
    assert datasets.psnr(a.y_test, a.y_test) > 100


def test_unknown_dataset_is_refused():
    with pytest.raises(
        ValueError, match=r"unknown dataset .cifar10x.; datasets: digits, signals1d, images2d"
    ):
        datasets.load("cifar10x")
