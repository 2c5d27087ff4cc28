"""Enforcement keeps a trained network within its bound; certification measures it."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import pde2net
from pde2net.export.certify import certify, operator_norm
from pde2net.pipeline import export_compiled

SPEC = """
pde parabolic(c) {{
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}}
network small {{
    input  image(4, 12, 12)
    parabolic(4) by euler(h = 0.5, steps = 3{extra})
    globalavgpool
    output linear(4 -> 3)
}}
"""


def _train(module: torch.nn.Module, steps: int = 30) -> None:
    """Push the raw weights up hard (a loss that rewards large K) while the block runs."""
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    module.train()
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.randn(8, 4, 12, 12, generator=generator)
        raw = sum(k.pow(2).sum() for k in module.block1.K)
        loss = module.block1(x).pow(2).mean() - raw
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    module.eval()


def _compile(tmp_path, enforce: bool):
    path = tmp_path / "small.pde"
    path.write_text(SPEC.format(extra=", enforce = true" if enforce else ""))
    return pde2net.compile_file(str(path))


def _operator_norm_reference(weight: torch.Tensor, size: int) -> float:
    """‖K‖₂ as the largest singular value of the dense matrix of the padded conv."""
    c = weight.shape[1]
    eye = torch.eye(c * size * size, dtype=torch.float64).reshape(-1, c, size, size)
    matrix = F.conv2d(eye, weight.double(), padding=1).reshape(c * size * size, -1)
    return float(torch.linalg.matrix_norm(matrix, ord=2))


def test_power_iteration_matches_the_dense_operator_norm():
    weight = torch.randn(3, 3, 3, 3, generator=torch.Generator().manual_seed(1))
    assert operator_norm(weight.numpy(), [1, 1], [8, 8]) == pytest.approx(
        _operator_norm_reference(weight, 8), rel=1e-4
    )


def test_enforced_bound_holds_after_training_and_is_certified(tmp_path):
    compiled = _compile(tmp_path, enforce=True)
    assert compiled.report["blocks"][0]["status"] == "enforced"
    bound = 2.0  # sqrt(2 / (h L)) with h = 0.5, L = 1
    _train(compiled.module)
    block = compiled.module.block1
    with torch.no_grad():
        norms = [_operator_norm_reference(block.K_bound[j](block.K[j]), 12) for j in range(3)]
        raw = [_operator_norm_reference(block.K[j], 12) for j in range(3)]
    assert max(raw) > bound  # training pushed the raw weights past the bound...
    assert max(norms) <= bound * (1 + 1e-3)  # ...and the rescaled ones stay within it
    model, _ = export_compiled(compiled)
    path = tmp_path / "small.onnx"
    path.write_bytes(model)
    result = certify(str(path))
    assert result["certified"], json.dumps(result, indent=1)
    measured = result["blocks"][0]["checks"][0]["measured"]
    assert 0.99 * bound <= measured <= bound * (1 + 1e-6)  # saturated, and within


def test_certify_detects_weights_beyond_the_bound(tmp_path, cli):
    compiled = _compile(tmp_path, enforce=False)
    with torch.no_grad():
        compiled.module.block1.K[1].mul_(20.0)
    model, _ = export_compiled(compiled)
    path = tmp_path / "small.onnx"
    path.write_bytes(model)
    result = cli("certify", str(path), "--input-shape", "4,24,24")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VIOLATED" in result.stdout and "(24, 24)" in result.stdout
    fine = _compile(tmp_path, enforce=False)
    model, _ = export_compiled(fine)
    path.write_bytes(model)
    assert cli("certify", str(path)).returncode == 0
