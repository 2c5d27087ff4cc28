"""(b) Alt et al. (2023) on 1D and 2D denoising: symmetric diffusion blocks
u <- u - tau K' phi(K u) against standard ResNet blocks u <- u - tau K2 phi(K1 u).

Specs: specs/experiments/denoise_{1d,2d}_{symmetric,resnet}.pde (one channel in, `width`
filters, `steps` blocks with their own weights, a learned Perona-Malik flux). Variants:

- equal width m: ResNet(m) against symmetric(m), which holds half the parameters;
- equal budget: symmetric with width 2m, or with 2x the steps, against ResNet(m); and
  ResNet(m/2) against symmetric(m). The doubled symmetric nets are run twice: with the
  same tau, and with tau halved, which keeps the initial operator tau K'K (width) or the
  diffusion time tau * steps (depth) of symmetric(m).

Every variant is trained with the same optimiser over seeds 0, 1, 2 (initialisation and
batch order; the data are fixed). Reports test PSNR against the noisy input's PSNR.
Writes experiments/results/alt_denoising.json, docs/figures/alt_denoising.png and
docs/figures/alt_denoising_examples.png.

    .venv/bin/python experiments/alt_denoising.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from experiments import common
from pde2net.train import datasets
from pde2net.train.loop import TrainConfig, evaluate, train

WIDTH, STEPS, TAU = 8, 5, 0.25

# name, spec kind, overrides, comparison group
VARIANTS = [
    ("ResNet(m)", "resnet", {}, "equal width"),
    ("symmetric(m)", "symmetric", {}, "equal width"),
    ("ResNet(m/2)", "resnet", {"width": WIDTH // 2}, "equal budget"),
    ("symmetric(2m)", "symmetric", {"width": 2 * WIDTH}, "equal budget"),
    ("symmetric(2m), tau/2", "symmetric", {"width": 2 * WIDTH, "tau": TAU / 2}, "equal budget"),
    ("symmetric(m), 2x steps", "symmetric", {"steps": 2 * STEPS}, "equal budget"),
    (
        "symmetric(m), 2x steps, tau/2",
        "symmetric",
        {"steps": 2 * STEPS, "tau": TAU / 2},
        "equal budget",
    ),
]
QUICK_VARIANTS = ("ResNet(m)", "symmetric(m)")


def data_for(dim: str, quick: bool) -> datasets.Dataset:
    if dim == "1d":
        n = (128, 64) if quick else (1024, 256)
        return datasets.signals1d(256, n_train=n[0], n_test=n[1], seed=0, noise=0.1)
    n = (64, 32) if quick else (512, 256)
    return datasets.images2d(32, n_train=n[0], n_test=n[1], seed=0, noise=0.1)


def run(quick: bool = False, dims: tuple[str, ...] = ("1d", "2d")) -> dict:
    seeds = [0] if quick else [0, 1, 2]
    config = dict(epochs=2 if quick else 30, batch_size=32, lr=1e-2, schedule="cosine")
    variants = [v for v in VARIANTS if not quick or v[0] in QUICK_VARIANTS]
    runs, baselines, examples = [], {}, {}
    for dim in dims:
        data = data_for(dim, quick)
        baselines[dim] = datasets.psnr(data.x_test, data.y_test)
        # the example for the figure: the test sample with the most edges (total variation)
        pick = int(data.y_test.diff(dim=-1).abs().flatten(1).mean(1).argmax())
        sample = slice(pick, pick + 1)
        examples[dim] = {"noisy": data.x_test[sample], "clean": data.y_test[sample]}
        print(f"{dim}: noisy input {baselines[dim]:.2f} dB", flush=True)
        for name, kind, overrides, group in variants:
            for seed in seeds:
                compiled = common.compile_spec(f"denoise_{dim}_{kind}", seed=seed, **overrides)
                metrics = train(compiled, data, TrainConfig(seed=seed, progress=False, **config))
                psnr = evaluate(compiled.module, data)
                runs.append(
                    {
                        "dim": dim,
                        "variant": name,
                        "kind": kind,
                        "group": group,
                        "overrides": overrides,
                        "seed": seed,
                        "test_psnr": psnr,
                        "parameters": metrics["parameters"],
                        "seconds": metrics["seconds"],
                        "curve": metrics["history"]["test_psnr"],
                    }
                )
                print(
                    f"{dim} {name:30s} seed={seed} psnr={psnr:.2f} dB "
                    f"params={metrics['parameters']} ({metrics['seconds']:.1f} s)",
                    flush=True,
                )
                if seed == seeds[0]:
                    with torch.no_grad():
                        out = compiled.module.eval()(data.x_test[sample])
                    examples[dim][name] = out
    return {
        "config": config,
        "seeds": seeds,
        "width": WIDTH,
        "steps": STEPS,
        "tau": TAU,
        "noisy_psnr": baselines,
        "runs": runs,
        "examples": {
            dim: {k: v.flatten().tolist() for k, v in ex.items()} for dim, ex in examples.items()
        },
    }


def summarise(result: dict) -> str:
    rows = []
    for dim in result["noisy_psnr"]:
        rows.append(
            [f"**{dim.upper()}** noisy input", "", "", f"{result['noisy_psnr'][dim]:.2f}", ""]
        )
        reference = _mean(result, dim, "ResNet(m)")
        for name, *_ in VARIANTS:
            rs = [r for r in result["runs"] if r["dim"] == dim and r["variant"] == name]
            if not rs:
                continue
            mean = common.mean_std([r["test_psnr"] for r in rs])[0]
            rows.append(
                [
                    name,
                    rs[0]["group"],
                    f"{rs[0]['parameters']:,}",
                    common.pm([r["test_psnr"] for r in rs]),
                    f"{mean - reference:+.2f}",
                ]
            )
    header = ["network", "comparison", "parameters", "test PSNR (dB)", "vs ResNet(m)"]
    return common.table(header, rows)


def _mean(result: dict, dim: str, name: str) -> float:
    rs = [r["test_psnr"] for r in result["runs"] if r["dim"] == dim and r["variant"] == name]
    return common.mean_std(rs)[0]


def plot(result: dict, path: Path) -> None:
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for ax, dim in zip(axes, ("1d", "2d"), strict=True):
        runs = [r for r in result["runs"] if r["dim"] == dim]
        counts = {r["variant"]: r["parameters"] for r in runs}
        for name, kind, *_ in VARIANTS:
            rs = [r for r in runs if r["variant"] == name]
            if not rs:
                continue
            mean, std = common.mean_std([r["test_psnr"] for r in rs])
            marker = "s" if kind == "resnet" else ("^" if "tau/2" in name else "o")
            # spread the variants with equal parameter counts a little along x
            same = [v for v, n in counts.items() if n == rs[0]["parameters"]]
            offset = same.index(name) - (len(same) - 1) / 2
            x = rs[0]["parameters"] * (1 + 0.008 * offset)
            ax.errorbar(x, mean, yerr=std, fmt=marker, capsize=3, markersize=7, label=name)
        ax.set_xlabel("trainable parameters")
        ax.set_ylabel("test PSNR (dB), mean ± std over seeds")
        ax.set_title(
            f"{dim.upper()} denoising, σ = 0.1 (noisy input {result['noisy_psnr'][dim]:.2f} dB)"
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    common.savefig(fig, path)
    plt.close(fig)


def plot_examples(result: dict, path: Path) -> None:
    plt = common.pyplot()
    ex1, ex2 = result["examples"]["1d"], result["examples"]["2d"]
    show = ["clean", "noisy", "ResNet(m)", "symmetric(m)"]
    fig, axes = plt.subplots(1, 1 + len(show), figsize=(14, 2.8))
    for key in show:
        axes[0].plot(ex1[key], linewidth=0.8 if key == "noisy" else 1.2, label=key)
    axes[0].legend(fontsize=7)
    axes[0].set_title("1D test signal")
    size = int(len(ex2["clean"]) ** 0.5)
    for ax, key in zip(axes[1:], show, strict=True):
        ax.imshow(np.asarray(ex2[key]).reshape(size, size), cmap="gray", vmin=0, vmax=1)
        ax.set_title(key)
        ax.axis("off")
    common.savefig(fig, path)
    plt.close(fig)


def merge(parts: list[dict]) -> dict:
    """One result from the results of runs on separate dimensions (run_all's two jobs)."""
    merged = dict(parts[0])
    for key in ("noisy_psnr", "examples"):
        merged[key] = {k: v for part in parts for k, v in part[key].items()}
    merged["runs"] = [r for part in parts for r in part["runs"]]
    merged["seconds"] = round(sum(part["seconds"] for part in parts), 1)
    return merged


def write_figures(result: dict, figures: Path) -> None:
    plot(result, figures / "alt_denoising.png")
    plot_examples(result, figures / "alt_denoising_examples.png")


def main(argv: list[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument(
        "--dims",
        default="1d,2d",
        help="1d, 2d or both (default); one alone writes alt_denoising_DIM.json, no figures",
    )
    args = p.parse_args(argv)
    dims = tuple(d.strip() for d in args.dims.split(","))
    results, figures = common.setup(args)
    timer = common.Timer()
    result = run(args.quick, dims)
    result.update(machine=common.machine(), seconds=timer.seconds, quick=args.quick)
    if set(dims) == {"1d", "2d"}:
        common.save(results / "alt_denoising.json", result)
        write_figures(result, figures)
    else:
        common.save(results / f"alt_denoising_{'_'.join(dims)}.json", result)
    print(summarise(result))
    print(f"\nalt_denoising: {result['seconds']} s")
    return result


if __name__ == "__main__":
    main()
