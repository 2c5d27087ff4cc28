"""Shared fixtures: paths, the CLI in a subprocess, and golden-file comparison.

Set PDE2NET_UPDATE_GOLDEN=1 to rewrite golden files from the current output.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden"
ALL_SPECS = sorted(SPECS.rglob("*.pde"))
UPDATE = os.environ.get("PDE2NET_UPDATE_GOLDEN") == "1"

# pde2net's user cache (parser tables, certify's references) in a directory of this test
# process, inherited by the CLI subprocesses: the suite neither reads nor fills ~/.cache
CACHE_HOME = tempfile.mkdtemp(prefix="pde2net-tests-")
os.environ["XDG_CACHE_HOME"] = CACHE_HOME
atexit.register(shutil.rmtree, CACHE_HOME, ignore_errors=True)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m pde2net ARGS` in a subprocess, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "PDE2NET_DEBUG"}
    env["COLUMNS"] = "120"
    return subprocess.run(
        [sys.executable, "-m", "pde2net", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
        check=False,
    )


def assert_golden(path: Path, actual: str) -> None:
    """Compare with a golden file (or write it when PDE2NET_UPDATE_GOLDEN=1)."""
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"golden file {path} is missing; run with PDE2NET_UPDATE_GOLDEN=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path}; PDE2NET_UPDATE_GOLDEN=1 rewrites it"


@pytest.fixture
def cli():
    return run_cli
