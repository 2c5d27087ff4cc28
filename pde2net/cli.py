"""The `pde2net` command: parses flags, calls the API, prints, picks the exit code.

Exit codes: 0 no violated condition (or written), 1 a stability condition is violated (with
`check --strict`: any block not proven or enforced), 2 a mistake in
the spec or the command line, 3 the ONNX export failed verification (a pde2net bug).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from pde2net import __version__
from pde2net.lang.errors import SpecError, source_lines_of
from pde2net.loc import COMMAND_LINE, Loc

EXIT_UNSTABLE, EXIT_SPEC, EXIT_EXPORT, EXIT_INTERNAL, EXIT_IO = 1, 2, 3, 70, 74


class Finite(click.FloatRange):
    """A float option that must be a finite number in a range (click's FloatRange lets
    `nan` through every bound and `inf` through an open one)."""

    name = "finite float"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


def _io_error(err: OSError, what: str) -> NoReturn:
    """A failed read or write (a full disk, a lost mount): one line, exit 74."""
    where = f" {err.filename}:" if err.filename else ""
    click.echo(f"error: {what}:{where} {err.strerror or err}", err=True)
    sys.exit(EXIT_IO)


@contextmanager
def _failures(io_what: str):
    """The last resort of a command: a ValueError (unreadable or unfitting data) is a user
    error (exit 2), an OSError an I/O failure (exit 74, `io_what`), anything else a bug
    (exit 70); Ctrl-C and sys.exit pass through."""
    try:
        yield
    except ValueError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_SPEC)
    except OSError as err:
        _io_error(err, io_what)
    except Exception as err:
        _internal(err)


def _overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            where = Loc(COMMAND_LINE, 1, 7, 7 + max(len(pair), 1))
            error = SpecError(f"--set {pair}: write NAME=VALUE, e.g. --set tau=0.2", where)
            _fail_spec(error, f"--set {pair}")
        result[name.strip()] = value.strip()
    return result


def _fail_spec(
    err: SpecError, source: str | None = None, pairs: dict[str, str] | None = None
) -> NoReturn:
    if err.loc is not None and err.loc.file == COMMAND_LINE and pairs is not None:
        name = next((n for n in pairs if re.match(rf"--set {re.escape(n)}[:=]", err.message)), None)
        if name is not None:
            source = f"--set {name}={pairs[name]}"
    elif err.loc is not None and pairs and source is not None:
        # A bad value set on the command line is reported where the spec uses it.
        lines = source_lines_of(source)
        text = lines[err.loc.line - 1] if 0 < err.loc.line <= len(lines) else ""
        used = [
            f"--set {n}={v}" for n, v in pairs.items() if re.search(rf"\b{re.escape(n)}\b", text)
        ]
        if used:
            err.notes.append(f"the command line sets {', '.join(used)}")
    click.echo(err.render(source), err=True)
    sys.exit(EXIT_SPEC)


def _run(action, path: str, pairs: dict[str, str]) -> Any:
    """Run a pipeline step, turning user mistakes into located errors (exit 2)."""
    from pde2net.api import read_spec
    from pde2net.lang.parser import load

    load()  # the grammar, once
    from pde2net.api import display_name

    try:
        return action()
    except SpecError as err:
        source = None
        if err.loc is not None and err.loc.file in (path, display_name(path)):
            try:
                source = read_spec(path)
            except SpecError:
                source = None
        _fail_spec(err, source, pairs)
    except RecursionError:
        click.echo(f"{path}:1:1: error: the spec nests too deeply", err=True)
        sys.exit(EXIT_SPEC)


def _warn_cost(checked: Any) -> None:
    """check builds nothing, so a network past a compile budget is only a warning there."""
    from pde2net.lang import cost, limits

    for problem in cost.problems(checked.network, limits.current()):
        click.echo(f"{problem.loc}: warning: compile would refuse it: {problem.message}", err=True)


def _verdict_note(report: dict[str, Any]) -> str:
    """Why a verdict is short of stable, in a few words."""
    notes = {
        "conditional": "depends on learned weights that are not enforced",
        "unverified": "no theorem covers some block",
        "violated": "a condition is violated",
    }
    note = notes.get(report["verdict"])
    return f" ({note}; see the report)" if note else ""


def _internal(err: BaseException) -> NoReturn:
    from pde2net.entry import interrupted, was_interrupted

    if was_interrupted():  # Ctrl-C that surfaced as another exception (in an import)
        interrupted()
    if os.environ.get("PDE2NET_DEBUG"):
        raise err
    summary = (str(err).strip().splitlines() or [""])[0][:300]
    click.echo(
        f"pde2net: internal error: {type(err).__name__}: {summary}\n"
        "This is a bug in pde2net, not in your spec; rerun with PDE2NET_DEBUG=1 for details.",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)


def run() -> None:
    """The command, with click's own handling of Ctrl-C replaced by exit 130 (see
    pde2net.entry); usage errors and exits behave as in click's standalone mode."""
    from pde2net.entry import interrupted

    try:
        code = main.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        interrupted()
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pde2net")
def main() -> None:
    """Compile PDE specifications into stable PyTorch networks and verified ONNX models."""


_BUDGETS = (
    ("--max-parameters", "max_parameters", "trainable parameters (default 1e8)"),
    (
        "--max-activation-bytes",
        "max_activation_bytes",
        "activation memory of one sample, e.g. 4GiB (default)",
    ),
    ("--max-steps", "max_steps", "right-hand-side evaluations per block (default 100000)"),
    ("--max-nodes", "max_nodes", "ONNX graph nodes of the unrolled network (default 30000)"),
    (
        "--max-operations",
        "max_operations",
        "weighted operations of one sample's forward pass (default 8e10)",
    ),
    (
        "--max-compile-memory",
        "max_compile_bytes",
        "memory of the compile itself, e.g. 8GiB (default 4GiB)",
    ),
)


def _budget_options(command):
    """--max-parameters, --max-activation-bytes, --max-steps: the resource budgets
    (pde2net.lang.limits) in force while the command runs; and an -o that cannot be a
    directory is a command-line mistake, found before any work."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from pde2net.lang import limits

        given = {}
        for flag, field, _ in _BUDGETS:
            raw = kwargs.pop(field)
            if raw is None:
                continue
            value = limits.parse_size(raw)
            if value is None:
                text = f"{flag} {raw}"
                where = Loc(COMMAND_LINE, 1, len(flag) + 2, len(text) + 1)
                message = f"{flag} {raw}: write a positive whole number, e.g. 100000000 or 4GiB"
                _fail_spec(SpecError(message, where), text)
            given[field] = value
        if kwargs.get("out_dir") is not None:
            _check_output_dir(kwargs["out_dir"])
        try:
            limits.current()  # reads the PDE2NET_MAX_* variables
        except SpecError as err:
            _fail_spec(err)
        with limits.use(**given):
            return command(*args, **kwargs)

    for flag, field, what in reversed(_BUDGETS):
        run = click.option(flag, field, metavar="N", default=None, help=f"Budget: {what}.")(run)
    return run


def _check_output_dir(out_dir: str) -> None:
    """-o DIR must be (or become) a writable directory."""
    path = Path(out_dir)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    problem = None
    if existing is not None and not existing.is_dir():
        problem = f"{existing} exists and is not a directory"
    elif existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable"
    if problem is not None:
        text = f"-o {out_dir}"
        error = SpecError(
            f"-o {out_dir}: {problem}; nothing was written",
            Loc(COMMAND_LINE, 1, 4, len(text) + 1),
        )
        _fail_spec(error, text)


_set_option = click.option(
    "--set", "pairs", multiple=True, metavar="NAME=VALUE", help="Override a top-level constant."
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@_set_option
@_json_option
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    help="Draw |g(θ)| of the stencil blocks (von Neumann) into a PNG file.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 unless every block is proven or enforced (conditional and unverified "
    "blocks fail too).",
)
@_budget_options
def check(
    spec: str, pairs: tuple[str, ...], as_json: bool, plot_path: str | None, strict: bool = False
) -> None:
    """Parse, validate and analyse SPEC; print the stability report.

    Exit 0 unless a condition is violated (1) or the spec has an error (2); with
    --strict, also 1 when a block is only conditional or unverified.
    """
    overrides = _overrides(pairs)
    try:
        from pde2net.api import check_spec

        checked = _run(lambda: check_spec(spec, overrides), spec, overrides)
    except SystemExit:
        raise
    except Exception as err:
        _internal(err)
    report = checked.report
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        from pde2net.reporting import print_report

        print_report(report)
    _warn_cost(checked)
    if plot_path:
        from pde2net.plots import plot_amplification

        try:
            panels = plot_amplification(checked.network, checked.analysis, plot_path)
        except OSError as err:
            _io_error(err, f"cannot write the plot {plot_path}")
        message = f"wrote {plot_path}" if panels else "no stencil block to plot"
        click.echo(message, err=as_json)
    failed = report["stable"] is False if strict else report["verdict"] == "violated"
    sys.exit(EXIT_UNSTABLE if failed else 0)


def _perturbed(plan: Any) -> Any:
    """certify's perturbed export of the module compile builds (`certify.perturbed`)."""
    from pde2net.export.certify import perturbed

    return perturbed(plan)


@main.command(name="compile")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", default=".", show_default=True, help="Output directory.")
@_set_option
@_json_option
@click.option(
    "--allow-unstable", is_flag=True, help="Write the outputs even if a condition is violated."
)
@click.option(
    "--quantize",
    type=click.Choice(["int8"]),
    default=None,
    help="Also write DIR/NAME.int8.onnx: static int8 quantization calibrated on data.",
)
@click.option(
    "--calibration",
    "calibration_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Calibration inputs for --quantize, a .npy array (N, C, ...); "
    "default: 64 standard-normal inputs.",
)
@_budget_options
def compile_command(
    spec: str,
    out_dir: str,
    pairs: tuple[str, ...],
    as_json: bool,
    allow_unstable: bool,
    quantize: str | None = None,
    calibration_path: str | None = None,
) -> None:
    """Check SPEC, then write DIR/NAME.py, DIR/NAME.onnx and DIR/NAME.report.json.

    Nothing is written when the spec has an error (exit 2) or a violated condition (exit 1).
    """
    overrides = _overrides(pairs)
    if calibration_path is not None and quantize is None:
        click.echo("error: --calibration needs --quantize int8", err=True)
        sys.exit(EXIT_SPEC)
    try:
        from pde2net import overlap

        started = time.perf_counter()

        def check() -> Any:
            from pde2net.api import check_spec
            from pde2net.plan import make_plan

            return make_plan(check_spec(spec, overrides, budget=True))

        # checked and planned in a child while torch loads here (the plan holds no SymPy
        # object, so this process never imports SymPy); the child then does certify's
        # perturbed export on that plan (certify.remember) while this process does the real one
        with overlap.in_child(check, then=_perturbed) as pending:
            import onnxruntime  # noqa: F401
            import torch  # noqa: F401

            plan = pending.result()
            if plan is None:  # no child, or a mistake in the spec: say it from here
                plan = _run(check, spec, overrides)
            report = plan.report
            if report["verdict"] == "violated" and not allow_unstable:
                if as_json:
                    click.echo(json.dumps(report, indent=2, ensure_ascii=False))
                else:
                    from pde2net.reporting import print_report

                    print_report(report, err=True)
                click.echo(
                    f"{spec}: error: a stability condition is violated; nothing was written "
                    "(pass --allow-unstable to write it anyway)",
                    err=True,
                )
                sys.exit(EXIT_UNSTABLE)
            from pde2net.pipeline import build_outputs

            calibration = _calibration(calibration_path, plan)
            outputs, report = build_outputs(plan, quantize, calibration, pending.later)
        from pde2net.export.files import write_atomically

        target = Path(out_dir)
        name = plan.name
        if target.exists() and not target.is_dir():
            click.echo(f"error: -o {out_dir}: not a directory; nothing was written", err=True)
            sys.exit(EXIT_SPEC)
        try:
            write_atomically({target / f"{name}{suffix}": data for suffix, data in outputs.items()})
        except OSError as err:
            click.echo(
                f"error: cannot write to {out_dir}: {err.strerror}; nothing was written",
                err=True,
            )
            sys.exit(EXIT_IO)
    except SystemExit:
        raise
    except Exception as err:
        from pde2net.export.onnx import VerificationError

        if isinstance(err, SpecError):  # found while verifying: the network overflows
            _fail_spec(err, plan.text if err.loc and err.loc.file == plan.path else None)
        if isinstance(err, VerificationError):
            click.echo(
                f"{spec}: error: ONNX verification failed: {err}; nothing was written", err=True
            )
            sys.exit(EXIT_EXPORT)
        _internal(err)
    elapsed = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    if report["verdict"] == "violated":
        click.echo(
            f"{spec}: warning: a stability condition is violated; written because of "
            "--allow-unstable",
            err=True,
        )
    verification = report["onnx"]
    for suffix in outputs:
        click.echo(f"wrote {target / (name + suffix)}")
    click.echo(
        f"{name}: {report['parameters']:,} trainable parameters; ONNX verified in onnxruntime "
        f"at {len(verification['runs'])} input shapes, max relative deviation "
        f"{verification['max_rel_error']:.2e}; {elapsed:.2f} s"
    )
    click.echo(f"{name}: stability verdict {report['verdict']}{_verdict_note(report)}")
    if "int8" in report:
        against = report["int8"]["against_float"]
        agreement = against.get("top1_agreement")
        click.echo(
            f"{name}: int8 model deviates from the float one by {against['max_rel_error']:.2e} "
            "(max relative)"
            + (f", same top-1 class on {agreement:.1%} of inputs" if agreement is not None else "")
        )


def _calibration(path: str | None, plan: Any) -> Any:
    """The --calibration array, checked against the network's input (exit 2 if wrong)."""
    if path is None:
        return None
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        click.echo(f"{path}: error: cannot read a .npy array: {err}", err=True)
        sys.exit(EXIT_SPEC)
    shape = tuple(plan.input.shape)
    fixed = shape if not plan.spatial_dynamic else shape[:1]
    if (
        data.ndim != 1 + len(shape)
        or tuple(data.shape[1 : 1 + len(fixed)]) != fixed
        or not len(data)
    ):
        click.echo(
            f"{path}: error: calibration inputs must have shape (N, {', '.join(map(str, shape))}), "
            f"got {data.shape}",
            err=True,
        )
        sys.exit(EXIT_SPEC)
    return data.astype(np.float32)


@main.command(name="certify")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "--input-shape",
    "input_shape",
    default=None,
    metavar="C,H,W",
    help="Certify at this input size (channels and spatial sizes, each 1..65536); "
    "default: at every input size.",
)
@_json_option
def certify_command(model: str, input_shape: str | None, as_json: bool) -> None:
    """Check the stability conditions of a compiled (and trained) MODEL.onnx.

    Trusts nothing in the file but its weights: recompiles the spec that compile embeds
    in the model, refuses the file unless its graph is exactly the graph that spec
    compiles to (only learned weights may differ), and derives the conditions from that
    spec's analysis. Then encloses the operator norm of every learned convolution in an
    interval: an upper bound valid at every input size (the sup of its Fourier symbol,
    bounded between sampled frequencies by Bernstein's inequality) and a lower bound at
    the input size (power iteration). A condition is certified when the upper bounds
    satisfy it, violated when the lower bounds break it, undecided in between.

    \b
    Exit codes:
      0  certified
      1  violated (a condition broken, or a block the analysis found violated)
      2  a model or --input-shape certify cannot read (not ONNX, too large, ...)
      4  undecided (an interval straddles a bound, or a block no theorem covers)
      5  refused: not a pde2net model or tampered (no embedded spec, a spec that no
         longer compiles, a graph other than the one the spec compiles to)
    """
    from pde2net.export.certify import CertifyError, certify
    from pde2net.lang.errors import printable

    shape = None
    if input_shape is not None:
        parts = [p.strip() for p in input_shape.replace("x", ",").split(",")]
        if not parts or not all(p.isdigit() and len(p) <= 6 for p in parts):
            click.echo(
                f"error: --input-shape {input_shape}: write positive whole numbers, e.g. 3,32,32",
                err=True,
            )
            sys.exit(EXIT_SPEC)
        shape = [int(p) for p in parts]
    try:
        result = certify(model, shape)
    except CertifyError as err:  # one line; names from the file may hold any character
        message = " ".join(printable(str(err)).split())
        click.echo(f"{model}: error: {message}", err=True)
        sys.exit(err.exit_code)
    except OSError as err:
        click.echo(f"{model}: error: cannot read the model: {err.strerror or err}", err=True)
        sys.exit(EXIT_SPEC)
    except Exception as err:  # a bug, never "violated" (exit 1)
        _internal(err)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        for block in result["blocks"]:
            for check in block["checks"]:
                verdict = {"certified": "holds", "violated": "VIOLATED"}.get(
                    check["verdict"], "undecided"
                )
                if "margin" not in check:  # the analysis verdict: nothing was measured
                    verdict = "cannot be certified"
                margin = f", margin {check['margin']:.3g}" if "margin" in check else ""
                click.echo(
                    f"{block['name']} ({block['scheme']}, grid {tuple(block['spatial'])}): "
                    f"{check['check']}: {check['condition']}{margin}: {verdict}"
                )
        where = (
            f"at input {tuple(result['input_shape'])}"
            if result["sizes"] == "given"
            else f"at every input size (lower bounds at {tuple(result['input_shape'])})"
        )
        overall = {
            "certified": "certified stable",
            "violated": "VIOLATED",
            "undecided": "undecided (NOT certified)",
        }[result["verdict"]]
        click.echo(f"{model}: {overall} {where}")
    sys.exit(result["exit_code"])


_DATA_HELP = (
    "digits, signals1d, images2d, mnist1d; cifar10, cifar100, stl10 (with --data-root); "
    "or a path to an .npz file or an image-folder tree DIR/train/CLASS/*.png with DIR/test/."
)


def _shown(*decls: str, **kwargs):
    """A click option whose default --help shows (every train option's is)."""
    return click.option(*decls, show_default=True, **kwargs)


def _data_options(command):
    """--data and --data-root, as train and evaluate take them."""
    command = click.option(
        "--data-root",
        default=None,
        type=click.Path(file_okay=False),
        help="The directory holding cifar-10-batches-py/, cifar-100-python/ or stl10_binary/.",
    )(command)
    return click.option("--data", "data_name", required=True, metavar="NAME|PATH", help=_DATA_HELP)(
        command
    )


@main.command(name="train")
@click.argument("spec", type=click.Path(dir_okay=False))
@_data_options
@_shown("--epochs", default=3, type=click.IntRange(1, 10**6))
@click.option(
    "--out", "out_dir", default=None, help="Output directory [default: runs, or the --resume DIR]."
)
@_set_option
@_shown("--batch-size", default=32, type=click.IntRange(1, 2**20))
@_shown("--optimizer", default="adam", type=click.Choice(["adam", "sgd"]))
@_shown("--lr", default=3e-3, type=Finite(0, 1e6, min_open=True))
@_shown("--momentum", default=0.9, type=Finite(0, 1), help="SGD momentum.")
@_shown("--weight-decay", default=0.0, type=Finite(0, 1e6))
@_shown("--schedule", default="none", type=click.Choice(["none", "step", "cosine"]))
@_shown(
    "--smoothness",
    default=0.0,
    type=Finite(0, 1e12),
    help="Penalty on changes of per-step weights over time.",
)
@click.option(
    "--augment",
    default="",
    metavar="crop,flip",
    help="Augmentation: crop (random crop of the 4-pixel zero-padded input), flip "
    "(horizontal); off by default.",
)
@click.option(
    "--normalize", is_flag=True, help="Per-channel normalisation measured on the training set."
)
@_shown(
    "--val-fraction",
    default=0.0,
    type=Finite(0, 1, max_open=True),
    help="Hold out this share of the training set; keep the best epoch (best.pt).",
)
@_shown("--seed", default=0, type=click.IntRange(0, 2**63 - 1))
@click.option(
    "--reversible",
    is_flag=True,
    help="Leapfrog/Verlet blocks: reconstruct states in the backward pass.",
)
@_shown(
    "--device",
    default="auto",
    help="auto (cuda when present), cpu, cuda or cuda:N.",
)
@_shown(
    "--amp",
    default="none",
    type=click.Choice(["none", "bf16", "fp16"]),
    help="Mixed precision (fp16 on GPUs only).",
)
@click.option("--channels-last", is_flag=True, help="channels_last memory format (images).")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the network.")
@_shown(
    "--workers",
    default=0,
    type=click.IntRange(0, 1024),
    help="DataLoader workers.",
)
@_shown(
    "--pin-memory/--no-pin-memory",
    default=True,
    help="Pinned host memory for GPU transfers.",
)
@_shown(
    "--nproc",
    default=1,
    type=click.IntRange(1, 1024),
    help="Processes (torch.distributed: nccl on GPUs, gloo on the CPU).",
)
@click.option(
    "--resume",
    default=None,
    type=click.Path(),
    metavar="DIR",
    help="Continue the run in DIR from its last checkpoint, with its saved options.",
)
@click.option(
    "--stop-after",
    default=None,
    type=click.IntRange(1, 10**6),
    metavar="N",
    help="Stop after N epochs (the schedule still spans --epochs); --resume continues.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@_budget_options
def train_command(
    spec: str,
    data_name: str,
    data_root: str | None,
    epochs: int,
    out_dir: str | None,
    pairs: tuple[str, ...],
    batch_size: int,
    optimizer: str,
    lr: float,
    momentum: float,
    weight_decay: float,
    schedule: str,
    smoothness: float,
    augment: str,
    normalize: bool,
    val_fraction: float,
    seed: int,
    reversible: bool,
    device: str,
    amp: str,
    channels_last: bool,
    compile_: bool,
    workers: int,
    pin_memory: bool,
    nproc: int,
    resume: str | None,
    stop_after: int | None,
    no_progress: bool,
) -> None:
    """Train the network of SPEC on a dataset (built in, or your files on disk); write
    checkpoints, metrics.json, curves.png, the verified ONNX model and the stability
    certificate into --out. Nothing is downloaded.

    With --resume DIR the run continues from DIR/checkpoint.pt with the options saved
    there (only --device, --workers, --pin-memory, --compile, --stop-after and
    --no-progress are taken from this command line) and ends as the uninterrupted run."""
    overrides = _overrides(pairs)
    if out_dir is None:
        out_dir = resume if resume is not None else "runs"
        _check_output_dir(out_dir)
    checked = None
    # every failure is a one-line error: located, data, I/O, or internal (exit 70)
    with _failures(f"training into {out_dir} stopped; the files written before are intact"):
        try:
            from pde2net.api import check_spec

            checked = _run(lambda: check_spec(spec, overrides, budget=True), spec, overrides)
            if checked.report["verdict"] == "violated":
                click.echo(
                    f"{spec}: error: a stability condition is violated; refusing to train it",
                    err=True,
                )
                sys.exit(EXIT_UNSTABLE)
            from pde2net.train.distributed import run_training
            from pde2net.train.loop import TrainConfig

            config = TrainConfig(
                epochs=epochs,
                batch_size=batch_size,
                optimizer=optimizer,
                lr=lr,
                momentum=momentum,
                weight_decay=weight_decay,
                schedule=schedule,
                smoothness=smoothness,
                seed=seed,
                progress=not no_progress,
                augment=tuple(a.strip() for a in augment.split(",") if a.strip()),
                normalize=normalize,
                val_fraction=val_fraction,
                amp=amp,
                channels_last=channels_last,
                device=device,
                compile=compile_,
                workers=workers,
                pin_memory=pin_memory,
                stop_after=stop_after,
            )
            run_training(
                spec,
                overrides,
                data_name,
                config,
                out_dir,
                nproc=nproc,
                reversible=reversible,
                data_root=data_root,
                resume=resume,
            )
            metrics = json.loads((Path(out_dir) / "metrics.json").read_text())
        except SpecError as err:  # the trained network overflows on the verifier's inputs
            err.notes.append(
                "the trained weights make it overflow: the training may have diverged "
                "(try a smaller --lr)"
            )
            own = checked is not None and err.loc is not None and err.loc.file == checked.path
            _fail_spec(err, checked.text if own else None)
    key = "test_accuracy" if "test_accuracy" in metrics else "test_psnr"
    unit = "%" if key == "test_accuracy" else " dB"
    best = metrics.get("validation", {}).get("best_epoch")
    chosen = f" (best validation epoch {best})" if best else ""
    if not metrics.get("finished", True):
        click.echo(
            f"{metrics['network']}: stopped after {metrics['epochs']} of "
            f"{metrics['config']['epochs']} epochs ({metrics[key]:.2f}{unit}); continue with "
            f"--resume {out_dir}"
        )
        return
    click.echo(
        f"{metrics['network']}: {key} {metrics[key]:.2f}{unit}{chosen} after {metrics['epochs']} "
        f"epochs ({metrics['seconds']:.1f} s on {metrics.get('device', 'cpu')}, "
        f"{metrics['parameters']:,} parameters, "
        f"{'certified stable' if metrics['certified'] else 'NOT certified'}); wrote {out_dir}/"
    )


@main.command(name="evaluate")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@_data_options
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1, 2**20))
@_json_option
def evaluate_command(
    model: str, data_name: str, data_root: str | None, batch_size: int, as_json: bool
) -> None:
    """Accuracy (classification) or PSNR (denoising) of MODEL.onnx on the test split of a
    dataset, run in onnxruntime. A normalisation recorded by `train --normalize` is
    applied to the inputs."""
    from pde2net.train.deploy import evaluate_onnx

    with _failures(f"cannot evaluate {model}"):
        result = evaluate_onnx(model, data_name, data_root, batch_size)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    if "accuracy" in result:
        what = f"accuracy {result['accuracy']:.2f}%"
    else:
        what = f"PSNR {result['psnr']:.2f} dB"
        if result.get("input_psnr") is not None:
            what += f" (noisy input {result['input_psnr']:.2f} dB)"
    click.echo(
        f"{model}: {what} on {result['samples']:,} test samples of {result['dataset']} "
        f"(onnxruntime, {result['seconds']:.2f} s)"
    )
