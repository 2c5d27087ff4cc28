"""The wheel: the grammar ships inside the package, the console script is declared."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def test_wheel_contains_grammar_and_entry_point(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, (
        "building the wheel failed (is the dev extra, with hatchling, installed?)\n"
        + result.stdout[-2000:]
        + result.stderr[-2000:]
    )
    (wheel,) = tmp_path.glob("pde2net-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "pde2net/grammars/pde.lark" in names
        grammar = archive.read("pde2net/grammars/pde.lark")
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entry_text = archive.read(entry_points).decode()
        assert "pde2net/__init__.py" in names
        assert "pde2net/lang/parser.py" in names
        assert not [n for n in names if n.startswith(("tests/", "specs/"))]
    assert grammar == (ROOT / "grammars" / "pde.lark").read_bytes()
    parser = configparser.ConfigParser()
    parser.read_string(entry_text)
    assert parser["console_scripts"]["pde2net"].strip() == "pde2net.entry:main"
