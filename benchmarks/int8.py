"""Static int8 quantization (`pde2net compile --quantize int8`): accuracy change and
speedup on the parabolic CIFAR-10 network.

CIFAR-10 is not available offline, so the network is trained briefly on scikit-learn's
8×8 digits, upsampled to 32×32 and repeated over the 3 channels (1437 training and 360
test images, stratified). The trained module is exported as `pde2net compile` does,
quantized with calibration on 256 training images, and both models are timed in
onnxruntime and scored on the test images. `--quick` skips the training (random
weights, standard-normal calibration) and only checks that the path works."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.inference import ort_session
from benchmarks.timing import interleaved, median

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "ruthotto_haber_2018" / "parabolic_cifar10.pde"


def digits_32(seed: int = 0):
    """Digits as (N, 3, 32, 32) float32 images, standardised, split 80/20."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False)
    images = ((images - images.mean()) / images.std()).repeat(1, 3, 1, 1).numpy()
    return train_test_split(
        images, bunch.target, test_size=0.2, stratify=bunch.target, random_state=seed
    )


def train(module, x: np.ndarray, y: np.ndarray, epochs: int, batch: int = 32) -> float:
    import torch
    import torch.nn.functional as F

    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    module.train()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=generator)
        for i in range(0, len(xt), batch):
            idx = order[i : i + batch]
            loss = F.cross_entropy(module(xt[idx]), yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    module.eval()
    return time.perf_counter() - start


def run(quick: bool, threads: int = 2, epochs: int = 3) -> dict[str, Any]:
    import torch

    import pde2net
    from pde2net.export.onnx import calibration_inputs, compare_int8, quantize_int8
    from pde2net.pipeline import export_compiled

    torch.set_num_threads(threads)
    compiled = pde2net.compile_file(str(SPEC))
    result: dict[str, Any] = {"spec": str(SPEC.relative_to(ROOT))}
    if quick:
        calibration = calibration_inputs(compiled.plan, 16, seed=2)
        test_x, test_y = calibration_inputs(compiled.plan, 32, seed=3), None
        result["data"] = "random weights, standard-normal inputs (--quick)"
    else:
        train_x, test_x, train_y, test_y = digits_32()
        result["train_s"] = train(compiled.module, train_x, train_y, epochs)
        result["data"] = (
            f"trained {epochs} epochs on sklearn digits upsampled to 3×32×32 "
            f"({len(train_x)} train / {len(test_x)} test)"
        )
        calibration = train_x[:256]
    fp32, record = export_compiled(compiled)
    start = time.perf_counter()
    int8 = quantize_int8(fp32, calibration)
    result["quantize_s"] = time.perf_counter() - start
    result["calibration_samples"] = len(calibration)
    result["verified_fp32_max_rel_error"] = record["max_rel_error"]
    result["against_float"] = compare_int8(fp32, int8, test_x, test_y)
    sessions = {"fp32": ort_session(fp32, threads), "int8": ort_session(int8, threads)}
    timings = {}
    for batch in (1, 32):
        x = np.ascontiguousarray(np.resize(test_x, (batch, *test_x.shape[1:])), dtype=np.float32)
        contenders = {
            k: (lambda s=s, x=x: s.run(["output"], {"input": x})) for k, s in sessions.items()
        }
        per_round = (5 if quick else 25) if batch == 1 else (1 if quick else 3)
        times = interleaved(contenders, 3 if quick else 10, per_round)
        fp, q = median(times["fp32"]), median(times["int8"])
        timings[batch] = {"fp32_ms": fp * 1e3, "int8_ms": q * 1e3, "speedup": fp / q}
    result["timings"] = timings
    result["bytes"] = {"fp32": len(fp32), "int8": len(int8)}
    return result
