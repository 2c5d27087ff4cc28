"""The operator-norm bounds of export/norms.py against dense matrices, and the generated
NormBound against them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pde2net.codegen import runtime
from pde2net.export import norms


def dense_norm(weight: np.ndarray, stride: tuple[int, ...], size: int) -> float:
    """‖K_N‖₂ of the zero-padded (padding k // 2) strided convolution on an N^D grid: the
    largest singular value of its dense matrix, built by applying it to the identity."""
    w = torch.from_numpy(weight)
    dims = w.dim() - 2
    c = w.shape[1]
    n = c * size**dims
    eye = torch.eye(n, dtype=torch.float64).reshape(n, c, *([size] * dims))
    conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
    pads = tuple(k // 2 for k in w.shape[2:])
    matrix = conv(eye, w, stride=stride, padding=pads).reshape(n, -1)
    return float(np.linalg.norm(matrix.numpy(), ord=2))


@st.composite
def kernels(draw):
    dims = draw(st.sampled_from([1, 2]))
    c_in = draw(st.integers(1, 4))
    c_out = draw(st.integers(1, 4).filter(lambda c: c != c_in))
    kernel = tuple(draw(st.sampled_from([1, 3, 5])) for _ in range(dims))
    stride = tuple([draw(st.integers(1, 2))] * dims)
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 50.0]))
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((c_out, c_in, *kernel)) * scale
    if draw(st.booleans()):  # a smooth kernel, whose symbol peaks sharply
        weight = np.abs(weight)
    return weight, stride


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernels())
def test_lower_dense_upper(case):
    weight, stride = case
    dims = weight.ndim - 2
    found = norms.bounds(weight, stride, size=(4,) * dims)
    sizes = (4, 9, 16) if dims == 2 else (4, 5, 9, 16)
    dense = [dense_norm(weight, stride, n) for n in sizes]
    assert found.lower <= dense[0] * (1 + 1e-12)
    for value in dense:
        assert found.lower <= value * (1 + 1e-12) and value <= found.upper
    assert found.upper <= 1.3 * dense[-1]
    # the lower bound at each size holds at that size
    for n, value in zip(sizes, dense, strict=True):
        assert norms.norm_lower(weight, stride, (n,) * dims) <= value * (1 + 1e-12)


def test_a_known_supremum():
    """[1, 2, 1]: symbol 2 + 2 cos θ, sup 4 at θ = 0; as 2D separable, 16."""
    w = np.array([[[1.0, 2.0, 1.0]]])
    found = norms.bounds(w)
    assert 4 <= found.upper <= 4 * 1.011 and found.sup_lower <= 4
    w2 = np.einsum("i,j->ij", [1.0, 2.0, 1.0], [1.0, 2.0, 1.0])[None, None]
    found = norms.bounds(w2)
    assert 16 <= found.upper <= 16 * 1.011


def test_3d_kernels_lower_dense_upper():
    """3D kernels: the same sandwich against the dense operator, and a separable kernel
    whose supremum is known (the product of its three 1D ones: 4³ at θ = 0)."""
    w = np.einsum("i,j,k->ijk", *[[1.0, 2.0, 1.0]] * 3)[None, None]
    found = norms.bounds(w)
    assert 64 <= found.upper <= 64 * 1.011 and found.sup_lower <= 64
    rng = np.random.default_rng(11)
    for shape, stride in (((2, 3, 3, 3, 3), (1, 1, 1)), ((3, 2, 3, 1, 3), (2, 2, 2))):
        weight = rng.standard_normal(shape)
        found = norms.bounds(weight, stride, size=(4, 4, 4))
        dense = [dense_norm(weight, stride, n) for n in (4, 6)]
        for value in dense:
            assert found.lower <= value * (1 + 1e-12) and value <= found.upper
        assert found.upper <= 1.3 * found.sup_lower


def test_degenerate_kernels():
    assert norms.bounds(np.zeros((2, 3, 3, 3))).upper <= 1e-300
    single = np.random.default_rng(0).standard_normal((3, 2, 1, 1))
    exact = np.linalg.norm(single[:, :, 0, 0], 2)
    assert norms.bounds(single).upper == pytest.approx(exact, rel=1e-12)
    assert norms.bounds(single).upper >= exact
    assert math.isinf(norms.bounds(np.full((1, 1, 3), np.nan)).upper)


def test_polyphase_is_an_isometry_of_the_strided_operator():
    w = np.random.default_rng(3).standard_normal((2, 3, 5, 3))
    poly = norms.polyphase(w, (2, 2))
    assert poly.shape == (2, 12, 3, 2)
    assert np.linalg.norm(poly) == pytest.approx(np.linalg.norm(w))


def test_grid_bound_is_an_upper_bound_and_matches_the_runtime():
    namespace = {"torch": torch, "nn": torch.nn, "F": F, "math": math}
    exec(runtime.NORM_BOUND, namespace)
    rng = np.random.default_rng(5)
    for shape in [(4, 3, 3, 3), (2, 5, 5), (3, 3, 1, 3), (2, 2, 3, 3, 3)]:
        w = rng.standard_normal(shape)
        grid = norms.enforcement_grid(shape[2:])
        upper = norms.grid_upper(w, grid)
        found = norms.bounds(w)
        assert found.sup_lower <= upper <= found.sup_lower / (1 - norms.GRID_SLACK) * 1.01
        bound = namespace["NormBound"](1.0, shape, grid)
        assert bound.exact_upper(torch.from_numpy(w)) == pytest.approx(upper, rel=1e-9)


def test_norm_bound_trains_through_the_upper_bound():
    namespace = {"torch": torch, "nn": torch.nn, "F": F, "math": math}
    exec(runtime.NORM_BOUND, namespace)
    shape = (4, 4, 3, 3)
    bound = namespace["NormBound"](1.0, shape, norms.enforcement_grid((3, 3)))
    weight = torch.nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(0)))
    for _ in range(5):  # the power iterations settle
        scaled = bound(weight)
    scaled.sum().backward()
    assert weight.grad is not None and torch.isfinite(weight.grad).all()
    estimate = bound.upper(scaled.detach())
    assert float(estimate) == pytest.approx(1.0, rel=1e-3)
    bound.eval()
    effective = bound(weight).detach().double().numpy()
    assert norms.grid_upper(effective, norms.enforcement_grid((3, 3))) <= 1.0
    assert norms.bounds(effective).upper <= 1.0
