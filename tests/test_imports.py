"""The front end and the analysis never import torch (or onnxruntime)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, SPECS

SCRIPT = """
import importlib, json, pkgutil, sys
import pde2net
names = ["pde2net", "pde2net.ir", "pde2net.schemes", "pde2net.api", "pde2net.pipeline"]
for package in ("pde2net.lang", "pde2net.analysis", "pde2net.schemes"):
    module = importlib.import_module(package)
    names += [package + "." + m.name for m in pkgutil.iter_modules(module.__path__)]
for name in names:
    importlib.import_module(name)
report = pde2net.check_file(sys.argv[1])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnx", "onnxruntime"))
json.dump({"imported": names, "heavy": heavy, "parameters": report["parameters"]}, sys.stdout)
"""


def test_check_imports_no_torch():
    spec = SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["parameters"] == 502570
    assert "pde2net.lang.parser" in data["imported"]
    assert "pde2net.lang.lower" in data["imported"]
    assert "pde2net.analysis.functions" in data["imported"]
    assert "pde2net.schemes.euler" in data["imported"]
    assert data["heavy"] == [], f"imported by the front end or the analysis: {data['heavy']}"


def test_the_probe_sees_torch_when_it_is_imported():
    """The check above can fail: importing the code generator's consumer pulls in torch."""
    script = "import sys, pde2net.export.onnx; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
