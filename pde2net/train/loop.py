"""The training loop for compiled modules: one process or several (torch.distributed),
on CPU or GPU, resumable.

It writes, into the output directory: `checkpoint.pt` after every epoch (everything a
resumed run needs to end bit-identical to an uninterrupted one: weights, optimizer,
schedule, gradient scaler, history and every random state), `best.pt` with a validation
split, `metrics.json`, a PNG of the loss and metric curves, the trained model as ONNX
(verified in onnxruntime like a compile), its source, and the stability certificate of
the trained weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from pde2net.train.datasets import DataError, Dataset, psnr

CHECKPOINT_FORMAT = 2
# Options that change how fast a run goes, not what it computes: a resumed run takes them
# from its command line; every other field comes from the checkpoint.
RUNTIME_FIELDS = ("progress", "device", "workers", "pin_memory", "compile", "stop_after")
AUGMENTATIONS = ("crop", "flip")
NORMALIZATION_KEY = "pde2net.normalization"


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
    augment: tuple[str, ...] = ()  # "crop" (4-pixel zero padding), "flip" (horizontal)
    normalize: bool = False  # per-channel mean and std of the training inputs
    val_fraction: float = 0.0  # held out of the training set; the best epoch is kept
    amp: str = "none"  # none | bf16 | fp16 (autocast; fp16 with a gradient scaler)
    channels_last: bool = False
    device: str = "cpu"  # cpu | cuda | cuda:N | auto
    compile: bool = False  # torch.compile
    workers: int = 0  # DataLoader worker processes
    pin_memory: bool = False  # pinned host memory (with cuda)
    stop_after: int | None = None  # stop after this many epochs (an interruption)


@dataclass
class History:
    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)


def resolve_device(name: str, rank: int = 0) -> torch.device:
    """auto: cuda when present, else cpu; with several processes on GPUs, rank r takes
    cuda:r."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DataError(f"--device {name}: use auto, cpu or cuda (or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DataError(f"--device {name}: no CUDA device here (torch {torch.__version__})")
        if device.index is None:
            device = torch.device("cuda", rank % torch.cuda.device_count())
    elif device.type != "cpu":
        raise DataError(f"--device {name}: use auto, cpu or cuda")
    return device


def smoothness_penalty(module: nn.Module, eps: float = 1e-6) -> torch.Tensor:
    """Σ_j ‖θ_(j+1) − θ_j‖ over per-step weights, smoothed ℓ1 (Ruthotto & Haber)."""
    total: torch.Tensor | None = None
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
            term = torch.sqrt((b - a) ** 2 + eps).sum()
            total = term if total is None else total + term
    return total if total is not None else torch.zeros(())


def _loss(task: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    output = output.float()
    return (
        F.cross_entropy(output, target) if task == "classification" else F.mse_loss(output, target)
    )


@dataclass
class Normalization:
    """Per-channel mean and std of the training inputs; applied to every input."""

    mean: list[float]
    std: list[float]

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        view = (1, -1) + (1,) * (x.dim() - 2)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(view)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(view)
        return (x - mean) / std

    @staticmethod
    def of(x: torch.Tensor) -> Normalization:
        dims = [0, *range(2, x.dim())]
        x64 = x.double()
        mean = x64.mean(dims)
        std = x64.std(dims).clamp_min(1e-8)
        return Normalization(mean.tolist(), std.tolist())


def _inputs(
    x: torch.Tensor, device: torch.device, norm: Normalization | None, channels_last: bool
) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    if norm is not None:
        x = norm.apply(x)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def evaluate(
    module: nn.Module,
    data: Dataset,
    batch_size: int = 256,
    *,
    x: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
    norm: Normalization | None = None,
    channels_last: bool = False,
) -> float:
    """Test accuracy (%) for classification, test PSNR (dB) for denoising (or of the
    split x, y when given)."""
    x = data.x_test if x is None else x
    y = data.y_test if y is None else y
    device = torch.device(device)
    module.eval()
    outputs = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            batch = _inputs(x[i : i + batch_size], device, norm, channels_last)
            outputs.append(module(batch).float().cpu())
    out = torch.cat(outputs)
    if data.task == "classification":
        return float((out.argmax(1) == y).float().mean() * 100)
    return psnr(out, y)


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


def augment(
    x: torch.Tensor, y: torch.Tensor, kinds: tuple[str, ...], generator: torch.Generator, task: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops of the zero-padded inputs (4 samples on each side) and horizontal
    flips (the last axis), drawn from `generator` (on the CPU, whatever the device);
    denoising targets get the same crop and flip as their inputs."""
    paired = task != "classification" and y.shape == x.shape
    n, spatial = len(x), x.shape[2:]
    if "crop" in kinds and spatial:
        pad = 4
        offsets = torch.randint(0, 2 * pad + 1, (n, len(spatial)), generator=generator)
        offsets = offsets.to(x.device)

        def crop(t: torch.Tensor) -> torch.Tensor:
            padded = F.pad(t, (pad, pad) * len(spatial))
            rows = torch.arange(n, device=t.device)
            if len(spatial) == 1:
                index = offsets[:, :1] + torch.arange(spatial[0], device=t.device)
                return padded[rows[:, None], :, index].permute(0, 2, 1)
            r = offsets[:, 0:1] + torch.arange(spatial[0], device=t.device)
            c = offsets[:, 1:2] + torch.arange(spatial[1], device=t.device)
            out = padded[rows[:, None, None], :, r[:, :, None], c[:, None, :]]
            return out.permute(0, 3, 1, 2)

        x = crop(x).contiguous()
        if paired:
            y = crop(y).contiguous()
    if "flip" in kinds and spatial:
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        view = (n,) + (1,) * (x.dim() - 1)
        x = torch.where(flip.view(view), x.flip(-1), x)
        if paired:
            y = torch.where(flip.view(view), y.flip(-1), y)
    return x, y


@dataclass
class Splits:
    """The training data as used: validation held out, normalisation measured."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    norm: Normalization | None


def split(data: Dataset, config: TrainConfig) -> Splits:
    """Hold out a seeded `val_fraction` of the training set; measure the normalisation
    on what remains."""
    x, y = data.x_train, data.y_train
    x_val = y_val = None
    if config.val_fraction > 0:
        held = round(config.val_fraction * len(x))
        if held < 1 or held >= len(x):
            raise DataError(
                f"--val-fraction {config.val_fraction} of {len(x)} training samples leaves "
                f"{held} for validation and {len(x) - held} for training"
            )
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(config.seed))
        x_val, y_val = x[order[:held]], y[order[:held]]
        x, y = x[order[held:]], y[order[held:]]
    norm = None
    if config.normalize:
        if data.task != "classification":
            raise DataError(
                "--normalize is for classification: a denoiser maps data to data in the same units"
            )
        norm = Normalization.of(x)
    return Splits(x, y, x_val, y_val, norm)


class _Batches(torch.utils.data.Dataset):
    """Whole batches by index tensor: one gather per batch, not one per sample."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]


def _loader(splits: Splits, batches: list[torch.Tensor], config: TrainConfig, device):
    return torch.utils.data.DataLoader(
        _Batches(splits.x_train, splits.y_train),
        sampler=batches,
        batch_size=None,
        num_workers=config.workers,
        pin_memory=config.pin_memory and device.type == "cuda",
    )


def _autocast(config: TrainConfig, device: torch.device):
    if config.amp == "none":
        return contextlib.nullcontext()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[config.amp]
    return torch.autocast(device.type, dtype=dtype)


def _rng_state(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    state = {name: g.get_state() for name, g in generators.items()}
    state["torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    for name, g in generators.items():
        g.set_state(state[name])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by `train` (DIR/checkpoint.pt, or DIR itself)."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise DataError(f"{path}: no checkpoint to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise DataError(f"{path}: cannot read the checkpoint (truncated?): {err}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path}: not a resumable pde2net checkpoint")
    return state


def resumed_config(state: dict[str, Any], runtime: TrainConfig) -> TrainConfig:
    """The checkpoint's configuration, with the runtime fields of `runtime`."""
    saved = dict(state["config"])
    for key in ("milestones", "augment"):
        saved[key] = tuple(saved[key])
    for key in RUNTIME_FIELDS:
        saved[key] = getattr(runtime, key)
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in saved.items() if k in names})


def train(
    compiled: Compiled,
    data: Dataset,
    config: TrainConfig,
    out_dir: str | Path | None = None,
    rank: int = 0,
    world_size: int = 1,
    resume: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train `compiled.module` in place; with `world_size > 1` under torch.distributed
    (DistributedDataParallel; each rank takes an equal share of every batch). `resume`,
    a checkpoint from `load_checkpoint`, continues that run."""
    bad = [a for a in config.augment if a not in AUGMENTATIONS]
    if bad:
        raise DataError(f"--augment {','.join(bad)}: choose from {', '.join(AUGMENTATIONS)}")
    device = resolve_device(config.device, rank)
    if config.amp == "fp16" and device.type != "cuda":
        raise DataError("--amp fp16 needs a GPU (--device cuda); on the CPU use --amp bf16")
    torch.manual_seed(config.seed)
    module = compiled.module.to(device)
    if config.channels_last and data.x_train.dim() == 4:
        module = module.to(memory_format=torch.channels_last)
    splits = split(data, config)
    model: nn.Module = module
    if world_size > 1:
        model = nn.parallel.DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.compile:
        model = torch.compile(model)
    optimizer = _optimizer(module, config)
    batches = math.ceil(len(splits.x_train) / config.batch_size)
    scheduler = _scheduler(optimizer, config, config.epochs * batches)
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
    history = History()
    generators = {
        "order": torch.Generator().manual_seed(config.seed),
        "augment": torch.Generator().manual_seed(config.seed + 1),
    }
    best: dict[str, Any] = {"epoch": None, "metric": -math.inf, "test": None}
    best_model: dict[str, torch.Tensor] | None = None
    start, elapsed = 0, 0.0
    if resume is not None:
        _check_resume(resume, compiled, data, config)
        module.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(resume["scheduler"])
        scaler.load_state_dict(resume["scaler"])
        history = History(**resume["history"])
        best = dict(resume["best"])
        best_model = resume["best_model"]
        start, elapsed = resume["epoch"], resume["seconds"]
        _set_rng_state(resume["rng"], generators)
    started = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else None
    unit = "% test accuracy" if data.task == "classification" else " dB test PSNR"
    stop = config.epochs if config.stop_after is None else min(config.epochs, config.stop_after)
    evaluation = {"device": device, "norm": splits.norm, "channels_last": config.channels_last}
    progress = _progress(config.progress and rank == 0)
    with progress:
        task = progress.add_task(
            "training",
            total=config.epochs * batches,
            completed=start * batches,
            loss=float("nan"),
            metric="",
        )
        for epoch in range(start, stop):
            module.train()
            order = torch.randperm(len(splits.x_train), generator=generators["order"])
            chunks = [
                order[b * config.batch_size : (b + 1) * config.batch_size] for b in range(batches)
            ]
            if world_size > 1:
                chunks = [c[rank::world_size] for c in chunks]
            losses = []
            for xb, yb in _loader(splits, chunks, config, device):
                x = xb.to(device, non_blocking=True)
                y = yb.to(device, non_blocking=True)
                if config.augment:
                    x, y = augment(x, y, config.augment, generators["augment"], data.task)
                x = _inputs(x, device, splits.norm, config.channels_last)
                with _autocast(config, device):
                    loss = _loss(data.task, model(x), y)
                if config.smoothness:
                    loss = loss + config.smoothness * smoothness_penalty(module)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                if scheduler is not None:
                    scheduler.step()
                losses.append(float(loss.detach()))
                history.loss.append(losses[-1])
                progress.update(task, advance=1, loss=losses[-1])
            metric = evaluate(module, data, **evaluation)
            history.metric.append(metric)
            history.epoch_loss.append(sum(losses) / len(losses))
            text = f"epoch {epoch + 1}: {metric:.2f}{unit}"
            if splits.x_val is not None:
                val = evaluate(module, data, x=splits.x_val, y=splits.y_val, **evaluation)
                history.val.append(val)
                text += f", {val:.2f} validation"
                if val > best["metric"]:
                    best = {"epoch": epoch + 1, "metric": val, "test": metric}
                    best_model = {k: v.detach().clone() for k, v in module.state_dict().items()}
                    if out is not None and rank == 0:
                        _save(out / "best.pt", {"epoch": epoch + 1, "model": best_model})
            progress.update(task, metric=text)
            if out is not None and rank == 0:
                state = {
                    "format": CHECKPOINT_FORMAT,
                    "network": compiled.name,
                    "dataset": data.name,
                    "epoch": epoch + 1,
                    "config": asdict(config),
                    "model": module.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "scaler": scaler.state_dict(),
                    "history": asdict(history),
                    "best": best,
                    "best_model": best_model,
                    "rng": _rng_state(generators),
                    "seconds": elapsed + time.perf_counter() - started,
                }
                _save(out / "checkpoint.pt", state)
    seconds = elapsed + time.perf_counter() - started
    done = len(history.metric)
    key = "test_accuracy" if data.task == "classification" else "test_psnr"
    if best_model is not None and done == config.epochs:
        module.load_state_dict(best_model)  # the best epoch's weights are the result
    final = best["test"] if best["epoch"] is not None else None
    if final is None:
        final = history.metric[-1] if history.metric else evaluate(module, data, **evaluation)
    metrics: dict[str, Any] = {
        "network": compiled.name,
        "dataset": data.name,
        key: final,
        "parameters": sum(p.numel() for p in module.parameters() if p.requires_grad),
        "epochs": done,
        "finished": done == config.epochs,
        "seconds": round(seconds, 2),
        "world_size": world_size,
        "device": str(device),
        "config": asdict(config),
        "history": {"epoch_loss": history.epoch_loss, key: history.metric},
    }
    if splits.x_val is not None:
        metrics["validation"] = {
            "fraction": config.val_fraction,
            "samples": len(splits.x_val),
            "best_epoch": best["epoch"],
            "best": best["metric"],
            "history": history.val,
        }
    if splits.norm is not None:
        metrics["normalization"] = asdict(splits.norm)
    module.to("cpu")
    if config.channels_last:
        module.to(memory_format=torch.contiguous_format)
    if out is not None and rank == 0 and done == config.epochs:
        write_outputs(compiled, metrics, history, out, data.task, splits.norm)
    elif out is not None and rank == 0:
        _write_json(out / "metrics.json", metrics)
    return metrics


def _check_resume(state: dict, compiled: Compiled, data: Dataset, config: TrainConfig) -> None:
    if state["network"] != compiled.name:
        raise DataError(f"the checkpoint is of network '{state['network']}', not '{compiled.name}'")
    if state["dataset"] != data.name:
        raise DataError(f"the checkpoint was trained on '{state['dataset']}', not '{data.name}'")
    if state["epoch"] >= config.epochs:
        raise DataError(
            f"the checkpoint is of a finished run ({state['epoch']} of {config.epochs} epochs)"
        )


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


def _save(path: Path, state: dict[str, Any]) -> None:
    import io

    from pde2net.export.files import write_atomically

    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomically({path: buffer.getvalue()})


def _write_json(path: Path, payload: dict) -> None:
    from pde2net.export.files import write_atomically

    write_atomically({path: (json.dumps(payload, indent=2) + "\n").encode()})


def write_outputs(
    compiled: Compiled,
    metrics: dict,
    history: History,
    out: Path,
    task: str,
    norm: Normalization | None = None,
) -> None:
    """metrics.json, curves.png, NAME.onnx (verified), NAME.py, certificate.json. With a
    normalisation, the ONNX model carries it in its metadata (`pde2net evaluate` applies
    it; the graph itself takes normalised inputs)."""
    from pde2net.export.certify import CertifyError, certify
    from pde2net.export.files import write_atomically
    from pde2net.pipeline import export_compiled

    model, verification = export_compiled(compiled)
    if norm is not None:
        import onnx

        proto = onnx.load_from_string(model)
        entry = proto.metadata_props.add()
        entry.key = NORMALIZATION_KEY
        entry.value = json.dumps(asdict(norm))
        model = proto.SerializeToString(deterministic=True)
    onnx_path = out / f"{compiled.name}.onnx"
    write_atomically({onnx_path: model, out / f"{compiled.name}.py": compiled.source.encode()})
    try:
        certificate = certify(str(onnx_path))
    except CertifyError as err:
        # certify recompiles the spec and compares graphs, and a refusal of a model this
        # run just exported would be a pde2net bug: recorded in the certificate, and the
        # trained model is kept
        certificate = {"model": str(onnx_path), "certified": False, "refused": str(err)}
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
    epochs = range(1, len(history.metric) + 1)
    right.plot(epochs, history.metric, "o-", label="test")
    if history.val:
        right.plot(range(1, len(history.val) + 1), history.val, "s--", label="validation")
        right.legend()
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy (%)" if task == "classification" else "PSNR (dB)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
