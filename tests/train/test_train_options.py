"""`pde2net train` never ends in a traceback: abused options are usage errors, a full
disk is one line (exit 74) that keeps what was written, a bug is exit 70."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pde2net import cli
from tests.conftest import SPECS

SPEC = str(SPECS / "experiments" / "digits_resnet.pde")
FAST = ["--data", "digits", "--epochs", "1", "--set", "steps=1", "--no-progress"]


def _train(*args: str) -> object:
    return CliRunner().invoke(cli.main, ["train", SPEC, *args], catch_exceptions=False)


@pytest.mark.parametrize(
    "option",
    [
        ["--lr", "inf"],
        ["--lr", "nan"],
        ["--lr", "0"],
        ["--lr", "1e30"],
        ["--momentum", "nan"],
        ["--momentum", "-0.5"],
        ["--momentum", "2"],
        ["--smoothness", "inf"],
        ["--smoothness", "-1"],
        ["--weight-decay", "inf"],
        ["--val-fraction", "nan"],
        ["--epochs", "0"],
        ["--epochs", "100000000000000000000"],
        ["--batch-size", "100000000000"],
        ["--seed", "100000000000000000000000"],
        ["--seed", "-1"],
        ["--workers", "99999"],
        ["--nproc", "0"],
        ["--stop-after", "0"],
    ],
)
def test_abused_train_options_are_usage_errors(tmp_path, option):
    result = _train("--data", "digits", "--out", str(tmp_path / "run"), *option)
    assert result.exit_code == 2
    assert f"Invalid value for '{option[0]}'" in result.output
    assert not (tmp_path / "run").exists()


def test_a_huge_set_value_is_a_located_error(tmp_path):
    result = _train(*FAST, "--set", "steps=1e400", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert result.output.startswith("<command line>:1:")


def test_a_full_disk_is_one_line_exit_74(tmp_path, monkeypatch):
    from pde2net.export import files

    def full(outputs, *args, **kwargs):
        path = next(iter(outputs))
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(files, "write_atomically", full)
    result = _train(*FAST, "--out", str(tmp_path / "run"))
    assert result.exit_code == 74, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith(f"error: training into {tmp_path / 'run'} stopped")
    assert lines[-1].endswith("No space left on device") and "Traceback" not in result.output


def test_a_bug_in_code_generation_is_exit_70_in_one_line(tmp_path, monkeypatch):
    from pde2net.codegen import generate

    def broken(*args, **kwargs):
        raise RuntimeError("generated code does not format")

    monkeypatch.setattr(generate, "generate", broken)
    result = _train(*FAST, "--out", str(tmp_path / "run"))
    assert result.exit_code == 70
    assert "internal error: RuntimeError: generated code does not format" in result.output
    assert "Traceback" not in result.output
