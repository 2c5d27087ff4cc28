"""MNIST-1D (Greydanus 2020) with 1D ResNet, parabolic, Hamiltonian and second-order
networks at matched layout (specs/experiments/mnist1d_*.pde), beside the benchmark's
published baselines (logistic regression 32 %, MLP 68 %, CNN 94 %, GRU 91 %).

Data: `pde2net train --data mnist1d`, the benchmark's generator with its defaults
(4,000 train / 1,000 test, length 40, data seed 42). Seeds 0, 1, 2 set the weight
initialisation and the batch order. Prints a markdown table, writes
experiments/results/mnist1d.json and docs/figures/mnist1d.png.

    .venv/bin/python experiments/mnist1d.py [--quick] [--epochs N]
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
# Greydanus (2020), Table/README of github.com/greydanus/mnist1d: test accuracy (%) and
# the parameter counts of the reference models (the CNN: three stride-2 1D convolutions
# with 25 channels and a linear layer).
BASELINES = (
    ("logistic regression", "32", "410"),
    ("MLP", "68", "15k"),
    ("CNN", "94", "5k"),
    ("GRU", "91", "5k"),
)


def run(quick: bool = False, epochs: int | None = None) -> dict:
    seeds = [0] if quick else [0, 1, 2]
    config = dict(
        epochs=epochs or (2 if quick else 40),
        batch_size=64,
        optimizer="adam",
        lr=3e-3,
        weight_decay=1e-4,
        schedule="cosine",
    )
    data = load("mnist1d")
    if quick:
        data.x_train, data.y_train = data.x_train[:512], data.y_train[:512]
    runs = []
    for family in FAMILIES:
        for seed in seeds:
            compiled = common.compile_spec(f"mnist1d_{family}", seed=seed)
            metrics = train(compiled, data, TrainConfig(seed=seed, progress=False, **config))
            curve = metrics["history"]["test_accuracy"]
            runs.append(
                {
                    "family": family,
                    "seed": seed,
                    "test_accuracy": metrics["test_accuracy"],
                    "best_epoch_accuracy": max(curve),
                    "parameters": metrics["parameters"],
                    "seconds": metrics["seconds"],
                    "curve": curve,
                }
            )
            print(
                f"{family:13s} seed={seed} acc={metrics['test_accuracy']:.2f}% "
                f"params={metrics['parameters']} ({metrics['seconds']:.1f} s)",
                flush=True,
            )
    return {"config": config, "seeds": seeds, "dataset": "mnist1d", "runs": runs}


def summarise(result: dict) -> str:
    rows = []
    for family in FAMILIES:
        rs = [r for r in result["runs"] if r["family"] == family]
        if not rs:
            continue
        rows.append(
            [
                f"{LABELS[family]} (pde2net)",
                f"{rs[0]['parameters']:,}",
                common.pm([r["test_accuracy"] for r in rs]),
                f"{min(r['test_accuracy'] for r in rs):.1f}",
                f"{common.mean_std([r['seconds'] for r in rs])[0]:.0f}",
            ]
        )
    for name, accuracy, params in BASELINES:
        rows.append([f"{name} (published)", params, accuracy, "", ""])
    header = ["network", "parameters", "test accuracy (%)", "worst seed", "s / run"]
    return common.table(header, rows)


def plot(result: dict, path: Path) -> None:
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for family in FAMILIES:
        rs = [r for r in result["runs"] if r["family"] == family]
        mean, std = common.mean_std([r["test_accuracy"] for r in rs])
        line = axes[0].errorbar(
            rs[0]["parameters"], mean, yerr=std, fmt="o", capsize=3, label=LABELS[family]
        )
        curve = [sum(c) / len(c) for c in zip(*(r["curve"] for r in rs), strict=True)]
        axes[1].plot(range(1, len(curve) + 1), curve, color=line[0].get_color())
    axes[0].axhline(94, color="grey", linestyle="--", linewidth=0.8, label="CNN (published)")
    axes[0].set_xlabel("trainable parameters")
    axes[0].set_ylabel("test accuracy (%), mean ± std")
    axes[0].legend(fontsize=7)
    axes[0].set_title("MNIST-1D: accuracy vs parameters")
    axes[1].axhline(94, color="grey", linestyle="--", linewidth=0.8)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test accuracy (%), mean over seeds")
    axes[1].set_title("test accuracy during training")
    common.savefig(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 40; 2 with --quick)")
    args = p.parse_args(argv)
    results, figures = common.setup(args)
    timer = common.Timer()
    result = run(args.quick, args.epochs)
    result.update(machine=common.machine(), seconds=timer.seconds, quick=args.quick)
    common.save(results / "mnist1d.json", result)
    plot(result, figures / "mnist1d.png")
    print(summarise(result))
    print(f"\nmnist1d: {result['seconds']} s")
    return result


if __name__ == "__main__":
    main()
