"""The `pde2net` command as a user runs it: files written, exit codes, messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pde2net import cli
from tests.conftest import SPECS, run_cli

CIFAR10 = SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
SUFFIXES = (".py", ".onnx", ".report.json")

TINY = """\
pde heat(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c)
    dt(u) = -K' relu(N(K u))
}

network tiny {
    input  image(2, 8, 8)
    conv(1x1, 2 -> 4), relu
    heat(4) by euler(h = 1, steps = 2)
    globalavgpool
    output linear(4 -> 3)
}
"""
TYPO = TINY.replace("relu(N(K u))", "rleu(N(K u))")
UNSTABLE = "fn wiggle(x) = x - 2*tanh(x)\n" + TINY.replace("relu(N(K u))", "wiggle(N(K u))")


def write(tmp_path, text, name="spec.pde"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def outputs(directory, name="tiny"):
    return [directory / f"{name}{suffix}" for suffix in SUFFIXES]


def snapshot(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def cifar10_out(tmp_path_factory):
    """parabolic_cifar10 compiled once by the CLI, for the tests that read its files."""
    out = tmp_path_factory.mktemp("cifar10")
    result = run_cli("compile", str(CIFAR10), "-o", str(out))
    return out, result


# -- compile --------------------------------------------------------------------------------


def test_compile_writes_three_files(cifar10_out):
    out, result = cifar10_out
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"parabolic_cifar10{s}" for s in SUFFIXES
    )
    for suffix in SUFFIXES:
        assert f"wrote {out / ('parabolic_cifar10' + suffix)}" in result.stdout
    assert "502,570 trainable parameters" in result.stdout
    # no temporaries left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_compile_report_contents(cifar10_out):
    out, _ = cifar10_out
    report = json.loads((out / "parabolic_cifar10.report.json").read_text(encoding="utf-8"))
    assert report["network"] == "parabolic_cifar10"
    assert report["parameters"] == 502570
    assert isinstance(report["parameters"], int)
    assert report["verdict"] == "unverified"  # the tvnorm inside the symmetric layer
    assert report["stable"] is False
    assert len(report["blocks"]) == 3
    for block in report["blocks"]:
        assert {"name", "scheme", "status", "condition"} <= set(block)
        assert block["status"] in {"proven", "enforced", "conditional", "unverified", "violated"}
        assert isinstance(block["condition"], str) and block["condition"]
        assert block["scheme"] == "euler(h = 1, steps = 3)"
    onnx = report["onnx"]
    assert onnx["opset"] >= 18 and onnx["input"] == "input" and onnx["output"] == "output"
    assert onnx["max_rel_error"] <= onnx["tolerance_rel"]


def test_compiled_python_file_is_the_generated_module(cifar10_out):
    out, _ = cifar10_out
    source = (out / "parabolic_cifar10.py").read_text(encoding="utf-8")
    assert "class ParabolicCifar10(nn.Module):" in source
    assert "import pde2net" not in source and "from pde2net" not in source
    compile(source, "parabolic_cifar10.py", "exec")


def test_compile_twice_is_byte_identical(cifar10_out, tmp_path):
    first, _ = cifar10_out
    result = run_cli("compile", str(CIFAR10), "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path) == snapshot(first)


def test_compile_json_output_parses(tmp_path):
    spec = write(tmp_path, TINY)
    result = run_cli("compile", str(spec), "-o", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["network"] == "tiny"
    assert report["verdict"] == "unverified"
    assert report["stable"] is False
    written = json.loads((tmp_path / "out" / "tiny.report.json").read_text(encoding="utf-8"))
    assert report == written


def test_compile_set_override_changes_the_output(tmp_path):
    spec = write(tmp_path, "const steps = 2\n" + TINY.replace("steps = 2", "steps = steps"))
    result = run_cli("compile", str(spec), "-o", str(tmp_path / "out"), "--set", "steps=5")
    assert result.returncode == 0, result.stderr
    source = (tmp_path / "out" / "tiny.py").read_text(encoding="utf-8")
    assert "steps=5" in source
    report = json.loads((tmp_path / "out" / "tiny.report.json").read_text(encoding="utf-8"))
    assert report["constants"]["steps"] == 5


# -- check ------------------------------------------------------------------------------------


def test_check_exit_0_for_a_stable_spec():
    result = run_cli("check", str(CIFAR10))
    assert result.returncode == 0, result.stderr
    assert "parabolic_cifar10" in result.stdout
    assert "unverified" in result.stdout


def test_check_json_output_parses():
    result = run_cli("check", str(CIFAR10), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["parameters"] == 502570
    assert report["verdict"] == "unverified"
    assert report["stable"] is False
    assert "onnx" not in report  # check never exports


def test_check_exit_1_for_an_unstable_spec(tmp_path):
    spec = write(tmp_path, UNSTABLE)
    result = run_cli("check", str(spec), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["stable"] is False
    assert report["blocks"][0]["status"] == "violated"


def test_check_exit_2_for_a_typo_with_a_located_message(tmp_path):
    spec = write(tmp_path, TYPO)
    result = run_cli("check", str(spec))
    assert result.returncode == 2
    line = next(i for i, text in enumerate(TYPO.splitlines(), 1) if "rleu" in text)
    column = TYPO.splitlines()[line - 1].index("rleu") + 1
    assert result.stderr.startswith(f"{spec}:{line}:{column}: error: ")
    assert "did you mean 'relu'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_check_exit_2_for_a_missing_file(tmp_path):
    result = run_cli("check", str(tmp_path / "nope.pde"))
    assert result.returncode == 2
    assert re.match(rf"{re.escape(str(tmp_path / 'nope.pde'))}:1:1: error: ", result.stderr)
    assert "Traceback" not in result.stderr


def test_check_exit_2_for_a_bad_set_option():
    result = run_cli("check", str(CIFAR10), "--set", "stpes=4")
    assert result.returncode == 2
    assert "did you mean 'steps'" in result.stderr
    assert "Traceback" not in result.stderr


# -- compile failures write nothing -------------------------------------------------------------


def test_compile_typo_exits_2_and_writes_nothing(tmp_path):
    spec = write(tmp_path, TYPO)
    out = tmp_path / "out"
    result = run_cli("compile", str(spec), "-o", str(out))
    assert result.returncode == 2
    assert re.match(rf"{re.escape(str(spec))}:\d+:\d+: error: unknown", result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists() or not any(out.iterdir())


def test_compile_typo_into_existing_empty_dir_leaves_it_empty(tmp_path):
    spec = write(tmp_path, TYPO)
    out = tmp_path / "out"
    out.mkdir()
    assert run_cli("compile", str(spec), "-o", str(out)).returncode == 2
    assert list(out.iterdir()) == []


def test_failing_compile_leaves_existing_outputs_untouched(tmp_path):
    out = tmp_path / "out"
    spec = write(tmp_path, TINY)
    assert run_cli("compile", str(spec), "-o", str(out)).returncode == 0
    before = snapshot(out)
    assert sorted(before) == sorted(p.name for p in outputs(out))
    # the same file (same network name) edited into a spec error, then into an unstable spec
    for text, code in ((TYPO, 2), (UNSTABLE, 1)):
        spec.write_text(text, encoding="utf-8")
        result = run_cli("compile", str(spec), "-o", str(out))
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr
        assert snapshot(out) == before


def test_unstable_compile_exits_1_and_writes_nothing(tmp_path):
    spec = write(tmp_path, UNSTABLE)
    out = tmp_path / "out"
    result = run_cli("compile", str(spec), "-o", str(out))
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_allow_unstable_writes(tmp_path):
    spec = write(tmp_path, UNSTABLE)
    out = tmp_path / "out"
    result = run_cli("compile", str(spec), "-o", str(out), "--allow-unstable")
    assert result.returncode == 0, result.stderr
    assert all(p.is_file() for p in outputs(out))
    assert "unstable" in result.stderr
    report = json.loads((out / "tiny.report.json").read_text(encoding="utf-8"))
    assert report["stable"] is False


def test_output_path_that_is_a_file_is_a_command_line_error(tmp_path):
    spec = write(tmp_path, TINY)
    target = tmp_path / "taken"
    target.write_bytes(b"keep")
    result = run_cli("compile", str(spec), "-o", str(target))
    assert target.read_bytes() == b"keep"
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr


# -- in process: exit codes 3 and 70 ------------------------------------------------------------


def test_verification_failure_exits_3_and_writes_nothing(tmp_path, monkeypatch):
    from pde2net.export import onnx as onnx_export

    def failing(*args, **kwargs):
        raise onnx_export.VerificationError("onnxruntime deviates from torch by 1 (relative)")

    monkeypatch.setattr(onnx_export, "verify", failing)
    spec = write(tmp_path, TINY)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["compile", str(spec), "-o", str(out)])
    assert result.exit_code == cli.EXIT_EXPORT == 3, result.output
    assert "ONNX verification failed" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_a_full_disk_exits_74_in_one_line_and_keeps_the_old_outputs(tmp_path, monkeypatch):
    from pde2net.export import files

    spec = write(tmp_path, TINY)
    out = tmp_path / "out"
    assert CliRunner().invoke(cli.main, ["compile", str(spec), "-o", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    replace, failed = files.os.replace, []

    def full(src, dst):  # the disk fills up at the last file of three
        if str(dst).endswith(".report.json") and not failed:
            failed.append(dst)
            raise OSError(28, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr(files.os, "replace", full)
    spec.write_text(TINY.replace("steps = 2", "steps = 3"))
    result = CliRunner().invoke(cli.main, ["compile", str(spec), "-o", str(out)])
    assert result.exit_code == cli.EXIT_IO == 74, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"error: cannot write to {out}: No space left on device; nothing was written"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_internal_error_exits_70_without_traceback(tmp_path, monkeypatch):
    import pde2net.api

    def broken(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.delenv("PDE2NET_DEBUG", raising=False)
    monkeypatch.setattr(pde2net.api, "check_spec", broken)
    spec = write(tmp_path, TINY)
    result = CliRunner().invoke(cli.main, ["check", str(spec)])
    assert result.exit_code == cli.EXIT_INTERNAL == 70, result.output
    assert "internal error: ZeroDivisionError: simulated bug" in result.output
    assert "Traceback" not in result.output


# -- help ---------------------------------------------------------------------------------------


def test_module_help():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert "check" in result.stdout and "compile" in result.stdout


def test_compile_help_lists_options():
    result = run_cli("compile", "--help")
    assert result.returncode == 0
    for option in ("--output", "--set", "--json", "--allow-unstable"):
        assert option in result.stdout


SCRIPT = Path(sys.executable).with_name("pde2net")


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
def test_console_script_version():
    result = subprocess.run([SCRIPT, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "0.1.0" in result.stdout


def test_a_spec_file_name_that_is_not_utf8_compiles(tmp_path):
    name = b"h\xff.pde"
    path = tmp_path / "specs"
    path.mkdir()
    spec = path / name.decode("utf-8", "surrogateescape")
    spec.write_bytes((SPECS / "classic" / "heat_1d.pde").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "pde2net", "compile", name, "-o", b"out"],
        capture_output=True,
        cwd=path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"from h\\\\xff.pde" in (path / "out" / "heat_1d.py").read_bytes()


def test_check_plot_draws_the_reported_bound(tmp_path):
    """`check --plot` draws from the report's own checks (heat_2d: one stencil block)."""
    png = tmp_path / "amp.png"
    result = run_cli("check", str(SPECS / "classic" / "heat_2d.pde"), "--plot", str(png))
    assert result.returncode == 0, result.stderr
    assert f"wrote {png}" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
