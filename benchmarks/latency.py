"""Compile latency: `pde2net check` and `pde2net compile` as a user runs them (wall time
of the command, a fresh process each time), and the same work split into stages, timed
in a fresh process too (imports and the parser's construction are part of a cold run).

Run as a script (`python benchmarks/latency.py SPEC [--compile]`) it is the child that
times the stages and prints them as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "ruthotto_haber_2018" / "parabolic_cifar10.pde"

CHECK_STAGES = ("import", "parser construction", "parse", "lower", "analyse")
COMPILE_STAGES = (
    "import torch, onnx, onnxruntime",
    "generate",
    "build module",
    "export",
    "optimize",
    "certificate",
    "verify",
)


def _command() -> list[str]:
    """The `pde2net` console script next to this interpreter, else `python -m pde2net`."""
    script = Path(sys.executable).with_name("pde2net")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pde2net"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PDE2NET_DEBUG"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def wall_times(
    spec: Path, repeats: int, which: tuple[str, ...] = ("check", "compile")
) -> dict[str, Any]:
    """Wall times of `pde2net check SPEC` and `pde2net compile SPEC -o TMP`, runs of the
    commands interleaved.

    Where the environment sets PYTHONDONTWRITEBYTECODE (this sandbox does), Python
    compiles pde2net's own modules from source on every run, which a normal install does
    not; so each command is also timed with bytecode cached (PYTHONPYCACHEPREFIX in a
    temporary directory, warmed by one run first), reported as "..., bytecode cached"."""
    result: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="pde2net-bench-") as out,
        tempfile.TemporaryDirectory(prefix="pde2net-pycache-") as pycache,
    ):
        commands = {
            "check": [*_command(), "check", str(spec)],
            "compile": [*_command(), "compile", str(spec), "-o", out],
        }
        envs = {"": _env()}
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            cached = {k: v for k, v in _env().items() if k != "PYTHONDONTWRITEBYTECODE"}
            cached["PYTHONPYCACHEPREFIX"] = pycache
            envs[", bytecode cached"] = cached
            for name in which:  # warm the cache
                subprocess.run(commands[name], capture_output=True, env=cached, check=False)
        for _ in range(repeats):
            for name in which:
                for suffix, env in envs.items():
                    start = time.perf_counter()
                    done = subprocess.run(commands[name], capture_output=True, text=True, env=env)
                    result.setdefault(name + suffix, []).append(time.perf_counter() - start)
                    if done.returncode != 0:
                        raise RuntimeError(f"{' '.join(commands[name])} failed:\n{done.stderr}")
    return {name: sorted(times) for name, times in result.items()}


def stage_times(spec: Path, repeats: int, compile_too: bool = True) -> list[dict[str, float]]:
    """Each repeat: this file as a child process, which times the stages cold."""
    runs = []
    for _ in range(repeats):
        args = [sys.executable, __file__, str(spec)] + (["--compile"] if compile_too else [])
        done = subprocess.run(args, capture_output=True, text=True, env=_env(), check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs


def _child(spec: str, compile_too: bool) -> dict[str, float]:
    times: dict[str, float] = {}
    last = [time.perf_counter()]

    def mark(stage: str) -> None:
        now = time.perf_counter()
        times[stage] = now - last[0]
        last[0] = now

    from pde2net import api
    from pde2net.analysis.analyze import analyze
    from pde2net.lang import parser
    from pde2net.lang.lower import lower

    text = api.read_spec(spec)
    mark("import")
    parser._parser()  # built once per process, on first use
    mark("parser construction")
    tree = parser.parse(text, spec)
    mark("parse")
    network = lower(tree, spec, None)
    mark("lower")
    checked = api.Checked(spec, text, network, analyze(network))
    _ = checked.report
    mark("analyse")
    if not compile_too:
        return times
    import onnx
    import onnxruntime  # noqa: F401
    import torch  # noqa: F401

    mark("import torch, onnx, onnxruntime")
    from pde2net.export import certify
    from pde2net.export.onnx import export_bytes, torch_threads, verify
    from pde2net.export.rewrite import optimize
    from pde2net.plan import make_plan

    plan = make_plan(checked)
    mark("generate")
    module = api.build_module(plan.source, plan.class_name)
    mark("build module")
    compiled = api.Compiled(plan, module, checked)
    with torch_threads(1):  # as pipeline.export_compiled
        exported = export_bytes(module, plan)
        mark("export")
        proto = optimize(onnx.load_from_string(exported))
        mark("optimize")
        certify.embed(proto, certify.recipe(compiled, proto))
        model = proto.SerializeToString(deterministic=True)
        mark("certificate")
        verify(model, module, plan)
        mark("verify")
    return times


def run(quick: bool, spec: Path = SPEC) -> dict[str, Any]:
    # --quick: one check, and the compile stages once (they run what compile runs)
    walls = wall_times(spec, 1, ("check",)) if quick else wall_times(spec, 7)
    stages = stage_times(spec, 1 if quick else 5)
    return {"spec": str(spec.relative_to(ROOT)), "wall": walls, "stages": stages}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(json.dumps(_child(sys.argv[1], "--compile" in sys.argv[2:])))
