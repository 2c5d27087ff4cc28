"""IMEX Euler with a learned implicit part, as IMEXnet: dt(u) = -K' relu(K u) - s D' D u,
u⁺ = (I + τ s D'D)⁻¹ (u - τ K' relu(K u)). One step of the generated ONNX model in
onnxruntime against a dense NumPy step (the exact circulant solve on a periodic grid, the
same conjugate-gradient iterations on the zero-padded D otherwise); the verdicts and
their errors; the measured growth of the step with D scaled by 100."""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import pytest
import torch

import pde2net
from pde2net.export.onnx import export_bytes
from pde2net.lang.errors import SpecError

IMEXNET = """
pde imexnet(c) {{
    state  u[c]
    {grid}
    weight K : conv({k}, c -> c)
    weight D : conv({k}, c -> c, depthwise = true)
    dt(u) = -K' relu(K u) - {s} * D' D u{extra}
}}
network imexnet_net {{
    input  {shape}
    imexnet(2) by imex(tau = {tau}, steps = 1, solver = {solver}, iterations = {n}, enforce = {enforce})
    output identity
}}
"""


def _spec(
    dims=2,
    grid="grid h = 1 : periodic",
    s=1,
    tau=0.5,
    solver="auto",
    n=20,
    enforce="false",
    extra="",
):
    k, shape = ("3x3", "image(2, 8, 7)") if dims == 2 else ("3", "signal(2, 9)")
    return IMEXNET.format(
        grid=grid, k=k, s=s, tau=tau, solver=solver, n=n, enforce=enforce, shape=shape, extra=extra
    )


def _verdict(text: str) -> dict:
    return pde2net.check_text(text, "t.pde").report


# -- dense NumPy reference --------------------------------------------------------------


def _correlation(kernel: np.ndarray, shape: tuple[int, ...], periodic: bool) -> np.ndarray:
    """The matrix of (S u)[x] = Σ_o k[o] u[x + o - k // 2], wrapped or zero-padded."""
    n = int(np.prod(shape))
    m = np.zeros((n, n))
    for x in itertools.product(*map(range, shape)):
        for o in itertools.product(*map(range, kernel.shape)):
            y = [xi + oi - ki // 2 for xi, oi, ki in zip(x, o, kernel.shape, strict=True)]
            if periodic:
                y = [yi % si for yi, si in zip(y, shape, strict=True)]
            elif any(yi < 0 or yi >= si for yi, si in zip(y, shape, strict=True)):
                continue
            m[np.ravel_multi_index(x, shape), np.ravel_multi_index(tuple(y), shape)] += kernel[o]
    return m


def _blocks(weight: np.ndarray, shape, periodic: bool, depthwise: bool) -> np.ndarray:
    c_out, c_in = weight.shape[0], (weight.shape[0] if depthwise else weight.shape[1])
    n = int(np.prod(shape))
    m = np.zeros((c_out * n, c_in * n))
    for co in range(c_out):
        for ci in [co] if depthwise else range(c_in):
            w = weight[co, 0] if depthwise else weight[co, ci]
            m[co * n : (co + 1) * n, ci * n : (ci + 1) * n] = _correlation(w, shape, periodic)
    return m


def _cg(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """n conjugate-gradient steps on a v = b from zero."""
    v, r = np.zeros_like(b), b.copy()
    p, rr = r, r @ r
    for _ in range(n):
        ap = a @ p
        alpha = rr / max(p @ ap, 1e-30)
        v, r = v + alpha * p, r - alpha * ap
        rr, p = r @ r, r + (r @ r) / max(rr, 1e-30) * p
    return v


def _reference(module, x, s: float, tau: float, periodic: bool, n: int | None, lap: float = 0):
    block = module.block1
    kw = block.K[0].detach().double().numpy()
    dw = block.D[0].detach().double().numpy()
    shape = x.shape[2:]
    k = _blocks(kw, shape, False, False)  # a learned K zero-pads, whatever the grid
    d = _blocks(dw, shape, periodic, True)
    a = np.eye(d.shape[0]) + tau * s * d.T @ d
    if lap:  # + lap u, implicit too: the 2D five-point Laplacian on each channel
        five = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])
        a -= tau * lap * np.kron(np.eye(x.shape[1]), _correlation(five, shape, periodic))
    out = []
    for u in x.reshape(x.shape[0], -1).astype(np.float64):
        b = u - tau * k.T @ np.maximum(k @ u, 0)
        out.append(np.linalg.solve(a, b) if n is None else _cg(a, b, n))
    return np.array(out).reshape(x.shape)


@pytest.mark.parametrize(
    ("dims", "grid", "solver", "run_shape"),
    [
        (2, "grid h = 1 : periodic", "fft", (2, 2, 6, 5)),
        (1, "grid h = 1 : periodic", "fft", (2, 2, 11)),
        (2, "grid h = 1 : zero", "cg", (2, 2, 5, 4)),
        (1, "", "cg", (2, 2, 9)),
    ],
)
def test_one_step_in_onnxruntime_matches_dense_numpy(dims, grid, solver, run_shape):
    """FFT: the exact solve of the circulant system, at a size other than the compiled
    one (the DFT and |D̂|² are built in the graph). CG: the same 4 iterations."""
    s, tau, n = 3, 0.5, 4
    compiled = pde2net.compile_text(_spec(dims, grid, s=s, tau=tau, solver=solver, n=n), "t.pde")
    torch.manual_seed(0)
    with torch.no_grad():
        compiled.module.block1.D[0].mul_(5)
    model = export_bytes(compiled.module, compiled.plan)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal(run_shape).astype(np.float32)
    got = session.run(None, {"input": x})[0]
    want = _reference(compiled.module, x, s, tau, solver == "fft", None if solver == "fft" else n)
    assert np.abs(got - want).max() <= 2e-4 * np.abs(want).max()
    if solver == "cg":  # and the iterations are not yet the exact solve: a real check
        exact = _reference(compiled.module, x, s, tau, False, None)
        assert np.abs(got - exact).max() > 1e-3 * np.abs(exact).max()


@pytest.mark.parametrize(
    ("grid", "solver"), [("grid h = 1 : periodic", "fft"), ("grid h = 1 : zero", "cg")]
)
def test_stencil_and_learned_implicit_terms_solve_together(grid, solver):
    """L = 0.5 lap - 2 D'D: one symbol (FFT) or one operator (CG, 60 iterations: exact)."""
    text = _spec(2, grid, s=2, solver=solver, n=60, extra=" + 0.5 * lap u")
    compiled = pde2net.compile_text(text, "t.pde")
    model = export_bytes(compiled.module, compiled.plan)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(2).standard_normal((1, 2, 5, 6)).astype(np.float32)
    got = session.run(None, {"input": x})[0]
    want = _reference(compiled.module, x, 2, 0.5, solver == "fft", None, lap=0.5)
    assert np.abs(got - want).max() <= 2e-4 * np.abs(want).max()


def test_parameters_count_depthwise_kernels_once_per_channel():
    network = pde2net.check_text(_spec(), "t.pde").network
    assert network.parameters == 2 * 2 * 9 + 2 * 9


# -- verdicts -----------------------------------------------------------------------------


def test_implicit_learned_part_is_proven_with_no_condition_on_d():
    report = _verdict(_spec(enforce="true"))
    assert report["verdict"] == "enforced"
    (block,) = report["blocks"]
    implicit = block["checks"][0]
    assert implicit["name"] == "implicit part" and implicit["status"] == "proven"
    assert "every value of the learned D" in implicit["condition"]
    # the only norm condition is the explicit K's; none on D
    weights = {w for c in block["checks"] for w in c.get("weights", [])}
    assert "D" not in weights


def test_without_enforce_the_explicit_layer_is_conditional():
    assert _verdict(_spec())["verdict"] == "conditional"


def _scaled(model: bytes, prefix: str, factor: float) -> bytes:
    """The model with every initializer of the named weight multiplied (a retrained
    weight: the graph is unchanged)."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load_from_string(model)
    for init in proto.graph.initializer:
        if init.name.startswith(prefix):
            scaled = numpy_helper.to_array(init) * np.float32(factor)
            init.CopyFrom(numpy_helper.from_array(scaled.astype(np.float32), init.name))
    return proto.SerializeToString()


def test_certify_needs_no_condition_on_d_and_still_checks_k(tmp_path):
    """A compiled IMEXnet certifies; with D × 100 it still does (no condition on D); with
    K × 100 the enforced bound no longer holds in the graph's weights."""
    from pde2net.export.certify import certify
    from pde2net.pipeline import export_compiled

    compiled = pde2net.compile_text(_spec(enforce="false"), "t.pde")
    model, _ = export_compiled(compiled)
    import onnx
    from onnx import numpy_helper

    d = compiled.module.block1.D[0].detach().numpy()
    inits = {
        i.name: numpy_helper.to_array(i) for i in onnx.load_from_string(model).graph.initializer
    }
    # the exporter folds D's reshape (c, 1, 3, 3) -> (c, 9) into the initializer
    (d_name,) = [
        n for n, a in inits.items() if a.size == d.size and np.array_equal(a.ravel(), d.ravel())
    ]
    k_name = "block1.K.0"
    verdicts = {}
    for label, data in (
        ("plain", model),
        ("D", _scaled(model, d_name, 100)),
        ("K", _scaled(model, k_name, 100)),
    ):
        path = tmp_path / f"{label}.onnx"
        path.write_bytes(data)
        result = certify(str(path))
        verdicts[label] = result["verdict"]
        normed = {w for b in result["blocks"] for c in b["checks"] for w in c.get("norms", {})}
        assert normed == {"K"}, normed
        assert [k["initializer"] for k in result["kernels"]] == [k_name]
    assert verdicts == {"plain": "certified", "D": "certified", "K": "violated"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _spec().replace("by imex", "by euler").replace(", solver = auto, iterations = 20", ""),
            "depthwise weights are only the implicit part",
        ),
        (_spec().replace("- 1 * D' D u", "- D' relu(D u)"), "may only appear as an implicit"),
        (_spec().replace(", depthwise = true", ""), "is not depthwise"),
        (_spec(solver="cg"), "only the exact FFT solve"),
        (_spec().replace("c -> c, depthwise", "c -> 3, depthwise"), "maps c -> c"),
        (_spec().replace("depthwise = true", "depthwise = true, bias = true"), "takes no bias"),
        (_spec(grid="grid h = 1 : zero", solver="fft"), "needs a periodic grid"),
    ],
)
def test_refusals_are_located_errors(text, message):
    with pytest.raises(SpecError, match=message):
        pde2net.check_text(text, "t.pde")


def test_learned_coefficient_on_the_gram_term_is_refused():
    text = (
        _spec()
        .replace("weight K", "param a = 1 : learn\n    weight K")
        .replace("- 1 * D' D u", "- a * D' D u")
    )
    with pytest.raises(SpecError, match="learned coefficient a"):
        pde2net.check_text(text, "t.pde")


# -- measured growth ----------------------------------------------------------------------


@pytest.mark.parametrize(("grid", "solver"), [("grid h = 1 : periodic", "fft"), ("", "cg")])
def test_step_with_d_scaled_by_100_is_non_expansive(grid, solver):
    """The enforced K makes the explicit map non-expansive (τ‖K‖² ≤ 2, σ monotone); the
    implicit solve shrinks whatever D is: measured on pairs, in float64, D × 100."""
    compiled = pde2net.compile_text(_spec(grid=grid, solver=solver, n=3, enforce="true"), "t.pde")
    module = compiled.module.double().eval()
    with torch.no_grad():
        module.block1.D[0].mul_(100)
        gen = torch.Generator().manual_seed(3)
        u = 4 * torch.randn(32, 2, 8, 7, generator=gen, dtype=torch.float64)
        v = u + torch.randn(32, 2, 8, 7, generator=gen, dtype=torch.float64)
        ratio = (module(u) - module(v)).flatten(1).norm(dim=1) / (u - v).flatten(1).norm(dim=1)
        alone = module(u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)
    assert ratio.max().item() <= 1 + 1e-9
    assert alone.max().item() <= 1 + 1e-9
    assert ratio.min().item() < 0.5  # the large D damps: the step really solves
