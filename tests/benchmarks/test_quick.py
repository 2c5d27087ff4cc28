"""`python benchmarks/run.py --quick`, the CI smoke test of the benchmarks: every section
runs and the tables and targets come out."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def _benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repository root, as CI runs a benchmark; it must succeed."""
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_quick_benchmarks_run_every_section(tmp_path):
    _benchmark(str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(tmp_path))
    data = json.loads((tmp_path / "results.json").read_text())
    sections = ("machine", "flops", "inference", "allocator", "latency", "memory", "int8", "levers")
    for section in sections:
        assert section in data, section
    assert data["machine"]["peak"]["gflops"] > 0
    # FLOPs from the IR agree with torch's own count
    for row in data["flops"]:
        assert row["total"] == row["measured"], row
    runtimes = {(r["network"], r["batch"], r["runtime"]) for r in data["inference"]["rows"]}
    assert ("parabolic", 1, "onnxruntime") in runtimes
    assert ("parabolic", 32, "torch eager") in runtimes
    assert all(r["ort_max_rel_deviation"] < 1e-4 for r in data["inference"]["rows"])
    for setting in ("glibc defaults", "large blocks kept"):
        assert data["allocator"][setting]["eager_ms"] > 0
        assert data["allocator"][setting]["ort_ms"] > 0
    stages = data["latency"]["stages"][0]
    assert {"parse", "lower", "analyse", "generate", "export", "verify"} <= set(stages)
    memory = data["memory"]["rows"]
    assert memory[-1]["standard_bytes"] > memory[0]["standard_bytes"] > 0
    assert data["int8"]["against_float"]["max_rel_error"] < 0.05
    assert "onnxruntime vs torch eager, CIFAR-10 parabolic, batch 1" in data["targets"]
    text = (tmp_path / "results.md").read_text()
    assert "## Inference" in text and "## Targets" in text
    assert "| parabolic | 1 |" in text


def test_roofline_counts_the_graph_traffic_of_a_diffusion_step():
    """Bytes per image from the ONNX graph: one explicit diffusion step at 16×16 moves at
    least its input, K u (8 channels) and the output once, and the count scales with the
    image's area."""
    from benchmarks.inference import compiled_model
    from benchmarks.roofline import graph_bytes, stream

    _, model = compiled_model(ROOT / "specs" / "alt_2023" / "explicit.pde")
    small, large = graph_bytes(model, (1, 16, 16)), graph_bytes(model, (1, 32, 32))
    assert small["largest"] == 8 * 16 * 16 * 4  # K u: 8 channels of float32
    assert small["total"] >= 5 * (1 + 8 + 1) * 16 * 16 * 4  # 5 steps
    assert 3.9 < large["total"] / small["total"] <= 4  # scalars and shapes do not scale
    (row,) = stream(1, [2], repeats=1)
    assert row["triad_gbs"] > 0


def test_certify_benchmark_times_cached_and_recompiled_runs(tmp_path):
    out = tmp_path / "certify.json"
    command = "-m benchmarks.certify_time --repeats 1 --only second_order_cifar10 --out"
    result = _benchmark(*command.split(), str(out))
    (row,) = json.loads(out.read_text())["rows"]
    assert row["spec"] == "second_order_cifar10"
    assert row["cached cpu"] > 0
    assert row["recompiled cpu"] > 0
    assert "| second_order_cifar10 |" in result.stdout


def test_compile_depth_benchmark_runs(tmp_path):
    out, png = tmp_path / "depth.json", tmp_path / "depth.png"
    _benchmark("-m", "benchmarks.compile_depth", "--quick", "--out", str(out), "--plot", str(png))
    data = json.loads(out.read_text())
    assert [r["exit"] for r in data["depth"]["heat_1d steps"]] == [0, 0]
    assert data["depth"]["jacobi iterations x 2"][0]["exit"] == 0
    assert png.stat().st_size > 0


def test_eager_overhead_benchmark_runs(tmp_path):
    out = tmp_path / "eager.json"
    _benchmark("-m", "benchmarks.eager_overhead", "--quick", "--out", str(out))
    rows = json.loads(out.read_text())
    assert [r["spec"] for r in rows] == ["classic/heat_1d.pde", "classic/heat_2d.pde"]
    for row in rows:
        assert row["torch ms"] > 0 and row["onnxruntime ms"] > 0 and row["steps"] > 0
