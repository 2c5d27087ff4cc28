"""Run every benchmark side by side and print the tables (Markdown).

    python benchmarks/run.py            # the full run (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick    # a smoke test of every path (CI)

Writes results.json and results.md into --out (default benchmarks/results/ for a full
run; nothing is written by --quick unless --out is given). docs/benchmarks.md holds the
tables of a full run and describes the method.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import allocator, inference, int8, latency, levers, machine, memory  # noqa: E402
from benchmarks import flops as flops_mod  # noqa: E402
from benchmarks.timing import cpu_busy, load_average  # noqa: E402

SECTIONS = ("machine", "flops", "inference", "allocator", "latency", "memory", "int8", "levers")

# the targets of the issue: (name, threshold, higher is better)
TARGETS = {
    "onnxruntime vs torch eager, CIFAR-10 parabolic, batch 1": (2.5, True),
    "onnxruntime vs torch eager, CIFAR-10 parabolic, batch 32": (1.5, True),
    "share of FP32 peak at batch 32 (onnxruntime, parabolic)": (0.70, True),
    "share of the measured FMA ceiling at batch 32 (onnxruntime, parabolic)": (0.70, True),
    "onnxruntime vs torch eager, batch 32, fresh processes, glibc defaults": (1.5, True),
    "onnxruntime vs torch eager, batch 32, fresh processes, large blocks kept": (1.5, True),
    "wall time of `pde2net check` (s)": (1.0, False),
    "wall time of `pde2net compile` on the CIFAR-10 spec (s)": (3.0, False),
}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value != 0 and (abs(value) >= 1000 or abs(value) < 0.01):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _median(values: list[float]) -> float:
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


# --------------------------------------------------------------------------------------
def render(results: dict[str, Any]) -> str:
    out = [f"# pde2net benchmarks ({'quick' if results['quick'] else 'full'} run)", ""]
    out.append(
        f"{results['started']}; load average at start {results['load_start']}, at end "
        f"{results['load_end']}; CPUs busy before the run: {results['busy_start']:.0%}; "
        f"{results['seconds']:.0f} s in all."
    )
    conditions = results.get("conditions") or {}
    if conditions:
        out += [
            "",
            "When each section ran (the machine is shared; load averages over 1, 5, 15 min):",
            "",
        ]
        out.append(
            _table(
                ["section", "started", "CPUs busy before", "load before", "load after", "seconds"],
                [
                    [
                        name,
                        c["started"],
                        f"{c['busy_before']:.0%}",
                        " ".join(map(str, c["load_before"])),
                        " ".join(map(str, c["load_after"])),
                        c["seconds"],
                    ]
                    for name, c in conditions.items()
                ],
            )
        )
    m = results.get("machine")
    if m:
        cpu, peak = m["cpu"], m["peak"]
        fma = m.get("fma_microbenchmark") or {}
        out += [
            "",
            "## Machine",
            "",
            _table(
                ["", ""],
                [
                    ["CPU", f"{cpu['model']} (family/model {cpu['family_model']})"],
                    ["cores", cpu["cores"]],
                    ["clock (/proc/cpuinfo)", f"{cpu['mhz']:.0f} MHz"],
                    [
                        "vector units",
                        f"AVX-512 {'yes' if cpu['avx512f'] else 'no'}, FMA "
                        f"{'yes' if cpu['fma'] else 'no'}, VNNI "
                        f"{'yes' if cpu['avx512_vnni'] else 'no'}",
                    ],
                    ["FP32 peak", f"{peak['gflops']:.1f} GFLOP/s = {peak['formula']}"],
                    [
                        "FMA microbenchmark",
                        f"{fma['one_core_gflops']:.0f} GFLOP/s on one core, "
                        f"{fma['all_cores_gflops']:.0f} on all"
                        if "one_core_gflops" in fma
                        else "no C compiler",
                    ],
                    ["torch sgemm, 2 threads", f"{m['sgemm_2_threads_gflops']:.0f} GFLOP/s"],
                    ["versions", ", ".join(f"{k} {v}" for k, v in m["versions"].items())],
                ],
            ),
        ]
    f = results.get("flops")
    if f:
        out += ["", "## FLOPs per sample (from the IR)", ""]
        out.append(
            _table(
                ["network", "GFLOP", "in blocks", "torch FlopCounterMode"],
                [
                    [
                        r["network"],
                        r["total"] / 1e9 if r["total"] else None,
                        f"{r['blocks'] / r['total']:.1%}" if r["total"] else None,
                        r["measured"] / 1e9,
                    ]
                    for r in f
                ],
            )
        )
    inf = results.get("inference")
    if inf:
        out += [
            "",
            f"## Inference ({inf['threads']} threads each; median of interleaved runs)",
            "",
        ]
        by_key: dict[tuple[str, int], dict[str, dict]] = {}
        for r in inf["rows"]:
            by_key.setdefault((r["network"], r["batch"]), {})[r["runtime"]] = r
        rows = []
        for (network, batch), runtimes in by_key.items():
            o, e = runtimes["onnxruntime"], runtimes["torch eager"]
            c = runtimes.get("torch.compile")
            rows.append(
                [
                    network,
                    batch,
                    o["median_ms"],
                    e["median_ms"],
                    c["median_ms"] if c else o["torch_compile"],
                    f"{o['ort_speedup_vs_eager']:.2f}×",
                    f"{o['ort_speedup_vs_compile']:.2f}×" if o["ort_speedup_vs_compile"] else "–",
                    o["throughput_per_s"],
                    e["throughput_per_s"],
                    o["gflops"],
                    f"{o['peak_share']:.0%}" if o["peak_share"] else "–",
                    e["gflops"],
                    f"{e['peak_share']:.0%}" if e["peak_share"] else "–",
                    c["gflops"] if c else None,
                ]
            )
        out.append(
            _table(
                [
                    "network",
                    "batch",
                    "ORT ms",
                    "eager ms",
                    "compile ms",
                    "ORT/eager",
                    "ORT/compile",
                    "ORT img/s",
                    "eager img/s",
                    "ORT GFLOP/s",
                    "ORT % peak",
                    "eager GFLOP/s",
                    "eager % peak",
                    "compile GFLOP/s",
                ],
                rows,
            )
        )
        compile_notes = {
            (r["network"], r["batch"]): (r["torch_compile"], r["torch_compile_s"])
            for r in inf["rows"]
            if r["runtime"] == "onnxruntime"
        }
        first = next(iter(compile_notes.values()))
        if first[1] is not None:
            out.append("")
            out.append(
                "torch.compile (inductor) warm-up per network and batch: "
                + ", ".join(
                    f"{n} b{b}: {s:.0f} s ({status})"
                    for (n, b), (status, s) in compile_notes.items()
                    if s is not None
                )
                + "."
            )
        out += ["", "onnxruntime session creation, from the bytes of the written file:", ""]
        out.append(
            _table(
                ["network", "model size", "session creation ms"],
                [
                    [s["network"], f"{s['bytes'] / 1e6:.2f} MB", s["median_s"] * 1e3]
                    for s in inf["sessions"]
                ],
            )
        )
    alloc = results.get("allocator")
    if alloc:
        out += [
            "",
            f"## torch eager and the C allocator ({alloc['spec']}, batch {alloc['batch']})",
            "",
            "The same interleaved timing in fresh processes, alternating glibc's defaults "
            "and MALLOC_MMAP_THRESHOLD_ = MALLOC_TRIM_THRESHOLD_ = 256 MiB "
            "(benchmarks/allocator.py):",
            "",
        ]
        rows = []
        for name in ("glibc defaults", "large blocks kept"):
            r = alloc[name]
            each = ", ".join(f"{v:.0f}" for v in r["eager_ms_each"])
            rows.append([name, r["eager_ms"], each, r["ort_ms"], f"{r['ratio']:.2f}×"])
        out.append(
            _table(["allocator", "eager ms", "eager ms per process", "ORT ms", "ORT/eager"], rows)
        )
    lat = results.get("latency")
    if lat:
        out += ["", f"## Compile latency ({lat['spec']})", ""]
        walls = lat["wall"]
        out.append(
            _table(
                ["command", "median s", "min s", "max s", "runs"],
                [
                    [f"`pde2net {name}`", _median(t), min(t), max(t), len(t)]
                    for name, t in walls.items()
                ],
            )
        )
        stages = lat["stages"]
        names = list(stages[0])
        out += ["", "Per stage, in a fresh process (median over runs):", ""]
        rows = [[n, _median([s[n] for s in stages])] for n in names]
        check_total = sum(
            _median([s[n] for s in stages]) for n in names if n in latency.CHECK_STAGES
        )
        rows.append(["**check stages, total**", check_total])
        rows.append(["**all stages, total**", sum(r[1] for r in rows[: len(names)])])
        out.append(_table(["stage", "seconds"], rows))
    mem = results.get("memory")
    if mem:
        out += [
            "",
            f"## Training memory against depth ({mem['spec']}, input {mem['input']})",
            "",
        ]
        rows = []
        for r in mem["rows"]:
            rev = r["reversible_bytes"]
            rows.append(
                [
                    r["steps"],
                    r["batch"],
                    r["parameters"],
                    r["standard_bytes"] / 2**20,
                    rev / 2**20 if not isinstance(rev, str) else rev,
                    r["standard_step_s"],
                    r["reversible_step_s"],
                ]
            )
        out.append(
            _table(
                [
                    "steps per block",
                    "batch",
                    "parameters",
                    "standard MiB saved",
                    "reversible MiB saved",
                    "standard step s",
                    "reversible step s",
                ],
                rows,
            )
        )
    q = results.get("int8")
    if q:
        a = q["against_float"]
        out += ["", f"## int8 static quantization ({q['spec']})", "", q["data"] + ".", ""]
        rows = [
            ["test accuracy", a.get("accuracy_fp32"), a.get("accuracy_int8")],
            ["top-1 agreement with float", 1.0, a.get("top1_agreement")],
            ["max relative deviation of the logits", 0.0, a["max_rel_error"]],
            ["model size MB", q["bytes"]["fp32"] / 1e6, q["bytes"]["int8"] / 1e6],
        ]
        for batch, t in q["timings"].items():
            rows.append(
                [
                    f"latency batch {batch}, ms",
                    t["fp32_ms"],
                    f"{t['int8_ms']:.3g} ({t['speedup']:.2f}×)",
                ]
            )
        out.append(_table(["", "float32", "int8"], rows))
    lev = results.get("levers")
    if lev:
        out += ["", "## Levers (parabolic CIFAR-10, onnxruntime unless noted)", ""]
        ortl = lev.get("onnxruntime")
    if lev and ortl:
        out += ["Graph optimization level of the session:", ""]
        out.append(
            _table(
                ["level", "session ms", "batch 1 ms", "batch 32 ms"],
                [
                    [k, v["session_ms"], v["b1_ms"], v["b32_ms"]]
                    for k, v in ortl["optimization_level"].items()
                ],
            )
        )
        out += ["", "Threads:", ""]
        out.append(
            _table(
                ["session", "batch 1 ms", "batch 32 ms"],
                [[k, v["b1_ms"], v["b32_ms"]] for k, v in ortl["threads"].items()],
            )
        )
        out += ["", "Saving onnxruntime's optimized graph as the model file:", ""]
        out.append(
            _table(
                ["file", "bytes", "session ms", "batch 1 ms", "batch 32 ms", "non-standard ops"],
                [
                    [
                        k,
                        v["bytes"],
                        v["session_ms"],
                        v["b1_ms"],
                        v["b32_ms"],
                        ", ".join(v["custom_ops"]) or "none",
                    ]
                    for k, v in ortl["saved_optimized"].items()
                ],
            )
        )
    if lev:
        out += ["", "pde2net's graph rewrites (export/rewrite.optimize):", ""]
        out.append(
            _table(
                ["model", "bytes", "batch 1 ms", "batch 32 ms"],
                [[k, v["bytes"], v["b1_ms"], v["b32_ms"]] for k, v in lev["rewrites"].items()],
            )
        )
    ex = lev.get("exporter") if lev else None
    if ex:
        out += ["", "Exporter (export of the parabolic network):", ""]
        out.append(
            _table(
                ["exporter", "first s", "median s", "nodes"],
                [
                    [k, v.get("first_s"), v.get("median_s", v.get("status")), v.get("nodes")]
                    for k, v in ex.items()
                    if k != "batchnorm_folding"
                ],
            )
        )
        bn = ex["batchnorm_folding"]
        out += ["", "Batch norm folding (constant folding in the exporter):", ""]
        cols = list(next(iter(bn.values())))
        out.append(_table(["export", *cols], [[k, *[v[c] for c in cols]] for k, v in bn.items()]))
    tv = lev.get("torch_tvnorm") if lev else None
    if tv:
        out += ["", "The TV norm in the generated torch module (torch eager):", ""]
        out.append(
            _table(
                ["formulation", "batch 1 ms", "batch 32 ms", "train step batch 32 ms"],
                [[k, v["b1_ms"], v["b32_ms"], v["train_step_b32_ms"]] for k, v in tv.items()],
            )
        )
    t = results.get("targets")
    if t:
        out += ["", "## Targets", ""]
        out.append(
            _table(
                ["target", "required", "measured", "met"],
                [
                    [
                        name,
                        ("≥ " if r["higher"] else "≤ ") + _fmt(r["threshold"]),
                        r["measured"],
                        "yes" if r["met"] else "no",
                    ]
                    for name, r in t.items()
                ],
            )
        )
    return "\n".join(out) + "\n"


def targets(results: dict[str, Any]) -> dict[str, Any]:
    measured: dict[str, float | None] = dict.fromkeys(TARGETS)
    keys = list(TARGETS)
    inf = results.get("inference")
    if inf:
        for r in inf["rows"]:
            if r["network"] == "parabolic" and r["runtime"] == "onnxruntime":
                if r["batch"] == 1:
                    measured[keys[0]] = r["ort_speedup_vs_eager"]
                if r["batch"] == 32:
                    measured[keys[1]] = r["ort_speedup_vs_eager"]
                    measured[keys[2]] = r["peak_share"]
                    ceiling = (results.get("machine") or {}).get("fma_microbenchmark") or {}
                    if r["gflops"] and ceiling.get("all_cores_gflops"):
                        measured[keys[3]] = r["gflops"] / ceiling["all_cores_gflops"]
    alloc = results.get("allocator")
    if alloc:
        measured[keys[4]] = alloc["glibc defaults"]["ratio"]
        measured[keys[5]] = alloc["large blocks kept"]["ratio"]
    lat = results.get("latency")
    if lat:
        if "check" in lat["wall"]:
            measured[keys[6]] = _median(lat["wall"]["check"])
        if "compile" in lat["wall"]:
            measured[keys[7]] = _median(lat["wall"]["compile"])
    out = {}
    for name, (threshold, higher) in TARGETS.items():
        value = measured[name]
        if value is None:
            continue
        met = value >= threshold if higher else value <= threshold
        out[name] = {"threshold": threshold, "higher": higher, "measured": value, "met": met}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke test of every path")
    parser.add_argument("--out", type=Path, default=None, help="directory for results.json/.md")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, of {SECTIONS}"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for every runtime")
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the other sections of an earlier results.json in --out (rerun some only)",
    )
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    out_dir = args.out if args.out else (None if args.quick else ROOT / "benchmarks" / "results")

    started = time.perf_counter()
    results: dict[str, Any] = {}
    if args.update and out_dir is not None and (out_dir / "results.json").exists():
        results = json.loads((out_dir / "results.json").read_text())
        if results.get("quick") != args.quick:
            parser.error("--update: the earlier results are from a different mode")
    results.setdefault("conditions", {})
    results |= {
        "quick": args.quick,
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "busy_start": cpu_busy(),
        "load_start": [round(x, 2) for x in load_average()],
        "command": "python benchmarks/run.py" + (" --quick" if args.quick else ""),
    }
    peak = results["machine"]["peak"]["gflops"] if "machine" in results else 0.0
    for section in sections:
        began = time.perf_counter()
        print(f"[{section}] ...", file=sys.stderr, flush=True)
        conditions = {
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "busy_before": cpu_busy(),
            "load_before": [round(x, 2) for x in load_average()],
        }
        if section == "machine":
            results["machine"] = machine.describe(args.quick)
            peak = results["machine"]["peak"]["gflops"]
        elif section == "flops":
            results["flops"] = _flops(args.quick)
        elif section == "inference":
            if not peak:
                peak = machine.derived_peak(machine.cpu_info())["gflops"]
            results["inference"] = inference.run(args.quick, args.threads, peak_gflops=peak)
        elif section == "allocator":
            spec = inference.NETWORKS["parabolic"]
            results["allocator"] = allocator.run(spec, 32, args.threads, args.quick)
        elif section == "latency":
            results["latency"] = latency.run(args.quick)
        elif section == "memory":
            results["memory"] = memory.run(args.quick, args.threads)
        elif section == "int8":
            results["int8"] = int8.run(args.quick, args.threads)
        elif section == "levers":
            results["levers"] = levers.run(args.quick, args.threads)
        conditions["seconds"] = time.perf_counter() - began
        conditions["load_after"] = [round(x, 2) for x in load_average()]
        results["conditions"][section] = conditions
        print(f"[{section}] {conditions['seconds']:.1f} s", file=sys.stderr, flush=True)
    results["load_end"] = [round(x, 2) for x in load_average()]
    results["seconds"] = time.perf_counter() - started
    results["targets"] = targets(results)
    text = render(results)
    print(text)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        (out_dir / "results.md").write_text(text)
        print(f"wrote {out_dir / 'results.json'} and {out_dir / 'results.md'}", file=sys.stderr)
    return 0


def _flops(quick: bool) -> list[dict[str, Any]]:
    import torch

    import pde2net
    from pde2net.export.onnx import torch_threads

    rows = []
    names = inference.QUICK_NETWORKS if quick else tuple(inference.NETWORKS)
    for name in names:
        compiled = pde2net.compile_file(str(inference.NETWORKS[name]))
        counted = flops_mod.network_flops(compiled.network)
        # an enforced norm bound converges once, on the module's first eval call; that
        # power iteration is not part of inference, so it runs before the count
        with torch.no_grad(), torch_threads(1):
            compiled.module.eval()(torch.zeros(1, *compiled.network.input.shape))
        rows.append(
            {
                "network": name,
                "total": counted["total"],
                "blocks": counted["blocks"],
                "measured": flops_mod.measured_flops(compiled.module, compiled.network.input.shape),
            }
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
