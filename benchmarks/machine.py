"""The machine: CPU model, cores, vector units, and the FP32 peak derived from them.

Peak = cores × FMA units per core × FP32 lanes per vector × 2 FLOP per FMA × clock.
Lanes come from the CPU flags (avx512f: 16, avx2: 8), the clock from /proc/cpuinfo (the
nominal frequency a VM reports), and the number of FMA units per core is 2 for the
server cores with AVX-512 (Intel Xeon Scalable) and for AVX2 cores since Haswell. The
FMA microbenchmark (`fma_peak.c`, when a C compiler is there) measures what one core and
all cores actually sustain, which checks the unit count and shows the real clock.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def cpu_info() -> dict[str, Any]:
    text = ""
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)$", text, re.M)
    flags_match = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    family = re.search(r"^cpu family\s*:\s*(\d+)$", text, re.M)
    model_no = re.search(r"^model\s*:\s*(\d+)$", text, re.M)
    flags = set(flags_match.group(1).split()) if flags_match else set()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    hypervisor = "hypervisor" in flags
    return {
        "model": model.group(1).strip() if model else platform.processor(),
        "family_model": f"{family.group(1)}/{model_no.group(1)}" if family and model_no else "",
        "cores": cores,
        "mhz": float(mhz.group(1)) if mhz else float("nan"),
        "avx512f": "avx512f" in flags,
        "avx2": "avx2" in flags,
        "fma": "fma" in flags,
        "avx512_vnni": "avx512_vnni" in flags,
        "hypervisor": hypervisor,
        "python": platform.python_version(),
    }


def derived_peak(info: dict[str, Any]) -> dict[str, Any]:
    lanes = 16 if info["avx512f"] else 8 if info["avx2"] else 4
    flop_per_lane = 2 if info["fma"] else 1
    units = 2
    ghz = info["mhz"] / 1000
    per_core = units * lanes * flop_per_lane * ghz
    return {
        "lanes": lanes,
        "fma_units": units,
        "ghz": ghz,
        "per_core_gflops": per_core,
        "gflops": per_core * info["cores"],
        "formula": (
            f"{info['cores']} cores × {units} FMA units × {lanes} FP32 lanes × "
            f"{flop_per_lane} FLOP × {ghz:.2f} GHz"
        ),
    }


def fma_microbenchmark(iterations: int = 100_000_000, repeats: int = 3) -> dict[str, Any]:
    """GFLOP/s of fma_peak.c on one core and on all cores at once (best of `repeats`);
    empty when no C compiler is found."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return {}
    info = cpu_info()
    arch = "-mavx512f" if info["avx512f"] else "-mavx2"
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "fma_peak"
        build = subprocess.run(
            [cc, "-O2", arch, "-mfma", str(HERE / "fma_peak.c"), "-o", str(binary)],
            capture_output=True,
            text=True,
            check=False,
        )
        if build.returncode != 0:
            return {"error": build.stderr.strip()[:200]}

        def run(copies: int) -> float:
            procs = [
                subprocess.Popen([str(binary), str(iterations)], stdout=subprocess.PIPE, text=True)
                for _ in range(copies)
            ]
            return sum(float(p.communicate()[0].split()[0]) for p in procs)

        one = max(run(1) for _ in range(repeats))
        every = max(run(info["cores"]) for _ in range(repeats))
    return {"one_core_gflops": one, "all_cores_gflops": every, "compiler": Path(cc).name}


def sgemm_gflops(n: int = 2048, threads: int = 2, repeats: int = 5) -> float:
    """torch.mm of two n×n FP32 matrices on `threads` threads: the best achieved GFLOP/s."""
    import time

    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        out = torch.empty(n, n)
        torch.mm(a, b, out=out)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return 2 * n**3 / best / 1e9


def versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import torch

    return {
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "python": platform.python_version(),
    }


def describe(quick: bool) -> dict[str, Any]:
    info = cpu_info()
    peak = derived_peak(info)
    result: dict[str, Any] = {"cpu": info, "peak": peak, "versions": versions()}
    result["fma_microbenchmark"] = (
        fma_microbenchmark(20_000_000, repeats=1) if quick else fma_microbenchmark()
    )
    result["sgemm_2_threads_gflops"] = sgemm_gflops(1024 if quick else 2048)
    return result
