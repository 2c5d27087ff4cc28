"""Offline datasets: nothing downloads. Every split and every noise sample is seeded.

Built in:

- digits: scikit-learn's bundled 8x8 handwritten digits (classification);
- signals1d: synthetic piecewise-constant and smooth signals plus Gaussian noise;
- images2d: patches of scikit-image's bundled images plus Gaussian noise;
- mnist1d: the MNIST-1D benchmark (Greydanus 2020), generated here with its defaults.

Read from disk (the user brings the files):

- cifar10, cifar100 (`root`): the python-pickle batches, `cifar-10-batches-py/` or
  `cifar-100-python/` (torchvision's layout) under `root`, or `root` itself;
- stl10 (`root`): `stl10_binary/{train,test}_{X,y}.bin` under `root`, or `root` itself;
- a path to an `.npz` file with `x_train, y_train, x_test, y_test`;
- a path to an image-folder tree `DIR/train/CLASS/*.png|jpg` with `DIR/test/` or `DIR/val/`.

Every reader checks what it reads and raises `DataError` naming the file and what is
wrong; `check_fits` checks the data against the network that will train on it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

BUILTIN = ("digits", "signals1d", "images2d", "mnist1d")
ROOTED = ("cifar10", "cifar100", "stl10")
NAMES = BUILTIN + ROOTED
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class DataError(ValueError):
    """A dataset that cannot be read or does not fit the network; the message names the
    file (or directory) and what is wrong."""


@dataclass
class Dataset:
    """Train and test tensors and what the task is (classification or denoising)."""

    name: str
    task: str  # "classification" | "denoising"
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int | None = None  # the number of classes the format declares
    source: str = ""  # the file or directory read (for error messages)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def describe(name: str) -> str:
    """The dataset names and what a path may be, for help texts and errors."""
    return f"{', '.join(NAMES)}, or a path to an .npz file or an image-folder tree"


def load(
    name: str,
    shape: tuple[int, ...] | None = None,
    seed: int = 0,
    noise: float = 0.1,
    root: str | Path | None = None,
) -> Dataset:
    """The dataset `name` (a built-in name, cifar10/cifar100/stl10 under `root`, or a path);
    `shape` (channels, *spatial), the network's input, sizes the synthetic sets and picks
    the layout of arrays and the colour mode of image files."""
    if name == "digits":
        return digits(seed)
    if name == "signals1d":
        length = shape[-1] if shape else 256
        return signals1d(length, seed=seed, noise=noise)
    if name == "images2d":
        size = shape[-1] if shape else 64
        return images2d(size, seed=seed, noise=noise)
    if name == "mnist1d":
        return mnist1d()
    if name in ROOTED:
        if root is None:
            raise DataError(
                f"--data {name} reads the files you bring: pass --data-root DIR, the directory "
                f"that holds {_FOLDERS[name]}/ (nothing is downloaded)"
            )
        return {"cifar10": cifar10, "cifar100": cifar100, "stl10": stl10}[name](root)
    path = Path(name)
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        return npz(path, shape)
    if path.is_dir():
        return image_folder(path, shape)
    raise DataError(f"unknown dataset '{name}'; datasets: {describe(name)}")


# ---------------------------------------------------------------------------------------
# Built-in sets


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
        classes=10,
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


# MNIST-1D: Greydanus, "Scaling down deep learning" (2020), https://github.com/greydanus/mnist1d
# (mnist1d/data.py and transform.py, MIT licence). Reimplemented from the paper's
# generator with its default arguments, its templates, the same transformations in the
# same order and the same legacy NumPy random stream (np.random.seed(42)), so that the
# 4,000/1,000 split is the benchmark's.
MNIST1D_ARGS = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": (36, 60),
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "final_seq_length": 40,
    "seed": 42,
}


def mnist1d_templates() -> np.ndarray:
    """The ten digit templates, 12 samples each, whitened, starting at 0, scaled by 1/6."""
    x = np.asarray(
        [
            [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
            [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
            [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
            [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
            [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
            [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
            [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
            [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
            [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
            [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
        ]
    )
    x = x - x.mean(1, keepdims=True)
    x = x / x.std(1, keepdims=True)
    x = x - x[:, :1]
    return x / 6.0


def _interpolate(x: np.ndarray, n: int) -> np.ndarray:
    """Linear resampling of x onto n equally spaced points (scipy's interp1d, linear)."""
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _mnist1d_transform(x: np.ndarray, rs: np.random.RandomState, a: dict) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    low, high = a["padding"]
    # pad (with eps so that the template is nonzero where it lies), then dilate
    p = low + int(rs.rand() * (high - low + 1))
    x = np.concatenate([x + 1e-8, np.zeros(p)])
    x = _interpolate(x, a["template_len"] + high)
    x = x * (1 + a["scale_coeff"] * (rs.rand() - 0.5))  # scale
    k = rs.choice(a["max_translation"])  # translate (circularly)
    x = np.concatenate([x[-k:], x[:-k]])
    mask = x != 0  # correlated noise where the padding is, iid noise everywhere
    x = mask * x + (1 - mask) * gaussian_filter(a["corr_noise_scale"] * rs.randn(*x.shape), 2)
    x = x + a["iid_noise_scale"] * rs.randn(*x.shape)
    coeff = a["shear_scale"] * (rs.rand() - 0.5)  # shear
    x = x - coeff * np.linspace(-0.5, 0.5, len(x))
    return _interpolate(x, a["final_seq_length"])  # subsample


def mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train (4000, 40), y_train, x_test (1000, 40), y_test, as mnist1d.make_dataset()."""
    a = MNIST1D_ARGS
    rs = np.random.RandomState(a["seed"])
    templates = mnist1d_templates()
    per_class = a["num_samples"] // len(templates)
    xs, ys = [], []
    for label, template in enumerate(templates):
        for _ in range(per_class):
            xs.append(_mnist1d_transform(template, rs, a))
            ys.append(label)
    order = rs.permutation(len(ys))
    x = np.stack(xs)[order]
    y = np.asarray(ys)[order]
    x = (x - x.mean()) / x.std()
    split = int(len(y) * a["train_split"])
    return x[:split], y[:split], x[split:], y[split:]


def mnist1d() -> Dataset:
    """MNIST-1D with its defaults: 4,000 train and 1,000 test signals of length 40, one
    channel, ten classes. The same data for every training seed (like the benchmark)."""
    x_train, y_train, x_test, y_test = mnist1d_arrays()

    def signals(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x.astype(np.float32)[:, None])

    return Dataset(
        "mnist1d",
        "classification",
        signals(x_train),
        torch.from_numpy(y_train.astype(np.int64)),
        signals(x_test),
        torch.from_numpy(y_test.astype(np.int64)),
        classes=10,
    )


# ---------------------------------------------------------------------------------------
# CIFAR-10 and CIFAR-100: python-pickle batches

_FOLDERS = {
    "cifar10": "cifar-10-batches-py",
    "cifar100": "cifar-100-python",
    "stl10": "stl10_binary",
}


def _folder(root: str | Path, name: str, marker: str) -> Path:
    """`root/FOLDER` or `root` itself, whichever holds `marker`."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: --data-root is not a directory")
    for candidate in (root / _FOLDERS[name], root):
        if (candidate / marker).exists():
            return candidate
    raise DataError(
        f"{root}: no {name} files: expected {root / _FOLDERS[name] / marker} "
        f"(or {root / marker}, with --data-root pointing at {_FOLDERS[name]}/ itself)"
    )


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts of lists, bytes and NumPy arrays, and nothing that runs code."""

    def find_class(self, module: str, name: str):
        numpy_module = module == "numpy" or module.startswith(("numpy.core", "numpy._core"))
        if numpy_module and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if numpy_module and name in ("_reconstruct", "scalar"):
            from numpy._core import multiarray

            return getattr(multiarray, name)
        if numpy_module and name == "_frombuffer":
            from numpy._core import numeric

            return numeric._frombuffer
        if module == "_codecs" and name == "encode":  # bytes written by Python 2
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only arrays are read)")


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"{path}: missing file")
    try:
        with path.open("rb") as f:
            obj = _ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataError(
            f"{path}: cannot read a CIFAR python-pickle batch (truncated or not a pickle?): {err}"
        ) from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(obj).__name__}")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _cifar_batch(path: Path, label_key: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    for key in ("data", label_key):
        if key not in batch:
            raise DataError(f"{path}: no '{key}' entry (has {', '.join(map(str, batch))})")
    data = np.asarray(batch["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(
            f"{path}: 'data' must be uint8 of shape (N, 3072) (3x32x32 images, row-major "
            f"channels), found {data.dtype} of shape {data.shape}"
        )
    labels = _labels(np.asarray(batch[label_key]), path, f"'{label_key}'")
    if len(labels) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(labels)} labels in '{label_key}'")
    _check_range(labels, classes, path, f"'{label_key}'")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar(root, name, train_files, test_file, label_key, classes) -> Dataset:
    folder = _folder(root, name, test_file)
    parts = [_cifar_batch(folder / f, label_key, classes) for f in train_files]
    x_test, y_test = _cifar_batch(folder / test_file, label_key, classes)
    return Dataset(
        name,
        "classification",
        _images(np.concatenate([p[0] for p in parts])),
        torch.from_numpy(np.concatenate([p[1] for p in parts])),
        _images(x_test),
        torch.from_numpy(y_test),
        classes=classes,
        source=str(folder),
    )


def cifar10(root: str | Path) -> Dataset:
    """CIFAR-10: data_batch_1..5 (50,000 images) and test_batch (10,000)."""
    train = [f"data_batch_{i}" for i in range(1, 6)]
    return _cifar(root, "cifar10", train, "test_batch", "labels", 10)


def cifar100(root: str | Path) -> Dataset:
    """CIFAR-100: train (50,000) and test (10,000), the 100 fine labels."""
    return _cifar(root, "cifar100", ["train"], "test", "fine_labels", 100)


# ---------------------------------------------------------------------------------------
# STL-10: binary files


def _read_bin(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: missing file")
    return np.fromfile(path, dtype=np.uint8)


def stl10(root: str | Path) -> Dataset:
    """STL-10's labelled splits: train (5,000) and test (8,000) 96x96 colour images;
    the binaries store each image column-major, labels are 1..10."""
    folder = _folder(root, "stl10", "train_X.bin")
    size = 3 * 96 * 96
    splits = []
    for split in ("train", "test"):
        raw = _read_bin(folder / f"{split}_X.bin")
        if raw.size == 0 or raw.size % size:
            raise DataError(
                f"{folder / f'{split}_X.bin'}: {raw.size} bytes is not a whole number of "
                f"3x96x96 images ({size} bytes each): truncated or not STL-10"
            )
        x = raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)  # column-major → (C, H, W)
        labels_path = folder / f"{split}_y.bin"
        y = _read_bin(labels_path).astype(np.int64)
        if len(y) != len(x):
            raise DataError(
                f"{labels_path}: {len(y)} labels for {len(x)} images in {split}_X.bin (truncated?)"
            )
        if len(y) and (y.min() < 1 or y.max() > 10):
            bad = int(y[(y < 1) | (y > 10)][0])
            raise DataError(f"{labels_path}: label {bad} out of range; STL-10 labels are 1..10")
        splits.append((x, y - 1))
    (x_train, y_train), (x_test, y_test) = splits
    return Dataset(
        "stl10",
        "classification",
        _images(x_train),
        torch.from_numpy(y_train),
        _images(x_test),
        torch.from_numpy(y_test),
        classes=10,
        source=str(folder),
    )


# ---------------------------------------------------------------------------------------
# Arrays (.npz) and image folders


def _images(x: np.ndarray) -> torch.Tensor:
    """uint8 images scaled to [0, 1], as float32."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) / np.float32(255.0))


def _labels(y: np.ndarray, path: Path, what: str) -> np.ndarray:
    if y.ndim != 1:
        raise DataError(f"{path}: {what} must be a 1-D list of labels, found shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise DataError(f"{path}: {what} must hold integer class labels, found {y.dtype}")
    return y.astype(np.int64)


def _check_range(y: np.ndarray, classes: int | None, path: Path | str, what: str) -> None:
    if not len(y):
        return
    if y.min() < 0:
        raise DataError(f"{path}: {what}: label {int(y.min())} is negative")
    if classes is not None and y.max() >= classes:
        raise DataError(
            f"{path}: {what}: label {int(y.max())} out of range; this format has "
            f"{classes} classes (0..{classes - 1})"
        )


def _float_array(x: np.ndarray, path: Path, what: str) -> np.ndarray:
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            raise DataError(f"{path}: {what} holds NaN or infinite values")
        return x.astype(np.float32)
    raise DataError(
        f"{path}: {what} must be uint8 (scaled to [0, 1]) or floating point, found {x.dtype}"
    )


def _layout(x: np.ndarray, shape: tuple[int, ...] | None) -> tuple[np.ndarray, bool]:
    """x in (N, C, *spatial); NHWC images are transposed, (N, H, W) and (N, L) get a
    channel axis when the network takes one channel. Returns (x, whether NHWC)."""
    if shape is not None:
        if tuple(x.shape[1:]) == tuple(shape):
            return x, False
        if len(shape) == 3 and x.ndim == 4 and tuple(x.shape[1:]) == (*shape[1:], shape[0]):
            return x.transpose(0, 3, 1, 2), True
        if shape[0] == 1 and x.ndim == len(shape) and tuple(x.shape[1:]) == tuple(shape[1:]):
            return x[:, None], False
        return x, False
    if x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        return x.transpose(0, 3, 1, 2), True
    return x, False


def npz(path: str | Path, shape: tuple[int, ...] | None = None) -> Dataset:
    """x_train, y_train, x_test, y_test: images NCHW or NHWC, signals NCL (uint8 is scaled
    to [0, 1]); integer labels (classification) or targets shaped like the network's
    output (regression, denoising)."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
        arrays = {k: archive[k] for k in archive.files}
    except Exception as err:  # zipfile, OSError, ValueError: truncated or not an .npz
        raise DataError(f"{path}: cannot read an .npz archive (truncated?): {err}") from None
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise DataError(
            f"{path}: missing {', '.join(missing)} (an .npz needs x_train, y_train, x_test, "
            f"y_test; it has {', '.join(arrays) or 'nothing'})"
        )
    xs = {}
    nhwc = False
    for split in ("train", "test"):
        x = arrays[f"x_{split}"]
        if x.ndim < 2:
            raise DataError(f"{path}: x_{split} must be (N, C, ...), found shape {x.shape}")
        x, nhwc = _layout(x, shape)
        xs[split] = _float_array(x, path, f"x_{split}")
    if xs["train"].shape[1:] != xs["test"].shape[1:]:
        raise DataError(
            f"{path}: x_train has samples of shape {xs['train'].shape[1:]} but x_test "
            f"{xs['test'].shape[1:]}"
        )
    ys = {s: arrays[f"y_{s}"] for s in ("train", "test")}
    for split in ("train", "test"):
        if len(ys[split]) != len(xs[split]):
            raise DataError(
                f"{path}: {len(xs[split])} samples in x_{split} but {len(ys[split])} in y_{split}"
            )
    classification = ys["train"].ndim == 1
    if classification:
        y_train = _labels(ys["train"], path, "y_train")
        y_test = _labels(ys["test"], path, "y_test")
        _check_range(y_train, None, path, "y_train")
        _check_range(y_test, None, path, "y_test")
        classes = int(max(y_train.max(initial=-1), y_test.max(initial=-1))) + 1
        targets = (torch.from_numpy(y_train), torch.from_numpy(y_test))
        task = "classification"
    else:
        out = []
        for split in ("train", "test"):
            y = ys[split]
            if nhwc and y.ndim == 4:
                y = y.transpose(0, 3, 1, 2)
            elif shape is not None and shape[0] == 1 and y.ndim == len(shape):
                y = y[:, None]
            out.append(torch.from_numpy(_float_array(y, path, f"y_{split}")))
        if out[0].shape[1:] != out[1].shape[1:]:
            raise DataError(
                f"{path}: y_train has targets of shape {tuple(out[0].shape[1:])} but y_test "
                f"{tuple(out[1].shape[1:])}"
            )
        targets, classes, task = tuple(out), None, "denoising"
    return Dataset(
        path.stem,
        task,
        torch.from_numpy(xs["train"]),
        targets[0],
        torch.from_numpy(xs["test"]),
        targets[1],
        classes=classes,
        source=str(path),
    )


def image_folder(root: str | Path, shape: tuple[int, ...] | None = None) -> Dataset:
    """DIR/train/CLASS/*.png|jpg and DIR/test/CLASS/... (or DIR/val/): the classes are the
    sorted folder names of train/; images are read with Pillow as grey (one channel),
    RGB (three) or RGBA (four), as the network's input asks, and must all be one size."""
    root = Path(root)
    train_dir = root / "train"
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    if not train_dir.is_dir() or test_dir is None:
        raise DataError(
            f"{root}: an image-folder dataset needs {root / 'train'}/CLASS/*.png|jpg and "
            f"{root / 'test'}/ (or {root / 'val'}/); found "
            f"{', '.join(sorted(p.name + '/' for p in root.iterdir() if p.is_dir())) or 'no folders'}"
        )
    classes = sorted(p.name for p in train_dir.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{train_dir}: no class folders (expected {train_dir}/CLASS/*.png)")
    unknown = sorted(
        p.name for p in test_dir.iterdir() if p.is_dir() and p.name not in set(classes)
    )
    if unknown:
        raise DataError(
            f"{test_dir / unknown[0]}: class '{unknown[0]}' is not among the training classes "
            f"in {train_dir} ({', '.join(classes)})"
        )
    channels = shape[0] if shape else 3
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise DataError(
            f"{root}: image files give 1, 3 or 4 channels; the network takes {channels}"
        )
    size = {"value": None}

    def read(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image

        images, labels = [], []
        for label, name in enumerate(classes):
            directory = folder / name
            if not directory.is_dir():
                continue
            for file in sorted(directory.iterdir()):
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                try:
                    with Image.open(file) as im:
                        array = np.asarray(im.convert(mode))
                except Exception as err:  # PIL raises many kinds for a broken file
                    raise DataError(f"{file}: cannot read the image: {err}") from None
                if size["value"] is None:
                    size["value"] = (array.shape[:2], file)
                elif array.shape[:2] != size["value"][0]:
                    (h, w), first = size["value"]
                    raise DataError(
                        f"{file}: image is {array.shape[1]}x{array.shape[0]} (WxH) but "
                        f"{first} is {w}x{h}; every image must have the same size"
                    )
                images.append(array.reshape(*array.shape[:2], -1).transpose(2, 0, 1))
                labels.append(label)
        if not images:
            raise DataError(f"{folder}: no .png or .jpg images in {folder}/CLASS/")
        return _images(np.stack(images)), torch.tensor(labels, dtype=torch.int64)

    x_train, y_train = read(train_dir)
    x_test, y_test = read(test_dir)
    return Dataset(
        root.name,
        "classification",
        x_train,
        y_train,
        x_test,
        y_test,
        classes=len(classes),
        source=str(root),
    )


# ---------------------------------------------------------------------------------------
# Checking data against the network


def check_fits(data: Dataset, network, spec: str = "") -> None:
    """Raise DataError unless the data fit the network: input shape, and for classification
    labels within the network's outputs, for regression targets shaped like its output."""
    where = data.source or data.name
    expected = tuple(network.input.shape)
    held = tuple(data.input_shape)
    name = f"network '{network.name}'" + (f" ({spec})" if spec else "")
    kind = network.input.kind
    declared = f"input {kind}({', '.join(map(str, expected))})"
    if held != expected:
        layout = {"image": "(N, C, H, W)", "signal": "(N, C, L)"}.get(kind, "(N, features)")
        raise DataError(
            f"{where}: the data hold inputs of shape {held} (N={len(data.x_train)} training "
            f"samples, {tuple(data.x_train.shape)}) but {name} expects {declared}, i.e. "
            f"{layout} = (N, {', '.join(map(str, expected))}); change the spec's `input` or "
            "bring data of that size"
        )
    outputs = tuple(network.output_shape)
    if data.task == "classification":
        if len(outputs) != 1:
            raise DataError(
                f"{where}: the data are labelled for classification but {name} outputs "
                f"{outputs}, not a vector of class scores"
            )
        classes = data.classes
        largest = int(max(data.y_train.max(), data.y_test.max())) if len(data.y_train) else -1
        if classes is None or classes < largest + 1:
            classes = largest + 1
        if classes > outputs[0]:
            raise DataError(
                f"{where}: {classes} classes but {name} has {outputs[0]} outputs; set the "
                f"output to linear(... -> {classes})"
            )
    elif tuple(data.y_train.shape[1:]) != outputs:
        raise DataError(
            f"{where}: targets of shape {tuple(data.y_train.shape[1:])} but {name} outputs "
            f"{outputs}"
        )


def psnr(estimate: torch.Tensor, clean: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for data in [0, 1], averaged over samples."""
    mse = ((estimate - clean) ** 2).flatten(1).mean(1).clamp_min(1e-12)
    return float((10 * torch.log10(1.0 / mse)).mean())
