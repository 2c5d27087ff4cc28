"""`python benchmarks/run.py --quick`, the CI smoke test of the benchmarks: every section
runs and the tables and targets come out."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_benchmarks_run_every_section(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
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
