"""Blocks of equal steps, traced for one step and composed in the ONNX graph, give the
graph that tracing every step gives: the same operators, and the same outputs in
onnxruntime."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from pde2net.api import check_text, compile_checked
from pde2net.export.compose import DOMAIN
from pde2net.export.onnx import export_bytes, torch_threads
from pde2net.pipeline import composed_blocks, export_graph
from tests.conftest import SPECS

SHARED = """
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}
network shared {
    input  image(3, 10, 10)
    conv(3x3, 3 -> 4)
    parabolic(4) by euler(h = 0.1, steps = 6, shared = true)
    parabolic(4) by euler(h = 0.1, steps = 5)
    globalavgpool
    output linear(4 -> 2)
}
"""

JACOBI = """
pde heat {
    state u[2]
    grid  h = 1
    stencil D = [[0, 0, 0], [0, -1, 1], [0, 0, 0]] / h
    dt(u) = -D' D u
}
network jacobi {
    input image(2, 6, 5)
    heat by implicit(tau = 0.5, solver = SOLVER, iterations = 12, steps = 4)
    output identity
}
"""


def _compiled(text: str, overrides: dict[str, str] | None = None):
    return compile_checked(check_text(text, "spec.pde", overrides or {}))


def _run(model: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize(
    ("text", "overrides", "composed"),
    [
        ((SPECS / "classic" / "heat_1d.pde").read_text(), {"steps": "40"}, {1: 40}),
        ((SPECS / "classic" / "wave_2d.pde").read_text(), {}, None),
        (SHARED, {}, {1: 6}),  # the per-step weights of block 2 are traced
        (JACOBI.replace("SOLVER", "jacobi"), {}, {1: 4}),  # 12 iterations in each of 4 steps
        (JACOBI.replace("SOLVER", "fixed_point"), {}, {1: 4}),
        (JACOBI.replace("SOLVER", "cg"), {}, {1: 4}),  # CG's iterations are traced
    ],
    ids=["heat_1d", "wave_2d", "shared", "jacobi", "fixed_point", "cg"],
)
def test_composed_steps_give_the_traced_graph(text, overrides, composed):
    compiled = _compiled(text, overrides)
    chosen = composed_blocks(compiled)
    if composed is not None:
        assert chosen == composed
    with torch_threads(1):
        traced = onnx.load_from_string(export_bytes(compiled.module, compiled.network))
        model = export_bytes(compiled.module, compiled.network, chosen)
    built = onnx.load_from_string(model)

    def ops(model: onnx.ModelProto) -> Counter:  # a step's Constants are shared by all
        return Counter(n.op_type for n in model.graph.node if n.op_type != "Constant")

    assert ops(built) == ops(traced)
    assert all(n.domain != DOMAIN for n in built.graph.node)
    assert all(o.domain != DOMAIN for o in built.opset_import)
    assert [i.name for i in built.graph.initializer] == [i.name for i in traced.graph.initializer]
    rng = np.random.default_rng(0)
    for shape in ([2, *compiled.network.input.shape], [1, *compiled.network.input.shape]):
        x = rng.standard_normal(shape).astype(np.float32)
        np.testing.assert_array_equal(_run(model, x), _run(traced.SerializeToString(), x))


def test_the_module_runs_every_step_again_after_export():
    compiled = _compiled((SPECS / "classic" / "heat_1d.pde").read_text(), {"steps": "12"})
    export_graph(compiled)
    assert compiled.module.block1.steps == 12
    assert "forward" not in vars(compiled.module.block1)
