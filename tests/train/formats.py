"""Tiny datasets in the real on-disk formats, written from scratch for the tests: CIFAR
python-pickle batches, STL-10 binaries, .npz archives and PNG folders. The images carry
a learnable signal: the class sets which colour channel is bright."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def images(n: int, classes: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3, size, size) uint8 images and their labels: noise, with the channel
    `label % 3` bright and, for label >= 3, the top half darker."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    rng.shuffle(labels)
    x = rng.integers(0, 90, (n, 3, size, size))
    for i, label in enumerate(labels):
        x[i, label % 3] += 150
        if label >= 3:
            x[i, :, : size // 2] //= 3
    return x.astype(np.uint8), labels.astype(np.int64)


def write_cifar10(root: Path, per_batch: int = 20, test: int = 40, seed: int = 0) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(files):
        n = test if name == "test_batch" else per_batch
        x, y = images(n, 4, 32, seed + k)
        batch = {b"batch_label": name.encode(), b"labels": y.tolist(), b"data": x.reshape(n, -1)}
        with (folder / name).open("wb") as f:
            pickle.dump(batch, f, protocol=2)
    return folder


def write_cifar100(root: Path, train: int = 60, test: int = 30, seed: int = 0) -> Path:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for k, (name, n) in enumerate((("train", train), ("test", test))):
        x, y = images(n, 4, 32, seed + k)
        batch = {
            "data": x.reshape(n, -1),
            "fine_labels": (y * 25).tolist(),  # 0, 25, 50, 75: the fine labels, not coarse
            "coarse_labels": (y * 5).tolist(),
        }
        with (folder / name).open("wb") as f:
            pickle.dump(batch, f)
    return folder


def write_stl10(root: Path, train: int = 20, test: int = 10, seed: int = 0) -> Path:
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    for k, (name, n) in enumerate((("train", train), ("test", test))):
        x, y = images(n, 4, 96, seed + k)
        # column-major: each channel stored transposed
        x.transpose(0, 1, 3, 2).tofile(folder / f"{name}_X.bin")
        (y + 1).astype(np.uint8).tofile(folder / f"{name}_y.bin")
    return folder


def write_npz(path: Path, n: int = 40, size: int = 8, layout: str = "NCHW", seed: int = 0):
    x, y = images(n, 4, size, seed)
    xt, yt = images(n // 2, 4, size, seed + 1)
    if layout == "NHWC":
        x, xt = x.transpose(0, 2, 3, 1), xt.transpose(0, 2, 3, 1)
    np.savez(path, x_train=x, y_train=y, x_test=xt, y_test=yt)
    return path


def write_folder(root: Path, n: int = 24, size: int = 8, test_name: str = "test", seed: int = 0):
    from PIL import Image

    for split, count, s in (("train", n, seed), (test_name, n // 2, seed + 1)):
        x, y = images(count, 4, size, s)
        for i, (im, label) in enumerate(zip(x, y, strict=True)):
            folder = root / split / f"class_{label}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(im.transpose(1, 2, 0)).save(folder / f"{i}.png")
    return root
