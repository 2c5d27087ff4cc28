"""ONNX export of every bundled spec, verified in onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx.external_data_helper import uses_external_data

from pde2net.api import build_module, compile_file
from pde2net.export.onnx import OPSET, TOLERANCE, VerificationError, export_bytes, verify
from pde2net.ir import ConvT
from tests.conftest import ALL_SPECS, ROOT, SPECS

CIFAR10 = SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde"


def dims(value_info: onnx.ValueInfoProto) -> list[onnx.TensorShapeProto.Dimension]:
    return list(value_info.type.tensor_type.shape.dim)


def has_adjoint(network) -> bool:
    return any(eq.rhs.has(ConvT) for block in network.blocks for eq in block.pde.equations)


def ancestors(graph: onnx.GraphProto, name: str) -> set[str]:
    """Every tensor that `name` is computed from."""
    producer = {out: node for node in graph.node for out in node.output}
    seen: set[str] = set()
    todo = [name]
    while todo:
        node = producer.get(todo.pop())
        for source in node.input if node is not None else ():
            if source and source not in seen:
                seen.add(source)
                todo.append(source)
    return seen


def check_model(model: onnx.ModelProto, network, strict: bool) -> None:
    graph = model.graph
    # opset
    default = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    assert default and default[0] >= 18
    # one input `input`, one output `output`
    assert [i.name for i in graph.input] == ["input"]
    assert [o.name for o in graph.output] == ["output"]
    (inp,), (out,) = graph.input, graph.output
    in_dims, out_dims = dims(inp), dims(out)
    assert len(in_dims) == 1 + len(network.input.shape)
    assert len(out_dims) == 1 + len(network.output_shape)
    # batch dimension symbolic, the same symbol in and out
    assert in_dims[0].WhichOneof("value") == "dim_param" and in_dims[0].dim_param
    assert out_dims[0].dim_param == in_dims[0].dim_param
    assert in_dims[1].dim_value == network.input.shape[0]
    # (the exporter may leave the output's channel count symbolic; if it is fixed, it is right)
    if out_dims[1].WhichOneof("value") == "dim_value":
        assert out_dims[1].dim_value == network.output_shape[0]
    if network.spatial_dynamic:
        assert all(d.WhichOneof("value") == "dim_param" for d in in_dims[2:])
    else:
        assert [d.dim_value for d in in_dims[2:]] == list(network.input.shape[1:])
    # self-contained: no tensor points at an external file
    for tensor in graph.initializer:
        assert not uses_external_data(tensor), tensor.name
        assert tensor.data_location != onnx.TensorProto.EXTERNAL, tensor.name
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                assert not uses_external_data(attr.t), node.name
    # K' reads K's weight. Every ConvTranspose's weight is a constant of the model (never
    # computed from the input), and one that is an initializer is also some Conv's weight:
    # an adjoint never gets weights of its own.
    initializers = {t.name for t in graph.initializer}
    conv_weights = {n.input[1] for n in graph.node if n.op_type == "Conv"}
    tied = initializers & conv_weights
    transposes = [n for n in graph.node if n.op_type == "ConvTranspose"]
    for node in transposes:
        weight = node.input[1]
        assert "input" not in ancestors(graph, weight), f"{node.name}: weight {weight}"
        if weight in initializers:
            assert weight in conv_weights, f"{node.name}: weight {weight} is used by no Conv"
        if strict:
            # the paper networks: exactly K' = ConvTranspose on the Conv's initializer
            assert weight in tied, f"{node.name}: weight {weight} is not a Conv's initializer"
        assert len(node.input) == 2 or not node.input[2], f"{node.name} has a bias"
    if has_adjoint(network):
        assert any(n.input[1] in tied for n in transposes), (
            "the spec uses K' but no ConvTranspose reads a Conv's weight"
        )


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_export_and_verify(spec):
    compiled = compile_file(spec)
    data = export_bytes(compiled.module, compiled.plan)
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    check_model(model, compiled.network, strict=spec.parent.name == "ruthotto_haber_2018")
    verification = verify(data, compiled.module, compiled.plan, batches=(1, 3))
    batches = {run["input_shape"][0] for run in verification.runs}
    assert batches == {1, 3}
    assert all(run["finite"] for run in verification.runs)
    assert verification.max_rel_error <= TOLERANCE
    # the declared input size is among the verified ones
    declared = list(compiled.network.input.shape)
    assert any(run["input_shape"][1:] == declared for run in verification.runs)
    if compiled.network.spatial_dynamic:
        other = [r for r in verification.runs if r["input_shape"][1:] != declared]
        assert other, "a spatially dynamic model must also be verified at another size"


def test_opset_constant():
    assert OPSET >= 18


@pytest.fixture(scope="module")
def cifar10():
    compiled = compile_file(CIFAR10)
    return compiled, export_bytes(compiled.module, compiled.plan)


def test_onnxruntime_gives_ten_finite_logits_per_image(cifar10):
    import onnxruntime as ort

    compiled, data = cifar10
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    (logits,) = session.run(["output"], {"input": images})
    assert logits.shape == (3, 10)
    assert np.all(np.isfinite(logits))
    # different images, different logits
    assert not np.allclose(logits[0], logits[1])
    with torch.no_grad():
        expected = compiled.module.eval()(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)


def test_export_is_deterministic(cifar10):
    compiled, data = cifar10
    assert export_bytes(compiled.module, compiled.plan) == data


def test_weights_are_embedded_under_their_parameter_names(cifar10):
    compiled, data = cifar10
    model = onnx.load_from_string(data)
    initializers = {t.name: t for t in model.graph.initializer}
    K = compiled.module.block2.K[1].detach().numpy()
    assert "block2.K.1" in initializers
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(initializers["block2.K.1"]), K)


def test_verify_rejects_a_model_with_other_weights(cifar10):
    """The verification can fail: a module with different weights disagrees."""
    compiled, data = cifar10
    other = build_module(compiled.source, compiled.class_name, seed=1)
    with pytest.raises(VerificationError, match="deviates"):
        verify(data, other, compiled.plan)
