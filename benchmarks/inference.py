"""Inference: the ONNX model `pde2net compile` writes, in onnxruntime, against the module
from `pde2net.compile_file` in torch eager mode and under torch.compile, all in one
process on the same number of threads, timed interleaved (benchmarks/timing.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.flops import network_flops
from benchmarks.timing import interleaved, median, spread

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"

NETWORKS = {
    "parabolic": SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde",
    "hamiltonian": SPECS / "ruthotto_haber_2018" / "hamiltonian_cifar10.pde",
    "second order": SPECS / "ruthotto_haber_2018" / "second_order_cifar10.pde",
    "resnet": SPECS / "ruthotto_haber_2018" / "resnet_cifar10.pde",
    "diffusion": SPECS / "alt_2023" / "explicit.pde",
}
QUICK_NETWORKS = ("parabolic", "diffusion")


def ort_session(model: bytes | str, threads: int, **options: Any):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    for key, value in options.items():
        if key == "config":
            for k, v in value.items():
                so.add_session_config_entry(k, v)
        else:
            setattr(so, key, value)
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def compiled_model(spec: Path) -> tuple[Any, bytes]:
    """The module of `compile_file` and the verified ONNX bytes `pde2net compile` writes."""
    import pde2net
    from pde2net.pipeline import export_compiled

    compiled = pde2net.compile_file(str(spec))
    model, _ = export_compiled(compiled)
    compiled.module.eval()
    return compiled, model


def try_torch_compile(fn, example) -> tuple[Any, str, float]:
    """The torch.compile'd `fn` warmed up on `example` (compiling for its shape):
    (fn or None, status, seconds)."""
    import torch

    start = time.perf_counter()
    try:
        with torch.inference_mode():
            fn(example)
    except Exception as err:  # a missing compiler, an unsupported op: reported, not fatal
        summary = (str(err).strip().splitlines() or [""])[0][:120]
        return None, f"failed: {type(err).__name__}: {summary}", time.perf_counter() - start
    return fn, "ok", time.perf_counter() - start


def run(
    quick: bool, threads: int = 2, batches: tuple[int, ...] = (1, 32), peak_gflops: float = 0.0
) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    names = QUICK_NETWORKS if quick else tuple(NETWORKS)
    rows, sessions = [], []
    for name in names:
        compiled, model = compiled_model(NETWORKS[name])
        flops = network_flops(compiled.network)["total"]
        shape = compiled.network.input.shape
        # session creation (fresh sessions from the bytes in the file)
        creations = []
        for _ in range(3 if quick else 7):
            start = time.perf_counter()
            ort_session(model, threads)
            creations.append(time.perf_counter() - start)
        sessions.append({"network": name, "median_s": median(creations), "bytes": len(model)})
        session = ort_session(model, threads)
        module = compiled.module
        compiled_fn = None if quick else torch.compile(module)  # one per network
        for batch in batches:
            x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(batch))
            xn = x.numpy()
            contenders = {
                "onnxruntime": lambda s=session, xn=xn: s.run(["output"], {"input": xn}),
                "torch eager": lambda m=module, x=x: _eager(m, x),
            }
            status, compile_s = "skipped (--quick)", None
            if not quick:
                fn, status, compile_s = try_torch_compile(compiled_fn, x)
                if fn is not None:
                    contenders["torch.compile"] = lambda fn=fn, x=x: _eager(fn, x)
            with torch.inference_mode():
                ref = module(x).numpy()
            got = session.run(["output"], {"input": xn})[0]
            deviation = float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))
            rounds = 2 if quick else 12
            per_round = (3 if quick else 25) if batch == 1 else (1 if quick else 2)
            times = interleaved(contenders, rounds, per_round)
            for runtime, values in times.items():
                seconds = median(values)
                lo, hi = spread(values)
                gflops = flops * batch / seconds / 1e9 if flops else None
                rows.append(
                    {
                        "network": name,
                        "batch": batch,
                        "runtime": runtime,
                        "median_ms": seconds * 1e3,
                        "iqr_ms": [lo * 1e3, hi * 1e3],
                        "samples": len(values),
                        "throughput_per_s": batch / seconds,
                        "gflops": gflops,
                        "peak_share": gflops / peak_gflops if gflops and peak_gflops else None,
                        "flops_per_sample": flops,
                    }
                )
            eager = median(times["torch eager"])
            ort_s = median(times["onnxruntime"])
            compiled_s = median(times["torch.compile"]) if "torch.compile" in times else None
            for row in rows[-len(times) :]:
                row["ort_speedup_vs_eager"] = eager / ort_s
                row["ort_speedup_vs_compile"] = compiled_s / ort_s if compiled_s else None
                row["torch_compile"] = status
                row["torch_compile_s"] = compile_s
                row["ort_max_rel_deviation"] = deviation
    return {"threads": threads, "rows": rows, "sessions": sessions}


def _eager(fn, x):
    import torch

    with torch.inference_mode():
        return fn(x)
