"""docs/language.md stays true: every spec in it checks, every error shown is the real one.

A ```pde block is a complete spec that must check (exit 0, or 1 where its comment says
it exits 1); a ```pde-error NAME block must fail with exactly the message of the ```text
block that follows it.
"""

from __future__ import annotations

import re

import pytest

from pde2net.api import check_text
from pde2net.lang.errors import SpecError
from tests.conftest import ROOT, run_cli

DOC = ROOT / "docs" / "language.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(?P<kind>[\w-]*)(?P<label>[^\n]*)\n(?P<body>.*?)^```", re.S | re.M)
BLOCKS = [(m["kind"], m["label"].strip(), m["body"]) for m in BLOCK.finditer(TEXT)]
SPECS = [body for kind, _, body in BLOCKS if kind == "pde"]
ERRORS = [
    (label, body, BLOCKS[i + 1][2])
    for i, (kind, label, body) in enumerate(BLOCKS)
    if kind == "pde-error"
]


def test_the_doc_has_examples():
    assert len(SPECS) >= 6
    assert len(ERRORS) >= 2


@pytest.mark.parametrize("spec", SPECS, ids=[f"example{i + 1}" for i in range(len(SPECS))])
def test_example_checks(spec):
    report = check_text(spec, "example.pde").report
    assert (report["verdict"] == "violated") is ("exits 1" in spec)


@pytest.mark.parametrize("name, spec, shown", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_example_prints_what_the_doc_shows(name, spec, shown):
    with pytest.raises(SpecError) as caught:
        check_text(spec, name)
    assert caught.value.render(spec) + "\n" == shown


def test_command_line_error_example(tmp_path):
    name, spec, _ = next(e for e in ERRORS if e[0] == "shapes.pde")
    (tmp_path / name).write_text(spec, encoding="utf-8")
    result = run_cli("check", name, "--set", "hh=2", cwd=tmp_path)
    assert result.returncode == 2
    shown = next(b for k, _, b in BLOCKS if k == "text" and b.startswith("<command line>"))
    assert result.stderr == shown
