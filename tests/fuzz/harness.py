"""The fuzz target and its oracle, shared by tests/fuzz and scripts/fuzz.py.

Every input must end in one of two ways, within TIME_LIMIT seconds:

- success: a report, which serialises to strict JSON (no NaN or Infinity);
- a SpecError located in the input (or on the command line): file, line ≥ 1, column ≥ 1,
  a line that exists, and a rendering with the source line and a caret.

Anything else (another exception, a RecursionError, a hang) is a bug in pde2net.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pde2net.api import check_text, read_spec
from pde2net.lang import limits
from pde2net.lang.errors import SpecError, source_lines_of

TIME_LIMIT = 4.0  # seconds of CPU time per input, in process (wall-clock time on a loaded
# machine measures the other processes too): a σ SymPy cannot bound costs its SymPy budget
# (2 s) and then the rigorous enclosure's refinement (0.75 s) before it is decided
FILE = "fuzz.pde"
ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "specs").rglob("*.pde"))
# Small budgets for the compile step (ruff, exec, one forward pass), so that an accepted
# spec is cheap to build; the check itself runs with the defaults.
COMPILE_LIMITS = {"max_parameters": 2 * 10**6, "max_activation_bytes": 2**26, "max_steps": 200}


@dataclass
class Outcome:
    kind: str  # "ok", "error" (located SpecError), "bug"
    detail: str
    seconds: float


def _located(err: SpecError, text: str, file: str) -> str | None:
    """Why a SpecError is not properly located, or None."""
    loc = err.loc
    if loc is None:
        return "no location"
    if loc.file not in (file, "<command line>", limits.ENVIRONMENT):
        return f"located in {loc.file!r}"
    if loc.line < 1 or loc.column < 1:
        return f"line {loc.line}, column {loc.column}"
    if loc.file == file:
        lines = source_lines_of(text)
        if loc.line > len(lines):
            return f"line {loc.line} of {len(lines)}"
        rendered = err.render(text).splitlines()
        if len(rendered) < 3 or "^" not in rendered[2]:
            return f"no caret: {rendered!r}"
    if not err.message or "\n" in err.message:
        return f"bad message {err.message!r}"
    return None


def check(
    text: str,
    overrides: Mapping[str, object] | None = None,
    file: str = FILE,
    budget: bool = False,
) -> Outcome:
    """Run the in-process front end and analysis on `text` and judge the outcome; with
    `budget`, as compile does (pde2net.api.preflight before the analysis)."""
    started = time.process_time()
    try:
        checked = check_text(text, file, overrides, budget=budget)
        kind, detail = "ok", ""
        try:
            json.dumps(checked.report, allow_nan=False, ensure_ascii=False)
        except (ValueError, TypeError) as err:
            kind, detail = "bug", f"report is not strict JSON: {err}"
    except SpecError as err:
        problem = _located(err, text, file)
        kind, detail = (
            ("bug", f"badly located error ({problem}): {err}")
            if problem
            else (
                "error",
                str(err),
            )
        )
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            raise
        kind, detail = "bug", f"{type(err).__name__}: {str(err)[:300]}"
    seconds = time.process_time() - started
    if kind != "bug" and seconds > TIME_LIMIT:
        kind, detail = "bug", f"took {seconds:.2f} s (limit {TIME_LIMIT} s); {kind}: {detail}"
    return Outcome(kind, detail, seconds)


def check_bytes(data: bytes) -> Outcome:
    """Bytes as the CLI reads them (a BOM dropped, non-UTF-8 a located error), then check."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILE
        path.write_bytes(data)
        try:
            text = read_spec(path)
        except SpecError as err:
            ok = err.loc is not None and err.loc.line == 1 and err.loc.column == 1
            return Outcome("error" if ok else "bug", str(err), 0.0)
        except BaseException as err:
            return Outcome("bug", f"{type(err).__name__}: {err}", 0.0)
    return check(text)


def compile_and_run(text: str) -> Outcome:
    """An accepted spec must also generate a module that formats, imports and runs."""
    started = time.perf_counter()
    try:
        import torch

        from pde2net.api import compile_checked

        with limits.use(**COMPILE_LIMITS):
            checked = check_text(text, FILE)
        compiled = compile_checked(checked)
        shape = (1, *checked.network.input.shape)
        with torch.no_grad():
            out = compiled.module.eval()(torch.zeros(shape))
        expected = (1, *checked.network.output_shape)
        if tuple(out.shape) != expected:
            return Outcome("bug", f"output shape {tuple(out.shape)} != {expected}", 0.0)
        kind, detail = "ok", ""
    except SpecError as err:
        kind, detail = "error", str(err)  # e.g. over the small compile budgets
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            raise
        kind, detail = "bug", f"compile: {type(err).__name__}: {str(err)[:300]}"
    return Outcome(kind, detail, time.perf_counter() - started)


def run_cli(data: bytes, *args: str) -> Outcome:
    """`python -m pde2net check FILE ARGS` on the bytes: exit 0, 1 or 2, never a traceback
    or an internal error (70); a spec error is GCC-style."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILE
        path.write_bytes(data)
        env = {k: v for k, v in os.environ.items() if k != "PDE2NET_DEBUG"}
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pde2net", "check", str(path), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        seconds = time.perf_counter() - started
        err = result.stderr
        if "Traceback" in err + result.stdout or result.returncode not in (0, 1, 2):
            return Outcome("bug", f"exit {result.returncode}: {err[-500:]}", seconds)
        if result.returncode == 2:
            first = err.splitlines()[0] if err else ""
            ok = first.startswith((f"{path}:", "<command line>:", f"{limits.ENVIRONMENT}:"))
            if not ok or ": error: " not in first:
                return Outcome("bug", f"not a located error: {err[:500]}", seconds)
            return Outcome("error", first, seconds)
        return Outcome("ok", "", seconds)


def train_cli(args: list[str]) -> Outcome:
    """`pde2net train SPEC --data digits ARGS` in process, the training itself replaced
    by an exit 0: options are validated (exit 2, click's usage error or a located one)
    or accepted (0), never a traceback or an internal error."""
    from click.testing import CliRunner

    from pde2net import cli
    from pde2net.train import distributed

    def accepted(*_args: object, **_kwargs: object) -> None:
        raise SystemExit(0)

    started = time.perf_counter()
    saved = distributed.run_training
    distributed.run_training = accepted
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = CliRunner().invoke(
                cli.main,
                ["train", str(TRAIN_SPEC), "--data", "digits", "--out", tmp, *args],
                catch_exceptions=True,
            )
    finally:
        distributed.run_training = saved
    seconds = time.perf_counter() - started
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return Outcome("bug", f"{type(result.exception).__name__}: {result.exception}", seconds)
    if "Traceback" in output or result.exit_code not in (0, 1, 2):
        return Outcome("bug", f"exit {result.exit_code}: {output[-500:]}", seconds)
    if result.exit_code == 2 and "Invalid value" not in output and ": error: " not in output:
        return Outcome("bug", f"exit 2 without a usage or located error: {output[-500:]}", seconds)
    return Outcome("ok" if result.exit_code == 0 else "error", output[-200:], seconds)


TRAIN_SPEC = ROOT / "specs" / "experiments" / "heat_1d_euler.pde"
