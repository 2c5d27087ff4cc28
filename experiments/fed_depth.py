"""(c) Fast Explicit Diffusion against explicit Euler: the depth each needs.

Part 1, fixed operators. The heat equation and Perona-Malik diffusion (lambda = 0.1) in
1D, specs/experiments/{heat,perona_malik}_1d_{euler,fed}.pde, run to diffusion time T on
noisy test signals of `signals1d`. The reference is RK4 with dt = 0.05 on the compiled
right-hand side (for the heat equation also checked against the exact exp(T L) u0). For
each T the script finds the smallest depth (right-hand-side evaluations = layers) whose
output is within `--tol` dB PSNR of the reference:

- explicit Euler: m steps of size T/m, m = ceil(T / tau_stable), ceil(...) + 1, ...;
- FED: M cycles of n steps with tau_max = 3 T / (M (n^2 + n)) <= tau_stable, for
  M = 1..4 and n = n_min, n_min + 1, ...; the depth is M n.

Part 2, trained. specs/experiments/learned_diffusion_1d_{euler,fed}.pde: one learned
Perona-Malik diffusion operator (shared weights) applied by explicit Euler or by one FED
cycle with the same number of steps, trained on signals1d with noise 0.2 at depths
1..16, seeds 0..2: test PSNR against depth.

Writes experiments/results/fed_depth.json, docs/figures/fed_depth.png,
docs/figures/fed_accuracy.png and docs/figures/fed_learned.png.

    .venv/bin/python experiments/fed_depth.py [--quick] [--tol 40]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from experiments import common
from pde2net.train import datasets
from pde2net.train.loop import TrainConfig, train

TAU_STABLE = 0.5  # h^2 / 2 for the 1D heat and Perona-Malik steps with h = 1
PDES = ("heat", "perona_malik")
LABELS = {"heat": "heat equation", "perona_malik": "Perona-Malik (λ = 0.1)"}
MAX_CYCLES = 4
FLUX_LABELS = {"perona_malik": "Perona-Malik flux"}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR (dB, peak 1) of `a` against `b`, averaged over the signals; capped at 200."""
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-20)
    value = float((10 * torch.log10(1 / mse)).mean())
    return value if math.isfinite(value) else -100.0


class Runner:
    """Compiles the spec for one setting and runs it on the signals, in float64."""

    def __init__(self, u0: torch.Tensor) -> None:
        self.u0 = u0
        self.evaluations = 0

    def output(self, spec: str, **overrides) -> torch.Tensor:
        module = common.compile_spec(spec, **overrides).module.double().eval()
        self.evaluations += 1
        with torch.no_grad():
            out = module(self.u0)
        return torch.nan_to_num(out, nan=1e6, posinf=1e6, neginf=-1e6)

    def euler(self, pde: str, T: float, m: int) -> torch.Tensor:
        return self.output(f"{pde}_1d_euler", tau=T / m, steps=m)

    def fed(self, pde: str, T: float, n: int, cycles: int) -> torch.Tensor:
        tau_max = 3 * T / (cycles * (n * n + n))
        return self.output(f"{pde}_1d_fed", tau_max=tau_max, steps=n, cycles=cycles)

    def reference(self, pde: str, T: float, dt: float = 0.05) -> torch.Tensor:
        """RK4 on the compiled right-hand side f(u) of the spec."""
        module = common.compile_spec(f"{pde}_1d_euler", steps=1).module.double().eval()

        def f(u):
            return module.block1.f(u, 0)

        n = math.ceil(T / dt)
        dt = T / n
        u = self.u0.clone()
        with torch.no_grad():
            for _ in range(n):
                k1 = f(u)
                k2 = f(u + dt / 2 * k1)
                k3 = f(u + dt / 2 * k2)
                k4 = f(u + dt * k3)
                u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return u

    def exact_heat(self, T: float) -> torch.Tensor:
        """exp(T L) u0 for the compiled (linear) heat operator L, by eigendecomposition."""
        module = common.compile_spec("heat_1d_euler", steps=1).module.double().eval()
        size = self.u0.shape[-1]
        with torch.no_grad():
            L = module.block1.f(torch.eye(size, dtype=torch.float64).view(size, 1, size), 0)
        L = L.view(size, size).T  # column j is L e_j
        w, V = torch.linalg.eigh((L + L.T) / 2)
        u = self.u0.view(-1, size).T
        return (V @ (torch.exp(T * w)[:, None] * (V.T @ u))).T.reshape(self.u0.shape)


def min_depth_euler(runner: Runner, pde: str, T: float, ref: torch.Tensor, tol: float):
    """Smallest m with PSNR(Euler_m, ref) >= tol, scanning up from the stability limit."""
    m0 = math.ceil(T / TAU_STABLE - 1e-9)
    trace = []
    for m in range(m0, 2 * m0 + 20):
        p = psnr(runner.euler(pde, T, m), ref)
        trace.append((m, p))
        if p >= tol:
            return m, trace
    return None, trace


def min_depth_fed(runner: Runner, pde: str, T: float, ref: torch.Tensor, tol: float, cap: int):
    """Smallest M n over M = 1..MAX_CYCLES with PSNR(FED, ref) >= tol and M n <= cap."""
    best, traces = None, {}
    for cycles in range(1, MAX_CYCLES + 1):
        n = 1
        while 3 * T / (cycles * (n * n + n)) > TAU_STABLE + 1e-12:
            n += 1
        trace = traces.setdefault(cycles, [])
        limit = min(cap // cycles, max(2 * n, n + 25))
        while n <= limit and (best is None or cycles * n < best[0]):
            p = psnr(runner.fed(pde, T, n, cycles), ref)
            trace.append((cycles * n, p))
            if p >= tol:
                best = (cycles * n, cycles, n)
                break
            n += 1
    return best, traces


def part_fixed(quick: bool, tol: float) -> dict:
    times = [5, 20] if quick else [2, 5, 10, 20, 50, 100, 200, 500]
    n_signals = 16 if quick else 64
    data = datasets.signals1d(256, n_train=0, n_test=n_signals, seed=1, noise=0.1)
    runner = Runner(data.x_test.double())
    rows = []
    for pde in PDES:
        for T in times:
            timer = common.Timer()
            ref = runner.reference(pde, T)
            check = psnr(runner.exact_heat(T), ref) if pde == "heat" else None
            euler, euler_trace = min_depth_euler(runner, pde, T, ref, tol)
            cap = euler if euler is not None else 2 * math.ceil(T / TAU_STABLE) + 20
            fed, fed_traces = min_depth_fed(runner, pde, T, ref, tol, cap)
            # is the FED depth robust? PSNR of the next two cycle lengths with the same M
            after = (
                [psnr(runner.fed(pde, T, fed[2] + k, fed[1]), ref) for k in (1, 2)] if fed else []
            )
            rows.append(
                {
                    "pde": pde,
                    "T": T,
                    "reference_vs_exact_psnr": check,
                    "change_psnr": psnr(runner.u0, ref),
                    "euler_depth": euler,
                    "fed_depth": fed[0] if fed else None,
                    "fed_cycles": fed[1] if fed else None,
                    "fed_steps": fed[2] if fed else None,
                    "fed_next_psnr": after,
                    "fed_robust": bool(fed) and all(p >= tol for p in after),
                    "euler_trace": euler_trace,
                    "fed_traces": {str(k): v for k, v in fed_traces.items()},
                    "seconds": timer.seconds,
                }
            )
            print(
                f"{pde:13s} T={T:4g}: euler {euler}, fed {fed} (M, n) "
                f"[ref vs exact {check if check is None else round(check, 1)} dB] "
                f"({timer.seconds} s)",
                flush=True,
            )
    curves = accuracy_curves(runner, [20] if quick else [50], 8 if quick else 30)
    return {
        "tol_db": tol,
        "tau_stable": TAU_STABLE,
        "signals": n_signals,
        "rows": rows,
        "curves": curves,
        "evaluations": runner.evaluations,
    }


def accuracy_curves(runner: Runner, times: list[float], count: int = 30) -> list[dict]:
    """PSNR against the reference over a range of depths, for the accuracy plot."""
    curves = []
    for pde in PDES:
        for T in times:
            ref = runner.reference(pde, T)
            m0 = math.ceil(T / TAU_STABLE)
            ms = sorted({*range(max(1, m0 - 4), m0 + 8), *(round(m0 * f) for f in (1.5, 2, 3, 4))})
            growth = {"euler": 0.0, "fed": 0.0}  # the largest ||output|| / ||u0||

            def measure(out: torch.Tensor, scheme: str, ref=ref, growth=growth) -> float:
                ratio = out.flatten(1).norm(dim=1) / runner.u0.flatten(1).norm(dim=1)
                growth[scheme] = max(growth[scheme], float(ratio.max()))
                return psnr(out, ref)

            euler = [(m, measure(runner.euler(pde, T, m), "euler")) for m in ms if m >= m0]
            euler = [(m, psnr(runner.euler(pde, T, m), ref)) for m in ms if m < m0] + euler
            fed = {}
            for cycles in (1, 2, 3):
                n_min = 1
                while 3 * T / (cycles * (n_min * n_min + n_min)) > TAU_STABLE + 1e-12:
                    n_min += 1
                ns = range(n_min, n_min + count)
                fed[str(cycles)] = [
                    (cycles * n, measure(runner.fed(pde, T, n, cycles), "fed")) for n in ns
                ]
            curves.append(
                {
                    "pde": pde,
                    "T": T,
                    "euler": euler,
                    "fed": fed,
                    "max_norm_ratio_stable_euler": growth["euler"],
                    "max_norm_ratio_fed": growth["fed"],
                }
            )
    return curves


def part_learned(quick: bool) -> dict:
    depths = [1, 4] if quick else [1, 2, 4, 8, 16]
    seeds = [0] if quick else [0, 1, 2]
    noise = 0.2
    n = (128, 64) if quick else (512, 256)
    data = datasets.signals1d(256, n_train=n[0], n_test=n[1], seed=0, noise=noise)
    config = dict(epochs=2 if quick else 10, batch_size=32, lr=1e-2, schedule="cosine")
    runs = []
    for flux in FLUX_LABELS:
        for depth in depths:
            for scheme in ("euler", "fed"):
                for seed in seeds:
                    compiled = common.compile_spec(
                        f"learned_diffusion_1d_{scheme}",
                        seed=seed,
                        steps=depth,
                    )
                    metrics = train(
                        compiled, data, TrainConfig(seed=seed, progress=False, **config)
                    )
                    runs.append(
                        {
                            "flux": flux,
                            "scheme": scheme,
                            "depth": depth,
                            "seed": seed,
                            "test_psnr": metrics["test_psnr"],
                            "parameters": metrics["parameters"],
                            "seconds": metrics["seconds"],
                        }
                    )
                    print(
                        f"learned {flux:12s} {scheme:5s} depth={depth:2d} seed={seed} "
                        f"psnr={metrics['test_psnr']:.2f} ({metrics['seconds']:.1f} s)",
                        flush=True,
                    )
    return {
        "noise": noise,
        "noisy_psnr": datasets.psnr(data.x_test, data.y_test),
        "config": config,
        "seeds": seeds,
        "runs": runs,
    }


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(depth) against log(T)."""
    pts = [(math.log(t), math.log(d)) for t, d in points if d]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def summarise(result: dict) -> str:
    fixed = result["fixed"]
    tol = fixed["tol_db"]
    out = [f"Depth to reach {tol:g} dB PSNR against the reference solution:\n"]
    header = ["T"]
    for pde in PDES:
        header += [f"{LABELS[pde]}: Euler", "FED (M × n)", "ratio"]
    rows = []
    for T in dict.fromkeys(r["T"] for r in fixed["rows"]):
        row = [f"{T:g}"]
        for pde in PDES:
            (r,) = [r for r in fixed["rows"] if r["pde"] == pde and r["T"] == T]
            e, f = r["euler_depth"], r["fed_depth"]
            row += [
                e if e is not None else "not reached",
                f"{f} ({r['fed_cycles']} × {r['fed_steps']}){'' if r['fed_robust'] else ' †'}"
                if f
                else "not reached",
                f"{e / f:.1f}" if e and f else "–",
            ]
        rows.append(row)
    slopes = ["slope d log(depth) / d log(T)"]
    for pde in PDES:
        rs = [r for r in fixed["rows"] if r["pde"] == pde]
        se = slope([(r["T"], r["euler_depth"]) for r in rs])
        sf = slope([(r["T"], r["fed_depth"]) for r in rs])
        slopes += [f"{se:.2f}" if se else "–", f"{sf:.2f}" if sf else "–", ""]
    rows.append(slopes)
    out.append(common.table(header, rows))
    out.append(
        "\n† reached at this (M, n) but not at both n + 1 and n + 2 with the same M: "
        "the FED output's accuracy jumps with n (unstable steps)."
    )
    for c in fixed["curves"]:
        out.append(
            f"\n{LABELS[c['pde']]}, T = {c['T']:g}: largest ‖output‖ / ‖input‖ per signal "
            f"{c['max_norm_ratio_stable_euler']:.3f} for explicit Euler at stable steps, "
            f"{c['max_norm_ratio_fed']:.3f} for the FED runs of the accuracy plot."
        )
    learned = result.get("learned")
    if learned:
        out.append(
            f"\nTrained on signals1d (noise {learned['noise']}, noisy input "
            f"{learned['noisy_psnr']:.2f} dB): test PSNR (dB) by depth\n"
        )
        depths = list(dict.fromkeys(r["depth"] for r in learned["runs"]))
        rows = []
        for flux in dict.fromkeys(r.get("flux", "perona_malik") for r in learned["runs"]):
            for scheme in ("euler", "fed"):
                name = "explicit Euler" if scheme == "euler" else "FED (1 cycle)"
                row = [f"{FLUX_LABELS[flux]}, {name}"]
                for d in depths:
                    vals = [
                        r["test_psnr"]
                        for r in learned["runs"]
                        if r.get("flux", "perona_malik") == flux
                        and r["scheme"] == scheme
                        and r["depth"] == d
                    ]
                    row.append(common.pm(vals))
                rows.append(row)
        out.append(common.table(["network", *(f"depth {d}" for d in depths)], rows))
    return "\n".join(out)


def plot_depth(result: dict, path: Path) -> None:
    plt = common.pyplot()
    fixed = result["fixed"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, pde in zip(axes, PDES, strict=True):
        rs = [r for r in fixed["rows"] if r["pde"] == pde]
        Ts = [r["T"] for r in rs]
        for key, label, marker in (
            ("euler_depth", "explicit Euler", "s-"),
            ("fed_depth", "FED (best M ≤ 4)", "o-"),
        ):
            pts = [(r["T"], r[key]) for r in rs if r[key]]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker, label=label)
            missing = [r["T"] for r in rs if not r[key]]
            if missing:
                ax.plot(missing, [1] * len(missing), "x", color="red", label=f"{label}: none")
        t0, t1 = min(Ts), max(Ts)
        ax.plot([t0, t1], [t0 / TAU_STABLE, t1 / TAU_STABLE], ":", color="grey", label="T / τ")
        ax.plot(
            [t0, t1],
            [math.sqrt(3 * t0 / TAU_STABLE), math.sqrt(3 * t1 / TAU_STABLE)],
            "--",
            color="grey",
            label="√(3T / τ) (one FED cycle)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("diffusion time T")
        ax.set_ylabel(f"depth for ≥ {fixed['tol_db']:g} dB vs reference")
        ax.set_title(LABELS[pde])
        ax.legend(fontsize=7)
    common.savefig(fig, path)
    plt.close(fig)


def plot_accuracy(result: dict, path: Path) -> None:
    plt = common.pyplot()
    from matplotlib import ticker

    curves = result["fixed"]["curves"]
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4))
    for ax, c in zip(axes, curves, strict=True):
        ax.plot(*zip(*c["euler"], strict=True), "s-", markersize=3, label="explicit Euler")
        for cycles, pts in c["fed"].items():
            ax.plot(*zip(*pts, strict=True), "o-", markersize=3, label=f"FED, {cycles} cycle(s)")
        ax.axhline(result["fixed"]["tol_db"], color="grey", linestyle=":", label="target")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_ylim(-10, 100)
        ax.set_xlabel("depth (right-hand-side evaluations)")
        ax.set_ylabel("PSNR vs reference (dB)")
        ax.set_title(f"{LABELS[c['pde']]}, T = {c['T']:g}")
        ax.legend(fontsize=7)
    common.savefig(fig, path)
    plt.close(fig)


def plot_learned(result: dict, path: Path) -> None:
    plt = common.pyplot()
    learned = result["learned"]
    fluxes = list(dict.fromkeys(r.get("flux", "perona_malik") for r in learned["runs"]))
    fig, axes = plt.subplots(1, len(fluxes), figsize=(5 * len(fluxes), 3.6), squeeze=False)
    depths = list(dict.fromkeys(r["depth"] for r in learned["runs"]))
    for ax, flux in zip(axes[0], fluxes, strict=True):
        for scheme, label in (("euler", "explicit Euler"), ("fed", "FED, one cycle")):
            stats = [
                common.mean_std(
                    [
                        r["test_psnr"]
                        for r in learned["runs"]
                        if r.get("flux", "perona_malik") == flux
                        and r["scheme"] == scheme
                        and r["depth"] == d
                    ]
                )
                for d in depths
            ]
            ax.errorbar(
                depths,
                [m for m, _ in stats],
                yerr=[s for _, s in stats],
                fmt="o-",
                capsize=3,
                label=label,
            )
        ax.axhline(learned["noisy_psnr"], color="grey", linestyle=":", label="noisy input")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("depth (steps, shared weights)")
        ax.set_ylabel("test PSNR (dB)")
        ax.set_title(f"learned diffusion, {FLUX_LABELS[flux]}, σ = {learned['noise']}")
        ax.legend(fontsize=8)
    common.savefig(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--tol", type=float, default=40.0, help="target PSNR vs reference (dB)")
    p.add_argument("--no-train", action="store_true", help="skip part 2 (trained)")
    args = p.parse_args(argv)
    results, figures = common.setup(args)
    timer = common.Timer()
    result = {"fixed": part_fixed(args.quick, args.tol)}
    if not args.no_train:
        result["learned"] = part_learned(args.quick)
    result.update(machine=common.machine(), seconds=timer.seconds, quick=args.quick)
    common.save(results / "fed_depth.json", result)
    plot_depth(result, figures / "fed_depth.png")
    plot_accuracy(result, figures / "fed_accuracy.png")
    if "learned" in result:
        plot_learned(result, figures / "fed_learned.png")
    print(summarise(result))
    print(f"\nfed_depth: {result['seconds']} s")
    return result


if __name__ == "__main__":
    main()
