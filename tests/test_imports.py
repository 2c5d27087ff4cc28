"""The front end, the analysis and the plan never import torch (or onnxruntime); what
builds from a plan never imports SymPy (pde2net/plan.py)."""

from __future__ import annotations

import json
import os
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


PLAN = """
import pickle, sys
from pde2net.api import check_spec
from pde2net.pipeline import plan_checked
plans = [plan_checked(check_spec(path, budget=True)) for path in sys.argv[2:]]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnx", "onnxruntime"))
assert not heavy, f"planning imported {heavy[:5]}"
with open(sys.argv[1], "wb") as f:
    pickle.dump(plans, f)
"""

BUILD = """
import pickle, sys
import torch
from pde2net.pipeline import build_outputs
with open(sys.argv[1], "rb") as f:
    plans = pickle.load(f)
for plan in plans:
    outputs, report = build_outputs(plan)
    assert set(outputs) == {".py", ".onnx", ".report.json"}, outputs.keys()
    print(plan.name, report["verdict"], report["onnx"]["max_rel_error"])
assert "sympy" not in sys.modules, "building from a plan imported SymPy"
"""


def test_a_plan_is_made_without_torch_and_built_without_sympy(tmp_path):
    """compile's two processes: the child checks and plans (no torch, which the parent
    is importing meanwhile), the parent builds, exports and verifies from the pickled
    plan (no SymPy). Specs with learned kernels under conditions (certify's recipe), a
    measured W-cycle and an input range."""
    specs = [
        SPECS / "alt_2023" / "explicit.pde",
        SPECS / "classic" / "heat_multigrid_w_2d.pde",
        SPECS / "classic" / "allen_cahn_imex_2d.pde",
    ]
    plans = tmp_path / "plans.pickle"
    env = {**os.environ, "PDE2NET_CACHE": "0"}
    for script, args in ((PLAN, [plans, *specs]), (BUILD, [plans])):
        result = subprocess.run(
            [sys.executable, "-c", script, *map(str, args)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env=env,
        )
        assert result.returncode == 0, result.stderr
    built = result.stdout.split()
    assert built[0::3] == ["explicit_denoiser", "heat_multigrid_w_2d", "allen_cahn_imex_2d"]
