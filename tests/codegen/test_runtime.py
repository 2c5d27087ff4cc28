"""The runtime helpers the generated modules inline, against torch's own operators."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from pde2net.codegen import runtime


def _helpers(*parts: str) -> dict:
    namespace: dict = {}
    header = "import math\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
    exec(header + "\n".join(parts), namespace)  # pde2net's own helper source, no spec text
    return namespace


conv_adjoint = _helpers(runtime.CONV_ADJOINT)["conv_adjoint"]


@settings(max_examples=40, deadline=None)
@given(
    dims=st.sampled_from([1, 2, 3]),
    c_in=st.integers(1, 4),
    c_out=st.integers(1, 4),
    depthwise=st.booleans(),
    kernel=st.sampled_from([1, 3, 5]),
    size=st.integers(5, 9),
    seed=st.integers(0, 2**16),
)
def test_conv_adjoint_is_conv_transpose(dims, c_in, c_out, depthwise, kernel, size, seed):
    """K' x as the helper computes it (a convolution with the flipped kernel on images
    and volumes) equals conv_transpose up to float rounding, groups included, and is the
    adjoint of the zero-padded convolution: <K u, v> = <u, K' v> in float64."""
    g = torch.Generator().manual_seed(seed)
    groups = c_in if depthwise else 1
    c_out = c_in if depthwise else c_out
    weight = torch.randn(c_out, c_in // groups, *(kernel,) * dims, generator=g, dtype=torch.float64)
    pad = kernel // 2
    conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
    conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[dims - 1]
    u = torch.randn(2, c_in, *(size,) * dims, generator=g, dtype=torch.float64)
    v = torch.randn(2, c_out, *(size,) * dims, generator=g, dtype=torch.float64)
    adjoint = conv_adjoint(v, weight, pad, groups=groups)
    expected = conv_t(v, weight, padding=pad, groups=groups)
    assert adjoint.shape == expected.shape == u.shape
    assert torch.allclose(adjoint, expected, rtol=1e-12, atol=1e-12)
    lhs = (conv(u, weight, padding=pad, groups=groups) * v).sum()
    assert torch.isclose(lhs, (u * adjoint).sum(), rtol=1e-12, atol=1e-10)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace, as the export
def test_conv_adjoint_traces_as_conv_transpose():
    """The export sees ConvTranspose, which export/rewrite.py turns into a Conv reading
    K itself, so certify finds one kernel per weight."""
    weight = torch.randn(8, 1, 3, 3)
    traced = torch.jit.trace(lambda v: conv_adjoint(v, weight, 1), torch.randn(1, 8, 6, 6))
    kinds = {node.kind() for node in traced.graph.nodes()}
    assert "aten::_convolution" in kinds
    (call,) = [n for n in traced.graph.nodes() if n.kind() == "aten::_convolution"]
    transposed = list(call.inputs())[
        6
    ]  # _convolution(input, weight, bias, stride, padding, dilation, transposed, …)
    assert transposed.toIValue() is True


_stencil = _helpers(runtime.CONV_ADJOINT, runtime.STENCIL)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace, as the export
@settings(max_examples=60, deadline=None)
@given(
    mode=st.sampled_from(["replicate", "circular", "constant"]),
    dims=st.sampled_from([1, 2, 3]),
    pads=st.lists(st.integers(0, 2), min_size=6, max_size=6),
    size=st.integers(2, 6),
    seed=st.integers(0, 2**16),
)
def test_pad_adjoint_is_the_adjoint_of_pad_eagerly_and_traced(mode, dims, pads, size, seed):
    """<pad(u), w> = <u, pad_adjoint(w)> in float64, on the eager path (one torch
    operator) and on the traced one (the slices the ONNX export records); the two agree
    up to the order of the ghost cells' sums."""
    pads = tuple(pads[: 2 * dims])
    if mode == "circular" and max(pads) > size:
        return  # a periodic ghost layer wider than the grid wraps more than once
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(2, 3, *(size,) * dims, generator=g, dtype=torch.float64)
    padded = _stencil["pad"](u, pads, mode)
    w = torch.randn(padded.shape, generator=g, dtype=torch.float64)
    eager = _stencil["pad_adjoint"](w, pads, mode)
    traced = torch.jit.trace(lambda t: _stencil["pad_adjoint"](t, pads, mode), (w,))(w)
    assert eager.shape == traced.shape == u.shape
    assert torch.allclose(eager, traced, rtol=1e-14, atol=1e-14)
    for folded in (eager, traced):
        assert torch.isclose((padded * w).sum(), (u * folded).sum(), rtol=1e-12, atol=1e-12)
