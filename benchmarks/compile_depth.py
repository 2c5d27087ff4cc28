"""Compile time against depth, and the composed graphs against traced ones.

Three measurements, each side by side in one run:

1. `pde2net compile` (a fresh process, bytecode cached) of heat_1d at 3 ... 1,000 steps
   and of an 8x8 semi-implicit heat step with damped Jacobi at 10 ... 800 iterations x 2
   steps: wall and CPU seconds, and the seconds each extra step or iteration adds.
2. Every bundled spec's `pde2net compile`: wall and CPU seconds.
3. For every bundled spec with a composed block or a looped solver, onnxruntime's time
   per forward pass of the written graph (steps composed, solver iterations looped) and
   of the graph tracing every step gives, at the declared size (and 256x256 for the
   Alt et al. specs): the ratio, and whether the outputs are bit for bit equal.

    python -m benchmarks.compile_depth [--quick] [--out benchmarks/results/compile_depth.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.latency import _command, _env

ROOT = Path(__file__).resolve().parents[1]
HEAT = ROOT / "specs" / "classic" / "heat_1d.pde"
JACOBI = """
pde heat {
    state u[1]
    grid  h = 1
    stencil D = [[0, 0, 0], [0, -1, 1], [0, 0, 0]] / h
    dt(u) = -D' D u
}
network jacobi {
    input image(1, 8, 8)
    heat by implicit(tau = 0.5, solver = jacobi, iterations = iterations, steps = 2)
    output identity
}
"""
STEPS = (3, 10, 30, 100, 300, 1000)
ITERATIONS = (10, 50, 100, 200, 400, 800)


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def _compile(spec: Path, sets: dict[str, str], env: dict[str, str], out: str) -> dict[str, Any]:
    args = [*_command(), "compile", str(spec), "-o", out]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    wall, cpu, code = _timed(args, env)
    return {"wall": wall, "cpu": cpu, "exit": code}


def depth(env: dict[str, str], tmp: str, steps=STEPS, iterations=ITERATIONS) -> dict[str, list]:
    jacobi = Path(tmp) / "jacobi.pde"
    jacobi.write_text("const iterations = 10\n" + JACOBI)
    _compile(HEAT, {"steps": "3"}, env, tmp)  # warms the bytecode
    rows: dict[str, list] = {"heat_1d steps": [], "jacobi iterations x 2": []}
    for n in steps:
        rows["heat_1d steps"].append({"depth": n, **_compile(HEAT, {"steps": str(n)}, env, tmp)})
    for n in iterations:
        result = _compile(jacobi, {"iterations": str(n)}, env, tmp)
        rows["jacobi iterations x 2"].append({"depth": n, **result})
    return rows


def bundled(env: dict[str, str], tmp: str) -> list[dict[str, Any]]:
    specs = sorted((ROOT / "specs").rglob("*.pde"))
    return [
        {"spec": str(s.relative_to(ROOT / "specs")), **_compile(s, {}, env, tmp)} for s in specs
    ]


def onnx_speed(quick: bool = False) -> list[dict[str, Any]]:
    """Composed/looped against traced graphs in onnxruntime, one thread, same inputs."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    from pde2net.api import check_spec, compile_checked
    from pde2net.export import compose
    from pde2net.export.onnx import export_bytes, torch_threads
    from pde2net.pipeline import composed_blocks

    rows = []
    specs = sorted((ROOT / "specs").rglob("*.pde"))
    for spec in specs[:3] if quick else specs:
        compiled = compile_checked(check_spec(spec))
        chosen = composed_blocks(compiled)
        with torch_threads(1):
            written = export_bytes(compiled.module, compiled.plan, chosen)
            looped = any(n.op_type == "Loop" for n in onnx.load_from_string(written).graph.node)
            if not chosen and not looped:
                continue
            saved, compose.SOLVERS = compose.SOLVERS, {}
            try:
                traced = export_bytes(compiled.module, compiled.plan, {})
            finally:
                compose.SOLVERS = saved
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        sessions = {
            k: ort.InferenceSession(m, options, providers=["CPUExecutionProvider"])
            for k, m in (("written", written), ("traced", traced))
        }
        sizes = [tuple(compiled.network.input.shape)]
        if "alt_2023" in str(spec) and compiled.network.spatial_dynamic:
            sizes.append((compiled.network.input.shape[0], 256, 256))
        for shape in sizes:
            x = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
            outs = {k: s.run(None, {"input": x})[0] for k, s in sessions.items()}
            best = {k: float("inf") for k in sessions}
            for _ in range(1 if quick else 5):  # interleaved
                for k, s in sessions.items():
                    started, n = time.perf_counter(), 0
                    while time.perf_counter() - started < (0.05 if quick else 0.3):
                        s.run(None, {"input": x})
                        n += 1
                    best[k] = min(best[k], (time.perf_counter() - started) / n)
            rows.append(
                {
                    "spec": str(spec.relative_to(ROOT / "specs")),
                    "shape": list(shape),
                    "written ms": best["written"] * 1e3,
                    "traced ms": best["traced"] * 1e3,
                    "ratio": best["written"] / best["traced"],
                    "identical": bool(np.array_equal(outs["written"], outs["traced"])),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def plot(rows: dict[str, list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, series in rows.items():
        ax.plot([r["depth"] for r in series], [r["cpu"] for r in series], "o-", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("steps, or solver iterations")
    ax.set_ylabel("compile CPU seconds")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test (CI)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "compile_depth.json"
    )
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pde2net-depth-") as tmp:
        env = _env()
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if args.quick:
            rows = depth(env, tmp, steps=(3, 30), iterations=(10,))
            result: dict[str, Any] = {"depth": rows, "speed": onnx_speed(quick=True)}
        else:
            rows = depth(env, tmp)
            result = {"depth": rows, "bundled": bundled(env, tmp), "speed": onnx_speed()}
    result["load"] = os.getloadavg()
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.plot:
        plot(result["depth"], args.plot)
    for label, series in result["depth"].items():
        for r in series:
            print(
                f"{label} {r['depth']}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, exit {r['exit']}"
            )


if __name__ == "__main__":
    main()
