"""Golden error messages for user mistakes, as `pde2net check` prints them.

Each case is tests/golden/errors/NAME.pde, a small spec with one mistake (its second
line says which), optionally NAME.args with extra command-line arguments (one option
per line), and NAME.txt, the exact stderr. PDE2NET_UPDATE_GOLDEN=1 rewrites the .txt
files. Paths are relative to the repository root, so the golden text is the same on
every machine.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from pde2net.schemes import REGISTRY
from tests.conftest import GOLDEN, ROOT, UPDATE, assert_golden, run_cli

ERRORS = GOLDEN / "errors"
CASES = sorted(ERRORS.glob("*.pde"))
UNSTABLE = ERRORS / "unstable"  # specs that are valid but violate a stability condition
UNSTABLE_CASES = sorted(UNSTABLE.glob("*.pde"))
COMMAND_LINE = "<command line>"
SCHEME_LIST = re.compile(r"schemes: (?P<names>[a-z_0-9]+(, [a-z_0-9]+)*)$", re.M)
HEADER = re.compile(r"(?P<file>[^\n]+?):(?P<line>[0-9]+):(?P<column>[0-9]+): error: \S")


def _relative(path):
    return path.relative_to(ROOT).as_posix()


def _args(case) -> list[str]:
    args_file = case.with_suffix(".args")
    if not args_file.exists():
        return []
    lines = args_file.read_text(encoding="utf-8").splitlines()
    return [word for line in lines if line.strip() for word in shlex.split(line)]


def _check_located(stderr: str, file: str, source_lines: list[str]) -> None:
    """`FILE:LINE:COL: error: ...`, then the source line and a caret under COL."""
    assert "Traceback" not in stderr
    header = HEADER.match(stderr)
    assert header, f"not GCC style: {stderr!r}"
    assert header["file"] == file
    line, column = int(header["line"]), int(header["column"])
    assert 1 <= line <= max(len(source_lines), 1)
    source = source_lines[line - 1] if source_lines else ""
    lines = stderr.splitlines()
    assert len(lines) >= 3, stderr
    assert lines[1] == f"{line:>5} | {source}"
    caret = re.fullmatch(r" {6}\| (?P<pad>[ \t]*)\^~*", lines[2])
    assert caret, f"no caret line: {lines[2]!r}"
    assert len(caret["pad"]) == column - 1


def _assert_golden(path, actual: str) -> None:
    """assert_golden, except that the list of registered schemes some messages end with
    may have grown since the golden file was written (it must be the current list)."""
    listed = SCHEME_LIST.search(actual)
    if listed is None or UPDATE or not path.exists():
        assert_golden(path, actual)
        return
    assert listed["names"] == ", ".join(sorted(REGISTRY)), actual
    expected = path.read_text(encoding="utf-8")
    assert SCHEME_LIST.sub("schemes: ...", actual) == SCHEME_LIST.sub("schemes: ...", expected), (
        f"output differs from {path}; PDE2NET_UPDATE_GOLDEN=1 rewrites it"
    )


def test_the_corpus_is_large():
    assert len(CASES) + len(UNSTABLE_CASES) >= 60
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_error_message(case):
    spec = _relative(case)
    args = _args(case)
    result = run_cli("check", spec, *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    _assert_golden(case.with_suffix(".txt"), result.stderr)
    if args:  # a --set mistake names the option, in the header or in a note
        assert "--set" in result.stderr
    if result.stderr.startswith(COMMAND_LINE + ":"):
        option = " ".join(args[args.index("--set") : args.index("--set") + 2])
        _check_located(result.stderr, COMMAND_LINE, [option])
    else:
        source = case.read_text(encoding="utf-8").splitlines()
        _check_located(result.stderr, spec, source)


def test_missing_spec_file():
    spec = _relative(ERRORS / "no_such_file.pde")
    result = run_cli("check", spec)
    assert result.returncode == 2
    assert_golden(ERRORS / "no_such_file.txt", result.stderr)
    assert result.stderr.startswith(f"{spec}:1:1: error: ")
    assert "Traceback" not in result.stderr


def test_non_monotone_activation_is_unstable_with_a_counterexample():
    spec = _relative(UNSTABLE / "non_monotone_activation.pde")
    result = run_cli("check", spec, "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["stable"] is False
    (block,) = report["blocks"]
    assert block["status"] == "violated"
    check = next(c for c in block["checks"] if c["status"] == "violated")
    assert "monotone" in check["name"]
    x, slope = (check["values"][k]["value"] for k in ("counterexample_x", "slope_there"))
    assert slope < 0
    assert re.fullmatch(r"σ'\(.+\) = .+ < 0", check["condition"]), check["condition"]
    assert f"x = {x:g}" in check["reason"]


def test_non_monotone_activation_text_report_says_violated():
    spec = _relative(UNSTABLE / "non_monotone_activation.pde")
    result = run_cli("check", spec)
    assert result.returncode == 1
    assert "violated" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("case", UNSTABLE_CASES, ids=lambda p: p.stem)
def test_unstable_spec(case):
    """A valid spec that violates a condition: exit 1, and the violated checks (name,
    condition with the numbers, reason) as the golden file says."""
    result = run_cli("check", _relative(case), "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["stable"] is False
    violated = [
        f"{block['name']}: {check['name']} [violated]: {check['condition']}\n    {check['reason']}"
        for block in report["blocks"]
        for check in block["checks"]
        if check["status"] == "violated"
    ]
    assert violated
    assert_golden(case.with_suffix(".txt"), "\n".join(violated) + "\n")
