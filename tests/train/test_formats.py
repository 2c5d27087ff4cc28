"""The on-disk formats of `--data`: each reader against tiny files written in that
format, and malformed copies refused with an error that names the file."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from pde2net.train import datasets
from pde2net.train.datasets import DataError
from tests.train import formats


def test_cifar10_reads_the_pickle_batches_in_either_layout(tmp_path):
    folder = formats.write_cifar10(tmp_path)
    for root in (tmp_path, folder):  # the parent (torchvision) or the folder itself
        data = datasets.load("cifar10", root=root)
        assert data.x_train.shape == (100, 3, 32, 32) and data.x_test.shape == (40, 3, 32, 32)
        assert data.x_train.dtype == torch.float32 and float(data.x_train.max()) <= 1.0
        assert data.task == "classification" and data.classes == 10
    x, y = formats.images(20, 4, 32, 0)  # data_batch_1 as written
    assert torch.equal(data.y_train[:20], torch.from_numpy(y))
    assert torch.allclose(data.x_train[:20], torch.from_numpy(x / 255.0).float())


def test_cifar100_uses_the_fine_labels(tmp_path):
    formats.write_cifar100(tmp_path)
    data = datasets.load("cifar100", root=tmp_path)
    assert data.classes == 100 and set(data.y_train.tolist()) == {0, 25, 50, 75}


def test_stl10_binaries_are_column_major_with_labels_from_1(tmp_path):
    formats.write_stl10(tmp_path)
    data = datasets.load("stl10", root=tmp_path)
    x, y = formats.images(20, 4, 96, 0)
    assert data.x_train.shape == (20, 3, 96, 96)
    assert torch.equal(data.y_train, torch.from_numpy(y))
    assert torch.allclose(data.x_train, torch.from_numpy(x / 255.0).float())


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_npz_images_in_either_layout(tmp_path, layout):
    path = formats.write_npz(tmp_path / "d.npz", layout=layout)
    data = datasets.load(str(path), shape=(3, 8, 8))
    x, _ = formats.images(40, 4, 8, 0)
    assert torch.allclose(data.x_train, torch.from_numpy(x / 255.0).float())
    assert data.classes == 4 and data.task == "classification"


def test_npz_signals_and_denoising_targets(tmp_path):
    rng = np.random.default_rng(0)
    clean = rng.uniform(0, 1, (10, 1, 16)).astype(np.float32)
    path = tmp_path / "s.npz"
    np.savez(path, x_train=clean + 0.1, y_train=clean, x_test=clean[:4] + 0.1, y_test=clean[:4])
    data = datasets.load(str(path), shape=(1, 16))
    assert data.task == "denoising" and data.y_train.shape == (10, 1, 16)


@pytest.mark.parametrize("test_name", ["test", "val"])
def test_image_folders(tmp_path, test_name):
    formats.write_folder(tmp_path, test_name=test_name)
    data = datasets.load(str(tmp_path), shape=(3, 8, 8))
    assert data.x_train.shape == (24, 3, 8, 8) and data.x_test.shape == (12, 3, 8, 8)
    assert data.classes == 4
    x, y = formats.images(24, 4, 8, 0)
    # files are read class by class: compare as sets of (image, label)
    got = {
        (int(c), data.x_train[i].mul(255).round().byte().numpy().tobytes())
        for i, c in enumerate(data.y_train)
    }
    want = {(int(c), x[i].tobytes()) for i, c in enumerate(y)}
    assert got == want
    grey = datasets.load(str(tmp_path), shape=(1, 8, 8))
    assert grey.x_train.shape == (24, 1, 8, 8)


def test_mnist1d_has_the_benchmark_defaults():
    data = datasets.load("mnist1d")
    assert data.x_train.shape == (4000, 1, 40) and data.x_test.shape == (1000, 1, 40)
    assert data.classes == 10 and sorted(set(data.y_test.tolist())) == list(range(10))
    all_x = torch.cat([data.x_train, data.x_test])
    assert abs(float(all_x.mean())) < 1e-5 and float(all_x.std()) == pytest.approx(1, abs=1e-3)
    assert torch.equal(datasets.load("mnist1d").x_test, data.x_test)  # seeded


def _error(call) -> str:
    with pytest.raises(DataError) as info:
        call()
    return str(info.value)


def test_malformed_cifar_is_refused_naming_the_file(tmp_path):
    folder = formats.write_cifar10(tmp_path)
    (folder / "data_batch_3").unlink()
    assert f"{folder / 'data_batch_3'}: missing file" in _error(
        lambda: datasets.load("cifar10", root=tmp_path)
    )
    formats_dir = tmp_path / "b"
    folder = formats.write_cifar10(formats_dir)
    raw = (folder / "data_batch_2").read_bytes()
    (folder / "data_batch_2").write_bytes(raw[: len(raw) // 2])
    message = _error(lambda: datasets.load("cifar10", root=formats_dir))
    assert str(folder / "data_batch_2") in message and "truncated" in message
    for name, batch, what in (
        ("c", {b"data": np.zeros((3, 100), np.uint8), b"labels": [0, 1, 2]}, "(N, 3072)"),
        ("d", {b"data": np.zeros((3, 3072), np.float32), b"labels": [0, 1, 2]}, "uint8"),
        ("e", {b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 12]}, "label 12 out"),
        ("f", {b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]}, "3 images but 2"),
    ):
        folder = formats.write_cifar10(tmp_path / name)
        (folder / "test_batch").write_bytes(pickle.dumps(batch))
        message = _error(lambda n=name: datasets.load("cifar10", root=tmp_path / n))
        assert message.startswith(str(folder / "test_batch")) and what in message, message


def test_pickles_that_run_code_are_refused(tmp_path):
    folder = formats.write_cifar10(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    assert "refusing to load builtins.print" in _error(
        lambda: datasets.load("cifar10", root=tmp_path)
    )


def test_malformed_stl10_is_refused_naming_the_file(tmp_path):
    folder = formats.write_stl10(tmp_path / "a")
    raw = (folder / "train_X.bin").read_bytes()
    (folder / "train_X.bin").write_bytes(raw[:-100])
    message = _error(lambda: datasets.load("stl10", root=tmp_path / "a"))
    assert str(folder / "train_X.bin") in message and "truncated" in message
    folder = formats.write_stl10(tmp_path / "b")
    np.array([1, 2, 11] + [1] * 7, np.uint8).tofile(folder / "test_y.bin")
    message = _error(lambda: datasets.load("stl10", root=tmp_path / "b"))
    assert str(folder / "test_y.bin") in message and "label 11 out of range" in message
    folder = formats.write_stl10(tmp_path / "c")
    np.array([1, 2], np.uint8).tofile(folder / "test_y.bin")
    assert "2 labels for 10 images" in _error(lambda: datasets.load("stl10", root=tmp_path / "c"))
    assert "--data-root" in _error(lambda: datasets.load("stl10"))
    assert "no stl10 files" in _error(lambda: datasets.load("stl10", root=tmp_path))


def test_malformed_npz_and_folders_are_refused(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((4, 3, 8, 8)), y_train=np.zeros(4, int))
    assert "missing x_test, y_test" in _error(lambda: datasets.load(str(path)))
    np.savez(
        path,
        x_train=np.zeros((4, 3, 8, 8), np.int32),
        y_train=np.zeros(4, int),
        x_test=np.zeros((2, 3, 8, 8), np.int32),
        y_test=np.zeros(2, int),
    )
    assert "must be uint8" in _error(lambda: datasets.load(str(path)))
    np.savez(
        path,
        x_train=np.zeros((4, 3, 8, 8)),
        y_train=np.array([0, 1, -1, 0]),
        x_test=np.zeros((2, 3, 8, 8)),
        y_test=np.zeros(2, int),
    )
    assert "label -1 is negative" in _error(lambda: datasets.load(str(path)))
    np.savez(
        path,
        x_train=np.zeros((4, 3, 8, 8)),
        y_train=np.array([0.5, 1, 1, 0]),
        x_test=np.zeros((2, 3, 8, 8)),
        y_test=np.zeros(2, int),
    )
    assert "integer class labels" in _error(lambda: datasets.load(str(path)))
    path.write_bytes(b"PK\x03\x04 not really")
    assert f"{path}: cannot read an .npz" in _error(lambda: datasets.load(str(path)))
    folder = formats.write_folder(tmp_path / "f")
    odd = next((folder / "train").rglob("*.png"))
    from PIL import Image

    Image.new("RGB", (9, 8)).save(odd)
    message = _error(lambda: datasets.load(str(folder)))
    assert str(odd) in message and "same size" in message
    odd.write_bytes(b"\x89PNG broken")
    assert f"{odd}: cannot read the image" in _error(lambda: datasets.load(str(folder)))
    (tmp_path / "g" / "train" / "a").mkdir(parents=True)
    assert "needs" in _error(lambda: datasets.load(str(tmp_path / "g")))
    assert "unknown dataset 'nope'" in _error(lambda: datasets.load("nope"))


def test_data_that_do_not_fit_the_network_are_refused(tmp_path):
    import pde2net.api
    from tests.conftest import SPECS

    spec = SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
    network = pde2net.api.check_spec(str(spec)).network
    formats.write_stl10(tmp_path)
    message = _error(lambda: datasets.check_fits(datasets.load("stl10", root=tmp_path), network))
    assert "(3, 96, 96)" in message and "image(3, 32, 32)" in message
    formats.write_cifar100(tmp_path)
    message = _error(lambda: datasets.check_fits(datasets.load("cifar100", root=tmp_path), network))
    assert "100 classes" in message and "10 outputs" in message
    datasets.check_fits(
        datasets.load("cifar10", root=formats.write_cifar10(tmp_path / "c")), network
    )
