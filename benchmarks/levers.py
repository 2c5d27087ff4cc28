"""The levers behind the numbers, each measured on its own on the parabolic CIFAR-10
network: onnxruntime's graph optimization level, threads and spinning, saving the
optimized model; pde2net's rewrites of the exported graph (export/rewrite.optimize); batch
norm folding; the exporter; the threads the compile pipeline traces and verifies on;
and the TV norm's formulation in the generated torch module (the training path)."""

from __future__ import annotations

import io
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks.inference import NETWORKS, ort_session
from benchmarks.timing import interleaved, median

ROOT = Path(__file__).resolve().parents[1]


def _latencies(models: dict[str, Any], threads: int, quick: bool, **options) -> dict[str, dict]:
    """Median ms at batch 1 and 32 of each model (bytes, path or ready session)."""
    import numpy as np

    sessions = {
        k: m if hasattr(m, "run") else ort_session(m, threads, **options) for k, m in models.items()
    }
    result: dict[str, dict] = {k: {} for k in models}
    for batch in (1, 32):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 32, 32)).astype(np.float32)
        contenders = {
            k: (lambda s=s, x=x: s.run(["output"], {"input": x})) for k, s in sessions.items()
        }
        per_round = (3 if quick else 20) if batch == 1 else 1
        times = interleaved(contenders, 1 if quick else 10, per_round, warmup=1 if quick else 2)
        for k, values in times.items():
            result[k][f"b{batch}_ms"] = median(values) * 1e3
    return result


def _creation(model: Any, threads: int, repeats: int, **options) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        ort_session(model, threads, **options)
        times.append(time.perf_counter() - start)
    return median(times) * 1e3


def ort_levers(model: bytes, threads: int, quick: bool) -> dict[str, Any]:
    import onnxruntime as ort

    levels = {
        "disable all": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all (default)": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    repeats = 2 if quick else 7
    out: dict[str, Any] = {"optimization_level": {}, "threads": {}, "saved_optimized": {}}
    for name, level in levels.items():
        session = ort_session(model, threads, graph_optimization_level=level)
        row = _latencies({name: session}, threads, quick)[name]
        row["session_ms"] = _creation(model, threads, repeats, graph_optimization_level=level)
        out["optimization_level"][name] = row
    # threads and spinning (the file cannot carry these: a judge's default session has
    # intra_op_num_threads = cores and spinning on)
    variants = {
        "1 thread": ort_session(model, 1),
        f"{threads} threads": ort_session(model, threads),
        f"{threads} threads, no spinning": ort_session(
            model, threads, config={"session.intra_op.allow_spinning": "0"}
        ),
    }
    out["threads"] = _latencies(variants, threads, quick)
    # saving onnxruntime's optimized graph and loading that instead
    with tempfile.TemporaryDirectory() as tmp:
        saved = {}
        for name, level in (
            ("extended", ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
            ("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
        ):
            path = str(Path(tmp) / f"{name}.onnx")
            ort_session(
                model, threads, graph_optimization_level=level, optimized_model_filepath=path
            )
            saved[f"saved at {name}"] = Path(path).read_bytes()
        models = {"as written": model, **saved}
        lat = _latencies(models, threads, quick)
        for name, data in models.items():
            lat[name]["session_ms"] = _creation(data, threads, repeats)
            lat[name]["bytes"] = len(data)
            lat[name]["custom_ops"] = sorted(_custom_ops(data))
        out["saved_optimized"] = lat
    return out


def _custom_ops(model: bytes) -> set[str]:
    import onnx

    proto = onnx.load_from_string(model)
    return {f"{n.domain}:{n.op_type}" for n in proto.graph.node if n.domain not in ("", "ai.onnx")}


def rewrite_levers(raw: bytes, threads: int, quick: bool) -> dict[str, Any]:
    """pde2net's own graph rewrites (export/rewrite.optimize), one at a time."""
    from pde2net.export.rewrite import optimize_bytes

    def off(*names: str) -> dict[str, bool]:
        return dict.fromkeys(names, False)

    variants = {
        "raw export": raw,
        "K' as Conv": optimize_bytes(
            raw, **off("sum_square", "reciprocal", "blocked_norm", "annotate")
        ),
        "+ ReduceSumSquare, Reciprocal": optimize_bytes(raw, **off("blocked_norm", "annotate")),
        "+ shapes written (residual Add fused)": optimize_bytes(raw, **off("blocked_norm")),
        "+ blocked TV norm: all rewrites (written)": optimize_bytes(raw),
        "all but K' as Conv": optimize_bytes(raw, **off("adjoint_as_conv")),
    }
    lat = _latencies(variants, threads, quick)
    for name, data in variants.items():
        lat[name]["bytes"] = len(data)
    return lat


def _export(module, network, folding: bool = True, dynamo: bool = False) -> bytes:
    import torch

    example = torch.randn(2, *network.input.shape)
    axes = {0: "batch", 2: "size0", 3: "size1"}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        kwargs: dict[str, Any] = {"dynamo": dynamo, "opset_version": 18}
        if dynamo:
            kwargs["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch")}}
        else:
            kwargs["dynamic_axes"] = {"input": axes, "output": {0: "batch"}}
            kwargs["do_constant_folding"] = folding
        torch.onnx.export(
            module.eval(),
            (example,),
            buffer,
            input_names=["input"],
            output_names=["output"],
            **kwargs,
        )
    return buffer.getvalue()


def exporter_levers(compiled, quick: bool) -> dict[str, Any]:
    import importlib.util

    import numpy as np
    import onnx

    from pde2net.export.onnx import export_bytes, torch_threads

    out: dict[str, Any] = {}
    for threads in (1, 2):
        with torch_threads(threads):
            times = []
            for _ in range(2 if quick else 5):
                start = time.perf_counter()
                data = export_bytes(compiled.module, compiled.plan)
                times.append(time.perf_counter() - start)
        out[f"torchscript, {threads} thread(s)"] = {
            "median_s": median(times),
            "first_s": times[0],
            "nodes": len(onnx.load_from_string(data).graph.node),
        }
    if importlib.util.find_spec("onnxscript") is None:
        out["torch.export (dynamo=True)"] = {
            "status": "onnxscript not installed (not a pde2net dependency); "
            "docs/design.md measured 4-6 s per export"
        }
    elif not quick:
        try:
            start = time.perf_counter()
            data = _export(compiled.module, compiled.network, dynamo=True)
            seconds = time.perf_counter() - start
            out["torch.export (dynamo=True)"] = {
                "median_s": seconds,
                "nodes": len(onnx.load_from_string(data).graph.node),
            }
        except Exception as err:
            out["torch.export (dynamo=True)"] = {"status": f"failed: {type(err).__name__}"}
    # batch-norm folding: constant folding fuses eval-mode batch norms into the convs
    folded = _export(compiled.module, compiled.network, folding=True)
    unfolded = _export(compiled.module, compiled.network, folding=False)

    def count(data: bytes, op: str) -> int:
        return sum(n.op_type == op for n in onnx.load_from_string(data).graph.node)

    lat = _latencies({"folded": folded, "not folded": unfolded}, 2, quick)
    import onnxruntime as ort

    plain = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    lat_plain = _latencies(
        {"folded": folded, "not folded": unfolded}, 2, quick, graph_optimization_level=plain
    )
    out["batchnorm_folding"] = {
        name: {
            "BatchNormalization nodes": count(data, "BatchNormalization"),
            **lat[name],
            **{f"{k} (ort optimizations off)": v for k, v in lat_plain[name].items()},
        }
        for name, data in (("folded", folded), ("not folded", unfolded))
    }
    del np
    return out


TVNORM_VARIANTS = {
    "u * rsqrt(sum(u*u) + eps) * w + b (generated)": None,
    "vector_norm, addcmul": "vector_norm",
}


def _tvnorm_forward(kind: str):
    import torch

    def forward(self, u):
        if kind == "vector_norm":
            r = torch.rsqrt(torch.linalg.vector_norm(u, dim=1, keepdim=True).square() + self.eps)
            if self.weight is None:
                return u * r
            shape = (1, -1) + (1,) * (u.dim() - 2)
            return torch.addcmul(self.bias.view(shape), u * r, self.weight.view(shape))
        raise ValueError(kind)

    return forward


def torch_levers(threads: int, quick: bool) -> dict[str, Any]:
    """The generated module's TV norm, as generated and in an alternative formulation:
    inference at batch 1 and 32, and a training step (forward + backward) at batch 32."""
    import torch

    import pde2net

    torch.set_num_threads(threads)
    out: dict[str, Any] = {}
    compiled = pde2net.compile_file(str(NETWORKS["parabolic"]))
    module = compiled.module
    tv_class = type(module.block1.N[0])
    original = tv_class.forward
    x32 = torch.randn(32, 3, 32, 32)
    x1 = torch.randn(1, 3, 32, 32)

    def step():
        module.train()
        module(x32).square().mean().backward()
        module.zero_grad(set_to_none=True)

    def infer(x):
        module.eval()
        with torch.inference_mode():
            module(x)

    try:
        for name, kind in TVNORM_VARIANTS.items():
            tv_class.forward = original if kind is None else _tvnorm_forward(kind)
            row = {}
            for label, fn in (
                ("b1_ms", lambda: infer(x1)),
                ("b32_ms", lambda: infer(x32)),
                ("train_step_b32_ms", step),
            ):
                per = (3 if quick else 20) if label == "b1_ms" else 1
                times = interleaved({"x": fn}, 2 if quick else 8, per)["x"]
                row[label] = median(times) * 1e3
            out[name] = row
    finally:
        tv_class.forward = original
    return out


def run(quick: bool, threads: int = 2) -> dict[str, Any]:
    import torch

    import pde2net
    from pde2net.export.onnx import export_bytes, torch_threads
    from pde2net.export.rewrite import optimize_bytes

    torch.set_num_threads(threads)
    compiled = pde2net.compile_file(str(NETWORKS["parabolic"]))
    compiled.module.eval()
    with torch_threads(1):
        raw = export_bytes(compiled.module, compiled.plan)
    if quick:  # the smoke test: only pde2net's own rewrites
        return {"rewrites": rewrite_levers(raw, threads, quick)}
    return {
        "onnxruntime": ort_levers(optimize_bytes(raw), threads, quick),
        "rewrites": rewrite_levers(raw, threads, quick),
        "exporter": exporter_levers(compiled, quick),
        "torch_tvnorm": torch_levers(threads, quick),
    }
