"""Run the three experiments, `--jobs` of them at a time (default 2, one per core, each
with one torch thread), and time the whole. Writes experiments/results/run_all.json (the
wall-clock times, the machine, the command) and experiments/results/tables.md (every
table, rebuilt from the JSON results).

    .venv/bin/python experiments/run_all.py [--quick] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments import alt_denoising, common, fed_depth, rh_digits

# (job, script, extra arguments), the longest first, so that two workers finish at about
# the same time: the 2D denoising alone on one core, everything else on the other
JOBS = (
    ("alt_denoising_2d", "alt_denoising", ["--dims", "2d"]),
    ("alt_denoising_1d", "alt_denoising", ["--dims", "1d"]),
    ("fed_depth", "fed_depth", []),
    ("rh_digits", "rh_digits", []),
)
MODULES = {"rh_digits": rh_digits, "alt_denoising": alt_denoising, "fed_depth": fed_depth}
TITLES = {
    "rh_digits": "(a) Ruthotto & Haber on digits",
    "alt_denoising": "(b) Alt et al. on 1D and 2D denoising",
    "fed_depth": "(c) FED against explicit Euler",
}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--jobs", type=int, default=2, help="experiments run at once")
    p.add_argument("--threads", type=int, default=1, help="torch threads per experiment")
    args = p.parse_args(argv)
    results = common.RESULTS / "quick" if args.quick else common.RESULTS
    results.mkdir(parents=True, exist_ok=True)
    logs = results / "logs"
    logs.mkdir(exist_ok=True)

    started = time.perf_counter()
    load_before = os.getloadavg()
    cpu: dict[str, float] = {}
    reaped = _children_cpu()
    pending = list(JOBS)
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    seconds: dict[str, float] = {}
    while pending or running:
        while pending and len(running) < args.jobs:
            name, script, extra = pending.pop(0)
            command = [sys.executable, str(common.ROOT / "experiments" / f"{script}.py"), *extra]
            command += ["--threads", str(args.threads)] + (["--quick"] if args.quick else [])
            log = (logs / f"{name}.log").open("w")
            print(f"start {name}: {shlex.join(command)} > {log.name}", flush=True)
            running[name] = (
                subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=common.ROOT),
                time.perf_counter(),
            )
        time.sleep(1)
        for name, (process, t0) in list(running.items()):
            if process.poll() is not None:
                seconds[name] = round(time.perf_counter() - t0, 1)
                now = _children_cpu()  # poll() reaped it: the increase is its CPU time
                cpu[name], reaped = round(now - reaped, 1), now
                del running[name]
                status = "ok" if process.returncode == 0 else f"FAILED ({process.returncode})"
                print(f"done  {name}: {status} in {seconds[name]} s", flush=True)
                if process.returncode != 0:
                    print((logs / f"{name}.log").read_text()[-3000:])
    parts = [results / f"alt_denoising_{dim}.json" for dim in ("1d", "2d")]
    if all(part.exists() for part in parts):
        merged = alt_denoising.merge([json.loads(part.read_text()) for part in parts])
        common.save(results / "alt_denoising.json", merged)
        alt_denoising.write_figures(merged, results if args.quick else common.FIGURES)
    total = round(time.perf_counter() - started, 1)

    sections = []
    for name in ("rh_digits", "alt_denoising", "fed_depth"):
        path = results / f"{name}.json"
        if path.exists():
            sections.append(
                f"## {TITLES[name]}\n\n{MODULES[name].summarise(json.loads(path.read_text()))}"
            )
    command = ".venv/bin/python experiments/run_all.py" + (" --quick" if args.quick else "")
    if args.jobs != 2:
        command += f" --jobs {args.jobs}"
    summary = {
        "command": command,
        "jobs": args.jobs,
        "threads_per_job": args.threads,
        "wall_seconds": total,
        "script_wall_seconds": seconds,
        "script_cpu_seconds": cpu,
        "cpu_seconds": round(sum(cpu.values()), 1),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "machine": common.machine() | {"threads": args.threads},
        "quick": args.quick,
    }
    common.save(results / "run_all.json", summary)
    tables = "\n\n".join(sections) + (
        f"\n\nTotal wall-clock time: {total} s, CPU time {summary['cpu_seconds']} s ({command}).\n"
    )
    (results / "tables.md").write_text(tables)
    print(tables)
    return summary


def _children_cpu() -> float:
    """User + system CPU seconds of the reaped child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
