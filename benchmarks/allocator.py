"""How much torch eager's speed depends on the C allocator, against onnxruntime.

torch's CPU allocator does not cache: every forward pass mallocs and frees its large
activations. With glibc's defaults, blocks of megabytes are mmap'ed and munmap'ed on
each call, and every call pays the page faults again, unless glibc's dynamic threshold
has happened to rise in that process. onnxruntime keeps its own arena. So the eager
time of one network at batch 32 differs between fresh processes by up to 30 %, while
onnxruntime's does not. This section runs the same timing in fresh processes, with
glibc's defaults and with MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ set so that
large blocks stay in the heap (what jemalloc or tcmalloc give as well), alternating.

    python -m benchmarks.allocator --child SPEC BATCH   # one process's timing, as JSON
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.timing import median

ROOT = Path(__file__).resolve().parents[1]
KEEP_LARGE_BLOCKS = {
    "MALLOC_MMAP_THRESHOLD_": str(256 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
}


def run(spec: Path, batch: int, threads: int, quick: bool) -> dict[str, Any]:
    """Medians over fresh processes, default allocator and large blocks kept."""
    settings = {"glibc defaults": {}, "large blocks kept": KEEP_LARGE_BLOCKS}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    for _ in range(1 if quick else 3):
        for name, extra in settings.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | extra
            child = [sys.executable, "-m", "benchmarks.allocator", "--child", str(spec)]
            out = subprocess.run(
                [*child, str(batch), str(threads), "1" if quick else "0"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    result: dict[str, Any] = {"spec": str(spec.relative_to(ROOT)), "batch": batch}
    for name, values in runs.items():
        eager = [v["eager_ms"] for v in values]
        ort = [v["ort_ms"] for v in values]
        result[name] = {
            "eager_ms": median(eager),
            "eager_ms_each": eager,
            "ort_ms": median(ort),
            "ort_ms_each": ort,
            "ratio": median(eager) / median(ort),
        }
    return result


def _child(spec: str, batch: int, threads: int, quick: bool) -> dict[str, float]:
    import numpy as np
    import torch

    from benchmarks.inference import compiled_model, ort_session
    from benchmarks.timing import interleaved

    torch.set_num_threads(threads)
    compiled, model = compiled_model(Path(spec))
    session = ort_session(model, threads)
    x = torch.randn(
        batch, *compiled.network.input.shape, generator=torch.Generator().manual_seed(0)
    )
    xn = x.numpy()

    def eager() -> None:
        with torch.inference_mode():
            compiled.module(x)

    times = interleaved(
        {"ort": lambda: session.run(["output"], {"input": xn}), "eager": eager},
        rounds=2 if quick else 8,
        per_round=1 if quick else 3,
    )
    return {f"{k}_ms": float(np.median(v)) * 1e3 for k, v in times.items()}


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        spec, batch, threads, quick = sys.argv[2:]
        print(json.dumps(_child(spec, int(batch), int(threads), quick == "1")))
    else:
        print(__doc__)
