"""(c) rerun for issue 16: FED with the diffusivity frozen per cycle (now the default)
on Perona-Malik, against explicit Euler; and the trained comparison at three seeds.

Part 1 uses `fed_depth`'s signals, RK4 reference, 40 dB tolerance and depth search on
the Perona-Malik specs only (the heat equation is linear: freezing changes nothing), and
adds the largest ‖out‖/‖in‖ of one FED cycle at n = n_min … n_min + 10. Part 2 trains the
learned_diffusion_1d_{euler,fed} specs at depths 1, 2, 4, 8, 16 with seeds 0, 1, 2 (as
fed_depth part 2 did with the per-step flux); runs already in the results file are kept.

Writes experiments/results/fed_depth_frozen_{fixed,learned}.json.

    nice -n 10 .venv/bin/python experiments/fed_depth_frozen.py [--part fixed|learned]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments import common
from experiments import fed_depth as fd
from pde2net.train import datasets
from pde2net.train.loop import TrainConfig, train

TIMES = (2, 5, 10, 20, 50, 100, 200, 500)


def part_fixed(tol: float = 40.0) -> dict:
    data = datasets.signals1d(256, n_train=0, n_test=64, seed=1, noise=0.1)
    runner = fd.Runner(data.x_test.double())
    rows = []
    for T in TIMES:
        t0 = time.time()
        ref = runner.reference("perona_malik", T)
        euler, _ = fd.min_depth_euler(runner, "perona_malik", T, ref, tol)
        cap = euler if euler is not None else 2 * math.ceil(T / fd.TAU_STABLE) + 20
        fed, traces = fd.min_depth_fed(runner, "perona_malik", T, ref, tol, cap)
        after = (
            [fd.psnr(runner.fed("perona_malik", T, fed[2] + k, fed[1]), ref) for k in (1, 2)]
            if fed
            else []
        )
        n0 = 1
        while 3 * T / (n0 * n0 + n0) > fd.TAU_STABLE + 1e-12:
            n0 += 1
        ratio = 0.0
        for n in range(n0, n0 + 11):
            out = runner.fed("perona_malik", T, n, 1)
            norms = out.flatten(1).norm(dim=1) / runner.u0.flatten(1).norm(dim=1)
            ratio = max(ratio, float(norms.max()))
        rows.append(
            {
                "T": T,
                "euler_depth": euler,
                "fed": fed,
                "fed_next_psnr": after,
                "fed_robust": bool(fed) and all(p >= tol for p in after),
                "max_norm_ratio_fed_one_cycle": ratio,
                "traces": {str(k): v for k, v in traces.items()},
                "seconds": time.time() - t0,
            }
        )
        print(T, euler, fed, [round(p, 1) for p in after], round(ratio, 4), flush=True)
    return {
        "pde": "perona_malik",
        "tol_db": tol,
        "rows": rows,
        "slope_euler": fd.slope([(r["T"], r["euler_depth"]) for r in rows]),
        "slope_fed": fd.slope([(r["T"], r["fed"][0] if r["fed"] else None) for r in rows]),
    }


def part_learned(seeds: list[int], depths: list[int], done: list[dict] | None = None) -> dict:
    """Train every (depth, scheme, seed); runs already in `done` are kept, not rerun."""
    noise = 0.2
    data = datasets.signals1d(256, n_train=512, n_test=256, seed=0, noise=noise)
    config = dict(epochs=10, batch_size=32, lr=1e-2, schedule="cosine")
    have = {(r["scheme"], r["depth"], r["seed"]): r for r in done or []}
    for depth in depths:
        for scheme in ("euler", "fed"):
            for seed in seeds:
                if (scheme, depth, seed) in have:
                    continue
                compiled = common.compile_spec(
                    f"learned_diffusion_1d_{scheme}", seed=seed, steps=depth
                )
                m = train(compiled, data, TrainConfig(seed=seed, progress=False, **config))
                have[scheme, depth, seed] = {
                    "scheme": scheme,
                    "depth": depth,
                    "seed": seed,
                    "test_psnr": m["test_psnr"],
                    "verdict": compiled.report["verdict"],
                }
                print(scheme, depth, seed, round(m["test_psnr"], 2), flush=True)
    runs = sorted(have.values(), key=lambda r: (r["depth"], r["scheme"], r["seed"]))
    return {
        "noise": noise,
        "noisy_psnr": datasets.psnr(data.x_test, data.y_test),
        "config": config,
        "seeds": sorted({r["seed"] for r in runs}),
        "runs": runs,
    }


def table(result: dict) -> str:
    """The Markdown table of mean ± sample std over seeds, per scheme and depth."""
    import statistics

    depths = sorted({r["depth"] for r in result["runs"]})
    lines = [
        "| network | " + " | ".join(f"depth {d}" for d in depths) + " |",
        "|---|" + "---|" * len(depths),
    ]
    for scheme, title in (("euler", "explicit Euler"), ("fed", "frozen FED (1 cycle)")):
        cells = []
        for d in depths:
            v = [
                r["test_psnr"] for r in result["runs"] if r["scheme"] == scheme and r["depth"] == d
            ]
            sd = f" ± {statistics.stdev(v):.2f}" if len(v) > 1 else ""
            cells.append(f"{statistics.mean(v):.2f}{sd}" if v else "–")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("fixed", "learned", "both"), default="both")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    args = p.parse_args(argv)
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    if args.part in ("fixed", "both"):
        result = part_fixed()
        (common.RESULTS / "fed_depth_frozen_fixed.json").write_text(json.dumps(result, indent=1))
    if args.part in ("learned", "both"):
        path = common.RESULTS / "fed_depth_frozen_learned.json"
        done = json.loads(path.read_text())["runs"] if path.exists() else []
        result = part_learned(args.seeds, args.depths, done)
        path.write_text(json.dumps(result, indent=1))
        print(table(result))


if __name__ == "__main__":
    main()
