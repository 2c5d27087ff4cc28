"""GPU numbers, where a CUDA device is present (CI has none; this runs on a lent machine).

Two measurements, each independent of the other:
1. the diffusion networks of Alt et al. (specs/alt_2023) against the device's memory
   bandwidth (a device-to-device copy, counted as bytes read plus written), in torch
   eager and torch.compile, with the bytes per image from the ONNX graph
   (benchmarks/roofline.py), at 512×512 and 2048×2048;
2. training throughput of the parabolic CIFAR-10 network (forward, cross-entropy,
   backward, SGD with momentum) in images/s, and the CIFAR-10 epoch time it implies.

Run: `python -m benchmarks.gpu OUT.json`.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, repeats: int) -> float:
    """Median seconds per call, by CUDA events, after two warm-up calls."""
    import torch

    fn()
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return sorted(times)[len(times) // 2]


def copy_bandwidth() -> float:
    import torch

    n = 1 << 28  # 1 GiB of float32
    a, b = torch.empty(n, device="cuda"), torch.rand(n, device="cuda")
    return 2 * 4 * n / _timed(lambda: a.copy_(b), 10) / 1e9


def diffusion(bandwidth: float) -> list[dict[str, Any]]:
    import torch

    from benchmarks.inference import compiled_model
    from benchmarks.roofline import graph_bytes, input_shape

    rows = []
    for spec in sorted((ROOT / "specs" / "alt_2023").glob("*.pde")):
        compiled, model = compiled_model(spec)
        module = compiled.module.cuda().eval()
        fast = torch.compile(module)
        for n, batch in ((512, 16), (2048, 2)):
            shape = input_shape(compiled.network, n)
            per_image = graph_bytes(model, shape)["total"]
            x = torch.randn(batch, *shape, device="cuda")
            for runtime, fn in (("torch eager", module), ("torch.compile", fast)):
                try:
                    with torch.inference_mode():
                        seconds = _timed(lambda fn=fn, x=x: fn(x), 20)
                except Exception as err:  # a compile failure is a result, not a crash
                    rows.append(
                        {
                            "spec": spec.stem,
                            "size": n,
                            "runtime": runtime,
                            "error": f"{type(err).__name__}: {str(err)[:200]}",
                        }
                    )
                    continue
                achieved = per_image * batch / seconds / 1e9
                rows.append(
                    {
                        "spec": spec.stem,
                        "size": n,
                        "batch": batch,
                        "runtime": runtime,
                        "ms_per_batch": seconds * 1e3,
                        "bytes_per_image": per_image,
                        "achieved_gbs": achieved,
                        "share_of_copy": achieved / bandwidth,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def training() -> dict[str, Any]:
    import torch

    import pde2net

    spec = ROOT / "specs" / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
    module = pde2net.compile_file(str(spec)).module.cuda().train()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    batch = 128
    x = torch.randn(batch, 3, 32, 32, device="cuda")
    y = torch.randint(0, 10, (batch,), device="cuda")

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(module(x), y).backward()
        optimizer.step()

    seconds = _timed(step, 30)
    return {
        "spec": spec.name,
        "batch": batch,
        "step_ms": seconds * 1e3,
        "images_per_s": batch / seconds,
        "cifar10_epoch_s": 50_000 / (batch / seconds),
    }


def main(out: str) -> None:
    import torch

    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
    }
    start = time.perf_counter()
    only = sys.argv[2:]  # job names to run (default: all)
    for name, job in (
        ("copy_gbs", copy_bandwidth),
        ("training", training),
        ("diffusion", lambda: diffusion(result["copy_gbs"])),
    ):
        if only and name not in only and name != "copy_gbs":
            continue
        try:
            result[name] = job()
        except Exception:
            result[name] = {"error": traceback.format_exc()[-2000:]}
        print(name, json.dumps(result[name])[:300], flush=True)
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
    result["seconds"] = time.perf_counter() - start
    Path(out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
