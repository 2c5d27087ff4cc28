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
    heat by implicit(tau = 0.5, solver = SOLVER, iterations = ITERATIONS, steps = 4)
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
        ((SPECS / "classic" / "wave_2d.pde").read_text(), {}, {1: 100}),  # two slots
        (SHARED, {}, {1: 6}),  # the per-step weights of block 2 are traced
        (
            JACOBI.replace("SOLVER", "jacobi").replace("ITERATIONS", "40"),
            {},
            {1: 4},
        ),  # a Loop a step
        (JACOBI.replace("SOLVER", "jacobi").replace("ITERATIONS", "12"), {}, {1: 4}),  # copies
        (JACOBI.replace("SOLVER", "fixed_point").replace("ITERATIONS", "40"), {}, {1: 4}),
        (
            JACOBI.replace("SOLVER", "cg").replace("ITERATIONS", "40"),
            {},
            {1: 4},
        ),  # four carried values
        (JACOBI.replace("SOLVER", "cg").replace("ITERATIONS", "3"), {}, {1: 4}),
    ],
    ids=["heat_1d", "wave_2d", "shared", "jacobi", "jacobi-12", "fixed_point", "cg", "cg-3"],
)
def test_composed_steps_give_the_traced_graph(text, overrides, composed):
    compiled = _compiled(text, overrides)
    chosen = composed_blocks(compiled)
    if composed is not None:
        assert chosen == composed
    with torch_threads(1):
        traced = onnx.load_from_string(export_bytes(compiled.module, compiled.plan))
        model = export_bytes(compiled.module, compiled.plan, chosen)
    built = onnx.load_from_string(model)

    def ops(graph: onnx.GraphProto, times: int = 1) -> Counter:
        """Operators run, a Loop's body counted per trip; a step's Constants are shared."""
        counted = Counter()
        for n in graph.node:
            if n.op_type == "Loop":
                trips = next(i for i in graph.node if i.output[0] == n.input[0])
                body = next(a.g for a in n.attribute if a.name == "body")
                counted += ops(body, times * int(onnx.numpy_helper.to_array(trips.attribute[0].t)))
            elif n.op_type not in ("Constant", "Identity"):
                counted[n.op_type] += times
        return counted

    # never an operator more than tracing every step; fewer where a step's work does not
    # depend on its input (computed once, not once per step)
    assert ops(built.graph) <= ops(traced.graph)
    assert sum(ops(built.graph).values()) >= 0.9 * sum(ops(traced.graph).values())
    looped = any(n.op_type == "Loop" for n in built.graph.node)
    assert looped == ("iterations = 40" in text)  # from LOOP_MIN (32) on; fewer are copies
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


LEARNED_JACOBI = """
pde diffusion(c) {
    state u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' K u
}
network learned {
    input image(2, 8, 8)
    conv(3x3, 2 -> 3)
    diffusion(3) by implicit(tau = 0.5, solver = jacobi, iterations = 40, steps = 2)
    globalavgpool
    output linear(3 -> 2)
}
"""


def test_a_looped_solver_is_certified_and_tampering_inside_its_body_is_refused(tmp_path):
    """The Jacobi iterations of a learned implicit block are an ONNX Loop: certify
    measures the kernel its body uses, and a Mul slipped into the body is refused."""
    from pde2net.export.certify import RefusedError, certify
    from pde2net.pipeline import export_compiled

    compiled = _compiled(LEARNED_JACOBI)
    path = tmp_path / "learned.onnx"
    path.write_bytes(export_compiled(compiled)[0])
    model = onnx.load(str(path))
    loop, _ = [n for n in model.graph.node if n.op_type == "Loop"]  # one per time step
    result = certify(str(path))
    assert result["certified"]
    assert "block1.K.0" in {k["initializer"] for k in result["kernels"]}
    body = next(a.g for a in loop.attribute if a.name == "body")
    conv = next(n for n in body.node if "block1.K.0" in n.input)
    scale = onnx.helper.make_node("Mul", ["block1.K.0", "tamper.two"], ["tamper.K"])
    conv.input[list(conv.input).index("block1.K.0")] = "tamper.K"
    body.node.insert(0, scale)
    model.graph.initializer.append(
        onnx.numpy_helper.from_array(np.array(2.0, dtype=np.float32), "tamper.two")
    )
    tampered = tmp_path / "tampered.onnx"
    tampered.write_bytes(model.SerializeToString())
    with pytest.raises(RefusedError, match="graph differs"):
        certify(str(tampered))
