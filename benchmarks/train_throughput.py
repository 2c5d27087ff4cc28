"""Training throughput on the CPU: images/s of one training step (forward, backward,
SGD update) of the generated parabolic_cifar10 module against the same network written
by hand in PyTorch, in one run, interleaved; and the resulting estimate of one CIFAR-10
epoch (50,000 images) here.

The hand-written network is what a PyTorch user would write for Ruthotto & Haber's
parabolic CNN: a block holding its per-step kernels in one stacked tensor, the TV norm
inline. The generated module's weights are copied into it and both are checked to give
the same outputs and gradients before anything is timed: same math, same parameters.

    .venv/bin/python benchmarks/train_throughput.py [--batch 64] [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import timing

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
CIFAR10_TRAIN = 50_000


class HandParabolic(nn.Module):
    """u ← u − h K_jᵀ relu(N_j(K_j u)), j = 1..steps, N the TV norm with scale and bias."""

    def __init__(self, c: int, steps: int = 3, h: float = 1.0, eps: float = 1e-3):
        super().__init__()
        self.h, self.eps = h, eps
        self.K = nn.Parameter(torch.randn(steps, c, c, 3, 3) * 0.05)
        self.scale = nn.Parameter(torch.ones(steps, c))
        self.shift = nn.Parameter(torch.zeros(steps, c))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        for j in range(self.K.shape[0]):
            z = F.conv2d(u, self.K[j], padding=1)
            z = z * torch.rsqrt((z * z).sum(1, keepdim=True) + self.eps)
            z = z * self.scale[j][:, None, None] + self.shift[j][:, None, None]
            u = u - self.h * F.conv_transpose2d(torch.relu(z), self.K[j], padding=1)
        return u


def hand_network() -> nn.Module:
    """parabolic_cifar10 (Table 1: 502,570 parameters) written by hand."""

    def opening(c_in: int, c_out: int, k: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out)]

    return nn.Sequential(
        *opening(3, 32, 3), nn.ReLU(), HandParabolic(32),
        *opening(32, 64, 1), nn.ReLU(), nn.AvgPool2d(2), HandParabolic(64),
        *opening(64, 112, 1), nn.ReLU(), nn.AvgPool2d(2), HandParabolic(112),
        *opening(112, 112, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(112, 10),
    )  # fmt: skip


def pairs(generated: nn.Module, hand: nn.Module, grads: bool = False):
    """(generated tensor, hand-written tensor) for every parameter and batch-norm buffer,
    matched by layer order; with `grads`, their gradients."""
    g = dict(generated.named_parameters()) | dict(generated.named_buffers())
    layers = list(hand)
    kinds = {k: [m for m in layers if isinstance(m, k)] for k in (nn.Conv2d, nn.BatchNorm2d)}
    blocks = [m for m in layers if isinstance(m, HandParabolic)]

    def get(t):
        return t.grad if grads else t

    for i, conv in enumerate(kinds[nn.Conv2d], 1):
        yield get(g[f"conv{i}.weight"]), get(conv.weight)
    for i, bn in enumerate(kinds[nn.BatchNorm2d], 1):
        yield get(g[f"bn{i}.weight"]), get(bn.weight)
        yield get(g[f"bn{i}.bias"]), get(bn.bias)
        if not grads:
            yield g[f"bn{i}.running_mean"], bn.running_mean
            yield g[f"bn{i}.running_var"], bn.running_var
    for i, block in enumerate(blocks, 1):
        for j in range(block.K.shape[0]):
            yield get(g[f"block{i}.K.{j}"]), get(block.K)[j]
            yield get(g[f"block{i}.N.{j}.weight"]), get(block.scale)[j]
            yield get(g[f"block{i}.N.{j}.bias"]), get(block.shift)[j]
    yield get(g["linear1.weight"]), get(layers[-1].weight)
    yield get(g["linear1.bias"]), get(layers[-1].bias)


def copy_weights(generated: nn.Module, hand: nn.Module) -> None:
    with torch.no_grad():
        for source, target in pairs(generated, hand):
            target.copy_(source)


def same_math(generated: nn.Module, hand: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The largest relative difference of the outputs and of every gradient."""
    outs = []
    for module in (generated, hand):
        module.train()
        module.zero_grad()
        out = module(x)
        F.cross_entropy(out, y).backward()
        outs.append(out.detach())
    worst = float((outs[0] - outs[1]).abs().max() / outs[0].abs().max())
    for a, b in pairs(generated, hand, grads=True):
        worst = max(worst, float((a - b).abs().max() / a.abs().max().clamp_min(1e-30)))
    return worst


def step_fn(module: nn.Module, x: torch.Tensor, y: torch.Tensor):
    optimizer = torch.optim.SGD(module.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    module.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(module(x), y).backward()
        optimizer.step()

    return step


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--quick", action="store_true", help="2 rounds of 1 step, batch 16")
    p.add_argument("--json", type=Path, default=None, help="write the result here")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.rounds = 16, 2
    torch.set_num_threads(args.threads)
    import pde2net

    compiled = pde2net.compile_file(str(SPEC))
    generated = compiled.module
    hand = hand_network()
    copy_weights(generated, hand)
    count = sum(p.numel() for p in hand.parameters())
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (args.batch,), generator=g)
    deviation = same_math(generated, hand, x, y)
    copy_weights(generated, hand)  # same_math changed the batch-norm statistics alike
    steps = {"generated": step_fn(generated, x, y), "hand-written": step_fn(hand, x, y)}
    load_before = timing.load_average()
    times = timing.interleaved(steps, rounds=args.rounds, per_round=1 if args.quick else 3)
    result = {
        "spec": str(SPEC.relative_to(ROOT)),
        "batch": args.batch,
        "threads": args.threads,
        "parameters": {"generated": compiled.report["parameters"], "hand-written": count},
        "max_rel_output_difference": deviation,
        "load_average": [load_before, timing.load_average()],
    }
    for name, ts in times.items():
        median = timing.median(ts)
        q1, q3 = timing.spread(ts)
        result[name] = {
            "seconds_per_step": median,
            "iqr": [q1, q3],
            "images_per_s": args.batch / median,
            "cifar10_epoch_s": CIFAR10_TRAIN / (args.batch / median),
            "samples": len(ts),
        }
    result["ratio"] = result["generated"]["images_per_s"] / result["hand-written"]["images_per_s"]
    for name in steps:
        r = result[name]
        print(
            f"{name:13s} {r['images_per_s']:7.1f} images/s (batch {args.batch}, "
            f"{args.threads} threads; step {r['seconds_per_step'] * 1e3:.0f} ms, IQR "
            f"{r['iqr'][0] * 1e3:.0f}-{r['iqr'][1] * 1e3:.0f}); CIFAR-10 epoch ≈ "
            f"{r['cifar10_epoch_s'] / 60:.1f} min"
        )
    print(
        f"generated / hand-written: {result['ratio']:.3f}x; same math: outputs agree to "
        f"{deviation:.1e} (relative); parameters {result['parameters']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
