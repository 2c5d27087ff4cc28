"""3D volumes: heat in 3D against an independent NumPy scheme, run in onnxruntime; the
orientation of dx, dy, dz; learned 3D blocks (conv 3x3x3, pooling, normalisation, K')
exported and verified; the derived bound h²/6."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import pde2net
from pde2net.export.onnx import export_bytes
from pde2net.lang.errors import SpecError
from tests.conftest import SPECS

HEAT_3D = SPECS / "classic" / "heat_3d.pde"


def run_onnx(compiled, x: np.ndarray) -> np.ndarray:
    """The compiled network exported to ONNX and run by onnxruntime (float32)."""
    data = export_bytes(compiled.module, compiled.plan)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]


def numpy_heat(u: np.ndarray, tau: float, h: float, steps: int, mode: str, value=0.0):
    """Forward Euler on u_t = Δu with the 7-point (3D), 5-point or 3-point Laplacian;
    ghost cells by np.pad: 'edge' (Neumann), 'wrap' (periodic), 'constant' (value)."""
    u = u.astype(np.float64)
    axes = tuple(range(2, u.ndim))
    for _ in range(steps):
        width = [(0, 0), (0, 0)] + [(1, 1)] * len(axes)
        if mode == "constant":
            p = np.pad(u, width, mode="constant", constant_values=value)
        else:
            p = np.pad(u, width, mode=mode)
        centre = tuple(slice(1, -1) for _ in axes)
        lap = -2 * len(axes) * p[(Ellipsis, *centre)]
        for i in range(len(axes)):
            for shift in (0, 2):
                index = list(centre)
                index[i] = slice(shift, shift + u.shape[2 + i])
                lap = lap + p[(Ellipsis, *index)]
        u = u + tau * lap / h**2
    return u


@pytest.mark.parametrize("tau", [0.05, 0.16])
def test_heat_3d_matches_numpy_in_onnxruntime(tau):
    compiled = pde2net.compile_file(str(HEAT_3D), set={"tau": tau, "steps": 12})
    x = np.random.default_rng(0).random((2, 1, 16, 16, 16))
    got = run_onnx(compiled, x)
    want = numpy_heat(x, tau, 1.0, 12, "edge")
    assert got.shape == want.shape == (2, 1, 16, 16, 16)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def compile_block(tmp_path, grid: str, rhs: str, shape: str, scheme: str):
    """A network of one block `dt(u) = rhs` on a `grid`, compiled."""
    spec = tmp_path / "block.pde"
    spec.write_text(
        f"pde d {{\n state u[1]\n grid {grid}\n dt(u) = {rhs}\n}}\n"
        f"network n {{\n input {shape}\n d by {scheme}\n output identity\n}}\n"
    )
    return spec, pde2net.compile_file(str(spec))


def test_heat_3d_on_a_non_cubic_periodic_grid(tmp_path):
    _, compiled = compile_block(
        tmp_path,
        "h = 0.5 : periodic",
        "lap u",
        "volume(1, 4, 6, 8)",
        "euler(tau = 0.04, steps = 7)",
    )
    x = np.random.default_rng(1).standard_normal((3, 1, 4, 6, 8))
    want = numpy_heat(x, 0.04, 0.5, 7, "wrap")
    assert np.abs(run_onnx(compiled, x) - want).max() <= 1e-5 * np.abs(want).max()


def test_dx_dy_dz_differ_along_width_height_depth(tmp_path):
    _, compiled = compile_block(
        tmp_path,
        "h = 0.5 : zero",
        "dx u + 2 * dy u + 3 * dz u",
        "volume(1, 3, 4, 5)",
        "euler(tau = 0.1, steps = 1)",
    )
    x = np.random.default_rng(2).standard_normal((1, 1, 3, 4, 5))
    p = np.pad(x, [(0, 0), (0, 0), (0, 1), (0, 1), (0, 1)])  # forward differences, zero
    dz = p[:, :, 1:, :-1, :-1] - x
    dy = p[:, :, :-1, 1:, :-1] - x
    dx = p[:, :, :-1, :-1, 1:] - x
    want = x + 0.1 * (dx + 2 * dy + 3 * dz) / 0.5
    assert np.abs(run_onnx(compiled, x) - want).max() <= 1e-5


def test_div_grad_is_the_7_point_laplacian_in_the_interior(tmp_path):
    spec, compiled = compile_block(
        tmp_path,
        "h = 1 : periodic",
        "div(grad u)",
        "volume(1, 5, 5, 5)",
        "euler(tau = 0.1, steps = 3)",
    )
    assert pde2net.check_file(str(spec))["verdict"] == "proven"
    x = np.random.default_rng(3).standard_normal((1, 1, 5, 5, 5))
    want = numpy_heat(x, 0.1, 1.0, 3, "wrap")
    assert np.abs(run_onnx(compiled, x) - want).max() <= 1e-5 * np.abs(want).max()


@pytest.mark.parametrize("h", [0.5, 1.0, 2.0])
def test_heat_3d_bound_is_h2_over_6_with_verdicts_either_side(h):
    bound = h**2 / 6
    for factor, verdict in ((0.99, "proven"), (1.01, "violated")):
        report = pde2net.check_file(str(HEAT_3D), set={"h": h, "tau": factor * bound})
        assert report["verdict"] == verdict, (h, factor, report["blocks"][0]["condition"])
        (step,) = [c["step"] for c in report["blocks"][0]["checks"] if c["step"]]
        assert step["bound"]["kind"] == "exact"
        assert step["bound"]["value"] == pytest.approx(bound, rel=1e-12)
        assert step["closed_form"] == "h^2/6"


LEARNED = """
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3x3, c -> c)
    dt(u) = -K' relu(K u)
}
pde normed(c) {
    state  u[c]
    weight K : conv(3x1x3, c -> c, bias = true)
    norm   N : instancenorm(c)
    dt(u) = -K' tanh(N(K u))
}
network learned3d {
    input  volume(2, 8, 8, 8)
    conv(3x3x3, 2 -> 4), batchnorm, relu
    parabolic(4) by euler(h = 0.5, steps = 2, enforce = true)
    maxpool(2)
    normed(4) by euler(h = 0.1, steps = 1)
    conv(1x1x1, 4 -> 6), relu, avgpool(2), globalmaxpool
    output linear(6 -> 3)
}
"""


def test_learned_3d_network_exports_and_counts_its_parameters(tmp_path):
    spec = tmp_path / "learned3d.pde"
    spec.write_text(LEARNED)
    compiled = pde2net.compile_file(str(spec))
    module = compiled.module.eval()
    counted = sum(p.numel() for p in module.parameters())
    # conv 2*4*27 + bn 8 + parabolic 2 steps 4*4*27 + normed 4*4*9 + 4 + 8 + conv 24 + 18+3
    assert compiled.network.parameters == counted == 216 + 8 + 864 + 156 + 24 + 21
    assert "F.conv3d" in compiled.source and "F.conv_transpose3d" in compiled.source
    assert "F.max_pool3d" in compiled.source and "nn.InstanceNorm3d" in compiled.source
    assert "nn.BatchNorm3d" in compiled.source
    x = np.random.default_rng(4).standard_normal((3, 2, 8, 8, 8))
    import torch

    with torch.no_grad():
        want = module(torch.from_numpy(x).float()).numpy()
    got = run_onnx(compiled, x)
    assert got.shape == (3, 3)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    statuses = [b["status"] for b in pde2net.check_file(str(spec))["blocks"]]
    assert statuses[0] == "enforced"  # the 3D parabolic block, its norm bound enforced


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("conv(3x3, 1 -> 1)", "conv kernel 3x3 is 2D but the data is 3D (1x4x4x4); write 3x3x3"),
        ("avgpool(3)", "avgpool(3) does not divide the spatial size 4x4x4"),
    ],
)
def test_3d_layer_mistakes_are_located(tmp_path, layer, message):
    spec = tmp_path / "bad.pde"
    spec.write_text(f"network bad {{\n input volume(1, 4, 4, 4)\n {layer}\n output identity\n}}\n")
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pde2net.check_file(str(spec))


def test_dz_on_an_image_is_refused(tmp_path):
    spec = tmp_path / "dz.pde"
    spec.write_text(
        "pde d {\n state u[1]\n grid h = 1\n dt(u) = dz u\n}\n"
        "network n {\n input image(1, 4, 4)\n d by euler(tau = 0.1)\n output identity\n}\n"
    )
    with pytest.raises(SpecError, match="'dz' has no 2D form"):
        pde2net.check_file(str(spec))
