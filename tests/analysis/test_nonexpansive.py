"""Ruthotto–Haber, discrete: a forward-Euler parabolic step with h ‖K‖₂² L_σ ≤ 2 and a
monotone σ is non-expansive. Checked on the generated module with K scaled to the bound."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import pde2net

SPEC = """
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}
const h = 1
network step {
    input  image(2, 6, 6)
    parabolic(2) by euler(h = h, steps = 1)
    output identity
}
"""


def _dense_norm(weight: torch.Tensor, size: int) -> float:
    c = weight.shape[1]
    eye = torch.eye(c * size * size, dtype=torch.float64).reshape(-1, c, size, size)
    matrix = F.conv2d(eye, weight, padding=1).reshape(c * size * size, -1)
    return float(torch.linalg.matrix_norm(matrix, ord=2))


@functools.cache
def _module(path: str, h: float, seed: int) -> torch.nn.Module:
    module = pde2net.compile_file(path, set={"h": h}).module.double().eval()
    bound = (2 / h) ** 0.5  # ‖K‖₂ ≤ sqrt(2 / (h L_σ)), L_σ = 1 for ReLU
    with torch.no_grad():
        weight = torch.randn(
            2, 2, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
        )
        module.block1.K[0].copy_(weight * (bound / _dense_norm(weight, 6)))
    return module


@settings(max_examples=60, deadline=None)
@given(
    h=st.sampled_from([0.25, 1.0, 2.0]),
    seed=st.integers(0, 3),
    pair=st.integers(0, 2**31 - 1),
    scale=st.floats(1e-3, 1e3),
)
def test_parabolic_step_at_the_bound_is_non_expansive(tmp_path_factory, h, seed, pair, scale):
    path = tmp_path_factory.getbasetemp() / "step.pde"
    if not path.exists():
        path.write_text(SPEC)
    module = _module(str(path), h, seed)
    generator = torch.Generator().manual_seed(pair)
    x = scale * torch.randn(1, 2, 6, 6, dtype=torch.float64, generator=generator)
    y = x + scale * 0.1 * torch.randn(1, 2, 6, 6, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        assert (module(x) - module(y)).norm() <= (x - y).norm() * (1 + 1e-9)
