"""The training loop for compiled modules: one process or several (torch.distributed).

It writes, into the output directory: a checkpoint per epoch, `metrics.json`, a PNG of
the loss and metric curves, the trained model as ONNX (verified in onnxruntime like a
compile), its source, and the stability certificate of the trained weights.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pde2net.api import Compiled
from pde2net.train.datasets import Dataset, psnr


@dataclass
class TrainConfig:
    """How to train; every field is a `pde2net train` option."""

    epochs: int = 3
    batch_size: int = 32
    optimizer: str = "adam"  # adam | sgd
    lr: float = 3e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"  # none | step | cosine
    milestones: tuple[float, ...] = (0.6, 0.8)  # fractions of training (step schedule)
    gamma: float = 0.2  # the step schedule divides the learning rate by 5
    smoothness: float = 0.0  # α: penalty on changes of per-step weights over time
    seed: int = 0
    progress: bool = True


@dataclass
class History:
    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)


def smoothness_penalty(module: nn.Module, eps: float = 1e-6) -> torch.Tensor:
    """Σ_j ‖θ_(j+1) − θ_j‖ over per-step weights, smoothed ℓ1 (Ruthotto & Haber)."""
    total = torch.zeros(())
    for child in module.modules():
        if isinstance(child, nn.ParameterList) and len(child) > 1:
            pairs = itertools.pairwise(child)
        elif isinstance(child, nn.ModuleList) and len(child) > 1:
            pairs = (
                (a, b)
                for m1, m2 in itertools.pairwise(child)
                for a, b in zip(m1.parameters(), m2.parameters(), strict=True)
            )
        else:
            continue
        for a, b in pairs:
            total = total + torch.sqrt((b - a) ** 2 + eps).sum()
    return total


def _loss(task: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (
        F.cross_entropy(output, target) if task == "classification" else F.mse_loss(output, target)
    )


def evaluate(module: nn.Module, data: Dataset, batch_size: int = 256) -> float:
    """Test accuracy (%) for classification, test PSNR (dB) for denoising."""
    module.eval()
    outputs = []
    with torch.no_grad():
        for i in range(0, len(data.x_test), batch_size):
            outputs.append(module(data.x_test[i : i + batch_size]))
    out = torch.cat(outputs)
    if data.task == "classification":
        return float((out.argmax(1) == data.y_test).float().mean() * 100)
    return psnr(out, data.y_test)


def _optimizer(module: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in module.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer '{config.optimizer}' (adam or sgd)")


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total: int):
    if config.schedule == "step":
        marks = [max(1, int(m * total)) for m in config.milestones]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, marks, gamma=config.gamma)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(total, 1))
    if config.schedule == "none":
        return None
    raise ValueError(f"unknown schedule '{config.schedule}' (none, step or cosine)")


def train(
    compiled: Compiled,
    data: Dataset,
    config: TrainConfig,
    out_dir: str | Path | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> dict[str, Any]:
    """Train `compiled.module` in place; with `world_size > 1` under torch.distributed
    (DistributedDataParallel; each rank takes an equal share of every batch)."""
    torch.manual_seed(config.seed)
    module = compiled.module
    model: nn.Module = module
    if world_size > 1:
        model = nn.parallel.DistributedDataParallel(module)
    optimizer = _optimizer(module, config)
    batches = math.ceil(len(data.x_train) / config.batch_size)
    scheduler = _scheduler(optimizer, config, config.epochs * batches)
    history = History()
    generator = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else None
    progress = _progress(config.progress and rank == 0)
    with progress:
        task = progress.add_task(
            "training", total=config.epochs * batches, loss=float("nan"), metric=""
        )
        for epoch in range(config.epochs):
            module.train()
            order = torch.randperm(len(data.x_train), generator=generator)
            losses = []
            for b in range(batches):
                index = order[b * config.batch_size : (b + 1) * config.batch_size]
                index = index[rank::world_size] if world_size > 1 else index
                loss = _loss(data.task, model(data.x_train[index]), data.y_train[index])
                if config.smoothness:
                    loss = loss + config.smoothness * smoothness_penalty(module)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                losses.append(float(loss.detach()))
                history.loss.append(losses[-1])
                progress.update(task, advance=1, loss=losses[-1])
            metric = evaluate(module, data)
            history.metric.append(metric)
            history.epoch_loss.append(sum(losses) / len(losses))
            unit = "% test accuracy" if data.task == "classification" else " dB test PSNR"
            progress.update(task, metric=f"epoch {epoch + 1}: {metric:.2f}{unit}")
            if out is not None and rank == 0:
                _checkpoint(out / "checkpoint.pt", module, optimizer, epoch)
    seconds = time.perf_counter() - started
    key = "test_accuracy" if data.task == "classification" else "test_psnr"
    metrics: dict[str, Any] = {
        "network": compiled.name,
        "dataset": data.name,
        key: history.metric[-1] if history.metric else evaluate(module, data),
        "parameters": sum(p.numel() for p in module.parameters() if p.requires_grad),
        "epochs": config.epochs,
        "seconds": round(seconds, 2),
        "world_size": world_size,
        "config": asdict(config),
        "history": {"epoch_loss": history.epoch_loss, key: history.metric},
    }
    if out is not None and rank == 0:
        write_outputs(compiled, metrics, history, out, data.task)
    return metrics


def _progress(enabled: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TextColumn("{task.fields[metric]}"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def _checkpoint(path: Path, module: nn.Module, optimizer, epoch: int) -> None:
    import io

    from pde2net.export.files import write_atomically

    buffer = io.BytesIO()
    torch.save(
        {"epoch": epoch + 1, "model": module.state_dict(), "optimizer": optimizer.state_dict()},
        buffer,
    )
    write_atomically({path: buffer.getvalue()})


def write_outputs(
    compiled: Compiled, metrics: dict, history: History, out: Path, task: str
) -> None:
    """metrics.json, curves.png, NAME.onnx (verified), NAME.py, certificate.json."""
    from pde2net.export.certify import certify
    from pde2net.export.files import write_atomically
    from pde2net.pipeline import export_compiled

    model, verification = export_compiled(compiled)
    onnx_path = out / f"{compiled.name}.onnx"
    write_atomically({onnx_path: model, out / f"{compiled.name}.py": compiled.source.encode()})
    certificate = certify(str(onnx_path))
    metrics["onnx"] = {k: verification[k] for k in ("max_abs_error", "max_rel_error")}
    metrics["certified"] = certificate["certified"]
    write_atomically(
        {
            out / "certificate.json": (
                json.dumps(certificate, indent=2, ensure_ascii=False) + "\n"
            ).encode(),
            out / "metrics.json": (json.dumps(metrics, indent=2) + "\n").encode(),
            out / "curves.png": plot_curves(history, task),
        }
    )


def plot_curves(history: History, task: str) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(history.loss, linewidth=0.8)
    left.set_xlabel("iteration")
    left.set_ylabel("training loss")
    left.set_yscale("log")
    right.plot(range(1, len(history.metric) + 1), history.metric, "o-")
    right.set_xlabel("epoch")
    right.set_ylabel("test accuracy (%)" if task == "classification" else "test PSNR (dB)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
