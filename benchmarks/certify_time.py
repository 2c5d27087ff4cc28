"""`pde2net certify` on the Table 1 networks, as a user runs it: wall and CPU time of the
command (a fresh process each time) with the reference cached (after `compile`, which
leaves it) and without (PDE2NET_CACHE=0: certify recompiles the embedded spec), runs of
the two interleaved. Bytecode is cached (PYTHONPYCACHEPREFIX, warmed first), as in a
normal install; this sandbox sets PYTHONDONTWRITEBYTECODE.

    python -m benchmarks.certify_time [--repeats 3] [--only NAME ...] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.latency import _command, _env

ROOT = Path(__file__).resolve().parents[1]
TABLE1 = sorted((ROOT / "specs" / "ruthotto_haber_2018").glob("*.pde"))


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU of the child) seconds of one run; the exit code is the verdict's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run(repeats: int, specs: list[Path] = TABLE1) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="pde2net-certify-") as tmp:
        env = _env()
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cold_env = {**env, "PDE2NET_CACHE": "0"}
        for spec in specs:
            model = Path(tmp) / f"{spec.stem}.onnx"
            subprocess.run(
                [*_command(), "compile", str(spec), "-o", tmp],
                env=env,
                check=True,
                capture_output=True,
            )
            args = [*_command(), "certify", str(model)]
            _timed(args, env)  # warms the bytecode
            times: dict[str, list[tuple[float, float]]] = {"cached": [], "recompiled": []}
            for _ in range(repeats):
                times["cached"].append(_timed(args, env))
                times["recompiled"].append(_timed(args, cold_env))
            row: dict[str, object] = {"spec": spec.stem}
            for kind, runs in times.items():
                row[f"{kind} wall"] = statistics.median(w for w, _ in runs)
                row[f"{kind} cpu"] = statistics.median(c for _, c in runs)
                row[f"{kind} max wall"] = max(w for w, _ in runs)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| network | cached: wall s (max) | cached: CPU s | recompiled: wall s (max) | "
        "recompiled: CPU s | recompiled / cached |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['spec']} | {r['cached wall']:.2f} ({r['cached max wall']:.2f}) | "
            f"{r['cached cpu']:.2f} | {r['recompiled wall']:.2f} ({r['recompiled max wall']:.2f}) | "
            f"{r['recompiled cpu']:.2f} | {r['recompiled wall'] / r['cached wall']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="network names (default: all)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "certify.json"
    )
    args = parser.parse_args()
    specs = [s for s in TABLE1 if args.only is None or s.stem in args.only]
    rows = run(args.repeats, specs)
    args.out.write_text(json.dumps({"load": os.getloadavg(), "rows": rows}, indent=2) + "\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
