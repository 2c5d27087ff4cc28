"""The computed step of the implicit schemes, not only the exact one, is non-expansive:
CG runs from zero, whose iterates grow monotonically in norm towards the solution
(Steihaug 1983); checked on the generated solver itself with random SPD systems, and on a
compiled implicit block whose kernel is far larger than any training would make it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pde2net
from tests.conftest import SPECS


@pytest.fixture(scope="module")
def generated_cg():
    compiled = pde2net.compile_file(str(SPECS / "alt_2023" / "implicit.pde"))
    return type(compiled.module.block1).forward.__globals__["conjugate_gradients"]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 12),
    seed=st.integers(0, 2**31 - 1),
    spread=st.floats(0.0, 6.0),
    iterations=st.integers(1, 8),
)
def test_cg_from_zero_never_outgrows_the_solution(generated_cg, n, seed, spread, iterations):
    """(I + B) v = b with B ⪰ 0 of eigenvalues up to 10^spread: every CG iterate from zero
    has a norm between the previous one's and ‖(I + B)⁻¹ b‖ ≤ ‖b‖."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    b_mat = q @ np.diag(10 ** rng.uniform(-3, spread, n)) @ q.T
    b = torch.from_numpy(rng.standard_normal((1, n)))
    matrix = torch.from_numpy(b_mat)

    def apply(v):  # the solver solves (I − apply) v = b
        return -(v @ matrix.T)

    exact = float(np.linalg.norm(np.linalg.solve(np.eye(n) + b_mat, b.numpy()[0])))
    norms = [
        float(torch.linalg.vector_norm(generated_cg(apply, b, torch.zeros_like(b), k)))
        for k in range(iterations + 1)
    ]
    tol = 1e-7  # the theorem is exact; float64 CG on condition numbers up to 1e9 rounds
    assert all(a <= c * (1 + tol) for a, c in itertools.pairwise(norms))
    assert norms[-1] <= exact * (1 + tol) <= float(torch.linalg.vector_norm(b)) * (1 + tol)


def test_the_implicit_block_is_non_expansive_with_few_iterations_and_a_huge_kernel():
    compiled = pde2net.compile_file(str(SPECS / "alt_2023" / "implicit.pde"), set={"iterations": 2})
    module = compiled.module.double().eval()
    with torch.no_grad():
        for name, p in module.named_parameters():
            if ".K." in name:
                p.mul_(100)
        u = torch.randn(16, *compiled.network.input.shape, dtype=torch.float64)
        ratio = torch.linalg.vector_norm(module(u), dim=-1) / torch.linalg.vector_norm(u, dim=-1)
    assert float(ratio.max()) <= 1 + 1e-9
