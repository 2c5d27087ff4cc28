"""(a) Ruthotto & Haber (2018) on scikit-learn's 8x8 digits.

The ResNet, parabolic, Hamiltonian and second-order networks of
specs/experiments/digits_*.pde share one layout (opening conv, one PDE block, 1x1 conv,
pooling, linear); they are trained with the same optimiser and schedule over seeds 0, 1, 2
(the seed sets the weight initialisation and the batch order), at the specs' own depth and
at a deeper setting (`--set steps=8`). Prints a markdown table, writes
experiments/results/rh_digits.json and docs/figures/rh_digits.png.

    .venv/bin/python experiments/rh_digits.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments import common
from pde2net.train.datasets import load
from pde2net.train.loop import TrainConfig, train

FAMILIES = ("resnet", "parabolic", "hamiltonian", "second_order")
LABELS = {
    "resnet": "ResNet",
    "parabolic": "parabolic",
    "hamiltonian": "Hamiltonian",
    "second_order": "second order",
}


def run(quick: bool = False) -> dict:
    seeds = [0] if quick else [0, 1, 2]
    depths = [None] if quick else [None, 8]  # None: the spec's own `steps`
    config = dict(epochs=2 if quick else 15, batch_size=32, lr=3e-3, schedule="cosine")
    data = load("digits")
    runs = []
    for steps in depths:
        for family in FAMILIES:
            for seed in seeds:
                overrides = {} if steps is None else {"steps": steps}
                compiled = common.compile_spec(f"digits_{family}", seed=seed, **overrides)
                metrics = train(compiled, data, TrainConfig(seed=seed, progress=False, **config))
                runs.append(
                    {
                        "family": family,
                        "steps": compiled.network.blocks[0].steps,
                        "depth": "spec" if steps is None else f"steps={steps}",
                        "seed": seed,
                        "test_accuracy": metrics["test_accuracy"],
                        "parameters": metrics["parameters"],
                        "seconds": metrics["seconds"],
                        "curve": metrics["history"]["test_accuracy"],
                    }
                )
                print(
                    f"{family:13s} steps={runs[-1]['steps']:2d} seed={seed} "
                    f"acc={metrics['test_accuracy']:.2f}% params={metrics['parameters']} "
                    f"({metrics['seconds']:.1f} s)",
                    flush=True,
                )
    return {"config": config, "seeds": seeds, "dataset": "digits", "runs": runs}


def summarise(result: dict) -> str:
    rows = []
    for depth in dict.fromkeys(r["depth"] for r in result["runs"]):
        for family in FAMILIES:
            rs = [r for r in result["runs"] if r["family"] == family and r["depth"] == depth]
            if not rs:
                continue
            rows.append(
                [
                    LABELS[family],
                    rs[0]["steps"],
                    f"{rs[0]['parameters']:,}",
                    common.pm([r["test_accuracy"] for r in rs]),
                    f"{min(r['test_accuracy'] for r in rs):.2f}",
                    f"{common.mean_std([r['seconds'] for r in rs])[0]:.1f}",
                ]
            )
    header = ["network", "steps", "parameters", "test accuracy (%)", "worst seed", "s / run"]
    return common.table(header, rows)


def plot(result: dict, path: Path) -> None:
    plt = common.pyplot()
    depths = list(dict.fromkeys(r["depth"] for r in result["runs"]))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    markers = {"spec": "o", "steps=8": "s"}
    for family in FAMILIES:
        color = None
        for depth in depths:
            rs = [r for r in result["runs"] if r["family"] == family and r["depth"] == depth]
            mean, std = common.mean_std([r["test_accuracy"] for r in rs])
            line = axes[0].errorbar(
                rs[0]["parameters"],
                mean,
                yerr=std,
                fmt=markers.get(depth, "o"),
                color=color,
                capsize=3,
                label=f"{LABELS[family]} ({depth}, {rs[0]['steps']} steps)",
            )
            color = line[0].get_color()
        rs = [r for r in result["runs"] if r["family"] == family and r["depth"] == depths[0]]
        curve = [sum(c) / len(c) for c in zip(*(r["curve"] for r in rs), strict=True)]
        axes[1].plot(range(1, len(curve) + 1), curve, "-", color=color, label=LABELS[family])
    axes[0].set_xlabel("trainable parameters")
    axes[0].set_ylabel("test accuracy (%), mean ± std")
    axes[0].legend(fontsize=7)
    axes[0].set_title("digits: accuracy vs parameters")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test accuracy (%), mean over seeds")
    axes[1].set_ylim(85, 100)
    axes[1].legend(fontsize=8)
    axes[1].set_title("test accuracy during training (spec depth)")
    common.savefig(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    results, figures = common.setup(args)
    timer = common.Timer()
    result = run(args.quick)
    result.update(machine=common.machine(), seconds=timer.seconds, quick=args.quick)
    common.save(results / "rh_digits.json", result)
    plot(result, figures / "rh_digits.png")
    print(summarise(result))
    print(f"\nrh_digits: {result['seconds']} s")
    return result


if __name__ == "__main__":
    main()
