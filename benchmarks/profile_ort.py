"""Where onnxruntime spends its time: per-operator totals from its own profiler.

    python benchmarks/profile_ort.py [SPEC] [--batch 32] [--runs 30]

Compiles SPEC (default: the CIFAR-10 parabolic network) as `pde2net compile` does, runs
the written model `--runs` times on 2 threads with profiling on, and prints each
operator type's mean time per run (after onnxruntime's own graph optimizations, so the
blocked NCHWc kernels appear under their own names).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.inference import NETWORKS, compiled_model  # noqa: E402


def profile(spec: Path, batch: int, runs: int, threads: int = 2) -> dict[str, tuple[float, int]]:
    """Mean milliseconds per run and node count, per operator type."""
    import onnxruntime as ort

    compiled, model = compiled_model(spec)
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).standard_normal(
            (batch, *compiled.network.input.shape), dtype=np.float32
        )
        for _ in range(runs):
            session.run(None, {"input": x})
        events = json.loads(Path(session.end_profiling()).read_text())
    total: collections.Counter[str] = collections.Counter()
    nodes: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event["args"]["op_name"]
            total[op] += event["dur"]
            nodes[op] += 1
    return {op: (us / runs / 1e3, nodes[op] // runs) for op, us in total.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", type=Path, default=NETWORKS["parabolic"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    ops = profile(args.spec.resolve(), args.batch, args.runs)
    whole = sum(ms for ms, _ in ops.values())
    print("| operator | nodes | ms per run | share |\n|---|---|---|---|")
    for op, (ms, count) in ops.items():
        print(f"| {op} | {count} | {ms:.2f} | {ms / whole:.1%} |")
    print(f"| **all** | | {whole:.2f} | |")


if __name__ == "__main__":
    main()
