"""Integer constants folded at compile time (pde2net/export/fold.py)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from pde2net.export.fold import fold_integer_constants
from tests.conftest import SPECS


def _const(name: str, value) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(value)))


def _pads_model() -> onnx.ModelProto:
    """The exporter's pads vector for F.pad(x, (0, 1, 0, 1)) on a 4-D input, then Pad."""
    nodes = [
        _const("p", np.array([0, 1, 0, 1], dtype=np.int64)),
        _const("four", np.array([4], dtype=np.int64)),
        helper.make_node(
            "ConstantOfShape",
            ["four"],
            ["zeros"],
            value=numpy_helper.from_array(np.array([0], dtype=np.int64)),
        ),
        helper.make_node("Concat", ["p", "zeros"], ["cat"], axis=0),
        _const("shape", np.array([-1, 2], dtype=np.int64)),
        helper.make_node("Reshape", ["cat", "shape"], ["pairs"]),
        _const("start", np.array([-1], dtype=np.int64)),
        _const("end", np.array([-(2**63)], dtype=np.int64)),
        _const("axis", np.array([0], dtype=np.int64)),
        _const("step", np.array([-1], dtype=np.int64)),
        helper.make_node("Slice", ["pairs", "start", "end", "axis", "step"], ["rev"]),
        helper.make_node("Transpose", ["rev"], ["t"], perm=[1, 0]),
        _const("flat", np.array([-1], dtype=np.int64)),
        helper.make_node("Reshape", ["t", "flat"], ["flat_pads"]),
        helper.make_node("Cast", ["flat_pads"], ["pads"], to=TensorProto.INT64),
        _const("half", np.array(0.5, dtype=np.float32)),
        helper.make_node("Pad", ["x", "pads"], ["padded"], mode="edge"),
        helper.make_node("Mul", ["padded", "half"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "pads",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_the_exporters_pads_vector_becomes_one_constant():
    model = _pads_model()
    x = np.random.default_rng(0).standard_normal((2, 1, 3, 3)).astype(np.float32)
    (before,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    folded = onnx.ModelProto()
    folded.CopyFrom(model)
    assert fold_integer_constants(folded.graph) == 7  # the whole chain, not the float Mul
    pads = next(n for n in folded.graph.node if n.output[0] == "pads")
    assert pads.op_type == "Constant"
    assert numpy_helper.to_array(pads.attribute[0].t).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    assert next(n for n in folded.graph.node if n.output[0] == "y").op_type == "Mul"
    (after,) = ort.InferenceSession(folded.SerializeToString()).run(None, {"x": x})
    assert np.array_equal(before, after)
    inferred = onnx.shape_inference.infer_shapes(folded, strict_mode=True, data_prop=True)
    padded = next(v for v in inferred.graph.value_info if v.name == "padded")
    assert [d.dim_value for d in padded.type.tensor_type.shape.dim][1:] == [1, 4, 4]


def test_a_written_stencil_graph_has_constant_pads():
    """Every Pad of a compiled stencil network reads a constant: ONNX's shape inference
    keeps the spatial sizes through it."""
    import pde2net
    from pde2net.pipeline import export_graph

    compiled = pde2net.compile_file(SPECS / "classic" / "heat_2d.pde")
    model = export_graph(compiled, metadata=False)
    constants = {n.output[0] for n in model.graph.node if n.op_type == "Constant"}
    constants |= {i.name for i in model.graph.initializer}
    pads = [n for n in model.graph.node if n.op_type == "Pad"]
    assert pads and all(n.input[1] in constants for n in pads)
