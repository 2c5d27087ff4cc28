"""Helpers shared by the experiment scripts: threads, seeded modules, results, tables."""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

import pde2net
from pde2net.api import Compiled, build_module

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs" / "experiments"
RESULTS = ROOT / "experiments" / "results"
FIGURES = ROOT / "docs" / "figures"


def parser(description: str) -> argparse.ArgumentParser:
    """The options every experiment script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a tiny smoke-test run: 1 seed, few epochs")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="directory for the JSON (default experiments/results, or .../quick with --quick)",
    )
    p.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="directory for the PNGs (default docs/figures, or the results dir with --quick)",
    )
    return p


def setup(args: argparse.Namespace) -> tuple[Path, Path]:
    """Set the thread count; the directories for JSON and figures (created)."""
    torch.set_num_threads(args.threads)
    results = args.results or (RESULTS / "quick" if args.quick else RESULTS)
    figures = args.figures or (results if args.quick else FIGURES)
    results.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    return results, figures


def compile_spec(name: str, seed: int = 0, **overrides: Any) -> Compiled:
    """Compile specs/experiments/NAME.pde with `--set` overrides, weights seeded by `seed`
    (compile_file always seeds with 0; a new seed rebuilds the module from the source)."""
    values = {k: (repr(v) if isinstance(v, float) else v) for k, v in overrides.items()}
    compiled = pde2net.compile_file(SPECS / f"{name}.pde", set=values)
    if seed != 0:
        module = build_module(compiled.source, compiled.class_name, seed=seed)
        compiled = dataclasses.replace(compiled, module=module)
    return compiled


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def pm(values: Sequence[float], digits: int = 2) -> str:
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What ran the experiment: CPU model, cores, torch version and threads."""
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import os

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


def save(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)


def savefig(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
