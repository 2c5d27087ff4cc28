"""Offline datasets: nothing downloads. Every split and every noise sample is seeded.

- digits: scikit-learn's bundled 8x8 handwritten digits (classification);
- signals1d: synthetic piecewise-constant and smooth signals plus Gaussian noise;
- images2d: patches of scikit-image's bundled images plus Gaussian noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

NAMES = ("digits", "signals1d", "images2d")


@dataclass
class Dataset:
    """Train and test tensors and what the task is (classification or denoising)."""

    name: str
    task: str  # "classification" | "denoising"
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def load(
    name: str, shape: tuple[int, ...] | None = None, seed: int = 0, noise: float = 0.1
) -> Dataset:
    """The dataset `name`; `shape` (channels, *spatial) sizes the synthetic ones."""
    if name == "digits":
        return digits(seed)
    if name == "signals1d":
        length = shape[-1] if shape else 256
        return signals1d(length, seed=seed, noise=noise)
    if name == "images2d":
        size = shape[-1] if shape else 64
        return images2d(size, seed=seed, noise=noise)
    raise ValueError(f"unknown dataset '{name}'; datasets: {', '.join(NAMES)}")


def digits(seed: int = 0) -> Dataset:
    """1797 8x8 digits scaled to [0, 1], split 80/20 stratified with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    return Dataset(
        "digits",
        "classification",
        torch.from_numpy(x_train),
        torch.from_numpy(y_train),
        torch.from_numpy(x_test),
        torch.from_numpy(y_test),
    )


def _signal(rng: np.random.Generator, length: int) -> np.ndarray:
    """Piecewise constant with random jumps, or smooth (a few sines), or both added."""
    t = np.linspace(0, 1, length, endpoint=False)
    kind = rng.integers(3)
    jumps = np.sort(rng.uniform(0, 1, rng.integers(2, 8)))
    levels = rng.uniform(0, 1, len(jumps) + 1)
    piecewise = levels[np.searchsorted(jumps, t)]
    smooth = (
        sum(
            rng.uniform(0.05, 0.25)
            * np.sin(2 * np.pi * rng.uniform(0.5, 4) * t + rng.uniform(0, 6))
            for _ in range(3)
        )
        + 0.5
    )
    return {0: piecewise, 1: smooth, 2: 0.5 * (piecewise + smooth)}[int(kind)].astype(np.float32)


def signals1d(
    length: int = 256, n_train: int = 1024, n_test: int = 256, seed: int = 0, noise: float = 0.1
) -> Dataset:
    rng = np.random.default_rng(seed)
    clean = np.stack([_signal(rng, length) for _ in range(n_train + n_test)])[:, None]
    noisy = clean + noise * rng.standard_normal(clean.shape).astype(np.float32)
    return _split("signals1d", noisy, clean, n_train)


def images2d(
    size: int = 64, n_train: int = 512, n_test: int = 128, seed: int = 0, noise: float = 0.1
) -> Dataset:
    """Random patches of scikit-image's bundled grey images (camera, coins, moon, page,
    astronaut and coffee in grey), scaled to [0, 1]."""
    from skimage import color, data

    images = [data.camera(), data.coins(), data.moon(), data.page(), data.text()]
    images += [color.rgb2gray(data.astronaut()), color.rgb2gray(data.coffee())]
    images = [np.asarray(im, dtype=np.float32) / (255.0 if im.max() > 1 else 1.0) for im in images]
    rng = np.random.default_rng(seed)
    patches = []
    for _ in range(n_train + n_test):
        im = images[rng.integers(len(images))]
        r = rng.integers(0, im.shape[0] - size)
        c = rng.integers(0, im.shape[1] - size)
        patches.append(im[r : r + size, c : c + size])
    clean = np.stack(patches)[:, None].astype(np.float32)
    noisy = clean + noise * rng.standard_normal(clean.shape).astype(np.float32)
    return _split("images2d", noisy, clean, n_train)


def _split(name: str, noisy: np.ndarray, clean: np.ndarray, n_train: int) -> Dataset:
    return Dataset(
        name,
        "denoising",
        torch.from_numpy(noisy[:n_train]),
        torch.from_numpy(clean[:n_train]),
        torch.from_numpy(noisy[n_train:]),
        torch.from_numpy(clean[n_train:]),
    )


def psnr(estimate: torch.Tensor, clean: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for data in [0, 1], averaged over samples."""
    mse = ((estimate - clean) ** 2).flatten(1).mean(1).clamp_min(1e-12)
    return float((10 * torch.log10(1.0 / mse)).mean())
