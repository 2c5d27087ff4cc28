"""The diffusion networks of Alt et al. against memory bandwidth, their real roofline.

With one input channel and a handful of filters, a diffusion step does ~20 FLOPs per
byte it moves at most, so its ceiling is how fast the machine streams memory, not its
FLOP peak. This benchmark measures that ceiling (STREAM's copy, scale, add and triad,
with torch on the same threads as the networks, at working-set sizes from L2 to well
past the last-level cache), counts the bytes each network must move per image, and
reports the achieved share of the bandwidth measured at the network's own working-set
size, in onnxruntime (with its default optimizations, and without the NCHWc layout
transform among them), torch eager and torch.compile.

Bytes per image come from the ONNX graph the compiler writes (its IR as onnxruntime runs
it), by shape inference at the input size: every node reads its tensor inputs and
writes its outputs once (weights excluded: a few hundred bytes, cache-resident). That is
the traffic of op-by-op execution, what the runtimes do; a fused kernel could move less,
so a share above 100 % means fusion or cache reuse beat the op-by-op count.

Run: `python -m benchmarks.roofline [--quick]`; writes benchmarks/results/roofline.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from benchmarks.inference import _eager, compiled_model, ort_session, try_torch_compile
from benchmarks.timing import interleaved, median

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs" / "alt_2023").glob("*.pde"))
RESULTS = ROOT / "benchmarks" / "results"
MIB = 1 << 20


def stream(threads: int, sizes_mib: list[int], repeats: int = 5) -> list[dict[str, Any]]:
    """STREAM (McCalpin) with torch tensors of float32: best-of-`repeats` GB/s of
    copy (a = b, 2 arrays moved), scale (a = s·b, 2), add (a = b + c, 3) and triad
    (a = b + s·c, 3) per array size."""
    import torch

    torch.set_num_threads(threads)
    return [_stream_row(size, repeats) for size in sizes_mib]


def _stream_row(size: int, repeats: int) -> dict[str, Any]:
    import torch

    n = size * MIB // 4
    a, b, c = (torch.rand(n) for _ in range(3))
    kernels = {
        "copy": (lambda: a.copy_(b), 2),
        "scale": (lambda: torch.mul(b, 3.0, out=a), 2),
        "add": (lambda: torch.add(b, c, out=a), 3),
        "triad": (lambda: torch.add(b, c, alpha=3.0, out=a), 3),
    }
    row: dict[str, Any] = {"array_mib": size}
    for name, (kernel, arrays) in kernels.items():
        kernel()  # touch the pages first
        best = math.inf
        inner = max(1, int(256 / size))  # ≥ ~256 MiB per timing at small sizes
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(inner):
                kernel()
            best = min(best, (time.perf_counter() - start) / inner)
        row[f"{name}_gbs"] = arrays * n * 4 / best / 1e9
    return row


def graph_bytes(model: bytes, shape: tuple[int, ...]) -> dict[str, int]:
    """Bytes read and written per image by op-by-op execution of the ONNX graph at input
    `shape` (C, H, W), and the largest single tensor (the working set's scale)."""
    import onnx

    proto = onnx.load_from_string(model)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    for dim, n in zip(dims, (1, *shape), strict=True):
        dim.Clear()
        dim.dim_value = n
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
    sizes: dict[str, int] = {}
    for info in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        t = info.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            width = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).itemsize
            sizes[info.name] = width * math.prod(d.dim_value for d in t.shape.dim)
    weights = {i.name for i in proto.graph.initializer}
    read = write = 0
    for node in inferred.graph.node:
        read += sum(sizes.get(name, 0) for name in node.input if name and name not in weights)
        write += sum(sizes.get(name, 0) for name in node.output if name)
    return {"read": read, "write": write, "total": read + write, "largest": max(sizes.values())}


def input_shape(network: Any, n: int) -> tuple[int, ...]:
    """The network's input at n×n values: (c, n, n) for images, (c, n²) for signals (the
    1D specs get as many values as the 2D ones)."""
    channels, *spatial = network.input.shape
    return (channels, n, n) if len(spatial) == 2 else (channels, n * n)


def _bandwidth_at(curve: list[dict[str, Any]], working_mib: float) -> float:
    """Triad GB/s at the smallest measured array size holding the working set."""
    fitting = [r for r in curve if r["array_mib"] >= working_mib] or curve[-1:]
    return fitting[0]["triad_gbs"]


def _extended() -> Any:
    import onnxruntime as ort

    return ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED


def run(quick: bool, threads: int = 2) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    sizes_mib = [2, 8, 32] if quick else [2, 8, 32, 128, 512, 1024]
    curve = stream(threads, sizes_mib, repeats=3 if quick else 5)
    specs = SPECS[:1] if quick else SPECS
    spatial = (64,) if quick else (256, 512)
    rows = []
    for spec in specs:
        compiled, model = compiled_model(spec)
        module = compiled.module
        session = ort_session(model, threads)
        # onnxruntime's default (ORT_ENABLE_ALL) includes its NCHWc layout transform;
        # EXTENDED is every other graph optimization, without it
        plain = ort_session(model, threads, graph_optimization_level=_extended())
        compiled_fn = None if quick else torch.compile(module)
        for n in spatial:
            shape = input_shape(compiled.network, n)
            traffic = graph_bytes(model, shape)
            x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(n))
            xn = x.numpy()
            contenders = {
                "onnxruntime": lambda s=session, xn=xn: s.run(["output"], {"input": xn}),
                "onnxruntime, no NCHWc": lambda s=plain, xn=xn: s.run(["output"], {"input": xn}),
                "torch eager": lambda m=module, x=x: _eager(m, x),
            }
            if compiled_fn is not None:
                fn, _, _ = try_torch_compile(compiled_fn, x)
                if fn is not None:
                    contenders["torch.compile"] = lambda fn=fn, x=x: _eager(fn, x)
            times = interleaved(contenders, 2 if quick else 7, 1 if quick else 3)
            # the working set: the tensors alive around one operator, about 3 of the largest
            working_mib = 3 * traffic["largest"] / MIB
            ceiling = _bandwidth_at(curve, working_mib)
            for runtime, values in times.items():
                seconds = median(values)
                achieved = traffic["total"] / seconds / 1e9
                rows.append(
                    {
                        "spec": spec.stem,
                        "size": n,
                        "runtime": runtime,
                        "median_ms": seconds * 1e3,
                        "bytes_per_image": traffic["total"],
                        "working_set_mib": working_mib,
                        "achieved_gbs": achieved,
                        "bandwidth_gbs": ceiling,
                        "share": achieved / ceiling,
                    }
                )
                print(
                    f"{spec.stem:10s} {n:4d} {runtime:22s} {seconds * 1e3:8.2f} ms "
                    f"{traffic['total'] / MIB:8.1f} MiB  {achieved:6.2f} GB/s  "
                    f"{100 * achieved / ceiling:5.1f} % of {ceiling:.1f} GB/s",
                    flush=True,
                )
    return {"threads": threads, "stream": curve, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    result = run(args.quick, args.threads)
    for row in result["stream"]:
        print(
            f"STREAM {row['array_mib']:5d} MiB: copy {row['copy_gbs']:.1f}, scale "
            f"{row['scale_gbs']:.1f}, add {row['add_gbs']:.1f}, triad {row['triad_gbs']:.1f} GB/s"
        )
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / "roofline.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
