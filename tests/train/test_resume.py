"""--resume: a run stopped after an epoch and continued ends bit-identical to the
uninterrupted run (weights, optimizer, schedule, data order, augmentation, validation)."""

from __future__ import annotations

import json

import pytest
import torch

import pde2net
from pde2net.train.datasets import DataError, load
from pde2net.train.loop import TrainConfig, load_checkpoint, resumed_config, train
from tests.conftest import SPECS

SPEC = str(SPECS / "experiments" / "digits_resnet.pde")


def _data():
    data = load("digits")
    data.x_train, data.y_train = data.x_train[:160], data.y_train[:160]
    data.x_test, data.y_test = data.x_test[:64], data.y_test[:64]
    return data


def _config(**kw) -> TrainConfig:
    base = dict(
        epochs=3,
        batch_size=32,
        optimizer="sgd",
        lr=0.05,
        weight_decay=5e-4,
        schedule="cosine",
        smoothness=1e-4,
        augment=("crop", "flip"),
        normalize=True,
        val_fraction=0.2,
        seed=3,
        progress=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def _compiled():
    return pde2net.compile_file(SPEC, set={"steps": 2})


def _run_to_end(out, **kw):
    compiled = _compiled()
    metrics = train(compiled, _data(), _config(**kw), out)
    return compiled.module.state_dict(), metrics


def test_resumed_run_is_bit_identical_to_a_straight_one(tmp_path):
    straight, expected = _run_to_end(tmp_path / "straight")
    checkpoint = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)

    stopped = _compiled()
    partial = train(stopped, _data(), _config(stop_after=1), tmp_path / "resumed")
    assert partial["epochs"] == 1 and partial["finished"] is False
    assert not (tmp_path / "resumed" / "digits_resnet.onnx").exists()

    state = load_checkpoint(tmp_path / "resumed")
    config = resumed_config(state, _config(lr=123.0, stop_after=None))  # lr from checkpoint
    assert config.lr == 0.05
    compiled = _compiled()
    metrics = train(compiled, _data(), config, tmp_path / "resumed", resume=state)
    resumed = compiled.module.state_dict()
    assert resumed.keys() == straight.keys()
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name
    assert metrics["history"] == expected["history"]
    assert metrics["validation"] == expected["validation"]
    assert metrics["test_accuracy"] == expected["test_accuracy"]
    final = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    for a, b in zip(
        checkpoint["optimizer"]["state"].values(),
        final["optimizer"]["state"].values(),
        strict=True,
    ):
        assert torch.equal(a["momentum_buffer"], b["momentum_buffer"])
    assert checkpoint["scheduler"] == final["scheduler"]
    assert torch.equal(checkpoint["rng"]["order"], final["rng"]["order"])


def test_best_epoch_is_kept_and_exported(tmp_path):
    _, metrics = _run_to_end(tmp_path, epochs=2)
    best = metrics["validation"]["best_epoch"]
    assert best in (1, 2)
    assert metrics["test_accuracy"] == metrics["history"]["test_accuracy"][best - 1]
    saved = torch.load(tmp_path / "best.pt", weights_only=False)
    assert saved["epoch"] == best


def test_resume_refuses_a_finished_or_foreign_checkpoint(tmp_path):
    _run_to_end(tmp_path, epochs=1, val_fraction=0.0)
    state = load_checkpoint(tmp_path)
    with pytest.raises(DataError, match="finished run"):
        train(_compiled(), _data(), resumed_config(state, _config()), tmp_path, resume=state)
    with pytest.raises(DataError, match="no checkpoint"):
        load_checkpoint(tmp_path / "elsewhere")
    other = pde2net.compile_file(str(SPECS / "experiments" / "digits_parabolic.pde"))
    state["epoch"] = 0
    with pytest.raises(DataError, match="network 'digits_resnet'"):
        train(other, _data(), resumed_config(state, _config()), tmp_path, resume=state)


@pytest.mark.slow
def test_cli_stop_and_resume_equals_a_straight_run(tmp_path, cli):
    common = ["--data", "digits", "--epochs", "2", "--no-progress", "--set", "steps=1"]
    common += ["--optimizer", "sgd", "--lr", "0.05", "--schedule", "step", "--seed", "5"]
    straight = cli("train", SPEC, *common, "--out", str(tmp_path / "a"))
    assert straight.returncode == 0, straight.stderr
    first = cli("train", SPEC, *common, "--out", str(tmp_path / "b"), "--stop-after", "1")
    assert first.returncode == 0, first.stderr
    assert "--resume" in first.stdout
    again = cli("train", SPEC, "--data", "digits", "--set", "steps=1", "--no-progress",
                "--resume", str(tmp_path / "b"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["history"] == b["history"] and a["test_accuracy"] == b["test_accuracy"]
    wa = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)["model"]
    wb = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (tmp_path / "a" / "digits_resnet.onnx").read_bytes() == (
        tmp_path / "b" / "digits_resnet.onnx"
    ).read_bytes()
