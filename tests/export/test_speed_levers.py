"""The speed levers keep the model's meaning: the graph rewrites of export/rewrite.optimize,
single-threaded tracing and verification, and int8 quantization."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

import pde2net
from pde2net.export import tvnorm
from pde2net.export.certify import certify
from pde2net.export.graph import all_nodes
from pde2net.export.onnx import compare_int8, export_bytes, quantize_int8, torch_threads, verify
from pde2net.export.rewrite import optimize, optimize_bytes
from pde2net.pipeline import export_compiled
from tests.conftest import ROOT, SPECS, run_cli
from tests.export.test_onnx import ancestors

CIFAR10 = SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
REWRITTEN = [
    SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde",
    SPECS / "ruthotto_haber_2018" / "hamiltonian_cifar10.pde",
    SPECS / "ruthotto_haber_2018" / "second_order_cifar10.pde",
    SPECS / "ruthotto_haber_2018" / "resnet_cifar10.pde",
    SPECS / "alt_2023" / "explicit.pde",
    SPECS / "alt_2023" / "fed.pde",
    SPECS / "alt_2023" / "multigrid.pde",  # strided ConvTranspose (prolongation) stays
    SPECS / "classic" / "perona_malik_1d.pde",  # grouped stencil adjoints stay
]


@pytest.fixture(scope="module")
def cifar10():
    compiled = pde2net.compile_file(CIFAR10)
    return compiled, export_bytes(compiled.module, compiled.plan)


@pytest.mark.parametrize("spec", REWRITTEN, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_optimized_model_computes_the_same(spec):
    compiled = pde2net.compile_file(spec)
    raw = export_bytes(compiled.module, compiled.plan)
    data = optimize_bytes(raw)
    verification = verify(data, compiled.module, compiled.plan, batches=(1, 3))
    assert verification.max_rel_error <= 1e-4
    before, after = onnx.load_from_string(raw).graph, onnx.load_from_string(data).graph
    # no weight is duplicated: every float initializer of the result was in the export,
    # or is one of the blocked TV norm's constants (ones, zeros, its eps)
    floats = {t.name for t in before.initializer if t.data_type == onnx.TensorProto.FLOAT}
    for tensor in after.initializer:
        if tensor.data_type == onnx.TensorProto.FLOAT and tensor.name not in floats:
            assert tensor.name.startswith(tvnorm.PREFIX), tensor.name
            value = onnx.numpy_helper.to_array(tensor)
            assert value.size == 1 or set(np.unique(value)) <= {0.0, 1.0}, tensor.name
    # nothing is left dead (onnxruntime warns about unused initializers and constants)
    read = {name for node in all_nodes(after) for name in node.input}  # in Loop bodies too
    read |= {o.name for o in after.output}
    assert all(t.name in read for t in after.initializer)
    # (a Loop names every value it carries, read or not: onnxruntime 1.x crashes on a
    # Loop output left unnamed, so conjugate gradients' r, p and rr stay named)
    loops = [n for n in after.node if n.op_type == "Loop"]
    assert all(
        name in read for node in after.node for name in node.output[: 1 if node in loops else None]
    )
    # a stride-1, ungrouped ConvTranspose is always rewritten; others are left alone
    for node in after.node:
        if node.op_type == "ConvTranspose":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert attrs.get("group", 1) != 1 or any(s != 1 for s in attrs.get("strides", []))


def test_the_adjoint_reads_the_forward_weight(cifar10):
    """K' is now a Conv whose kernel is computed from K's initializer, which the forward
    Conv reads directly: the file still ties K and K'."""
    _, raw = cifar10
    graph = optimize(onnx.load_from_string(raw)).graph
    initializers = {t.name for t in graph.initializer}
    forward = {n.input[1] for n in graph.node if n.op_type == "Conv" and n.input[1] in initializers}
    adjoints = [n for n in graph.node if n.op_type == "Conv" and n.input[1] not in initializers]
    assert not [n for n in graph.node if n.op_type == "ConvTranspose"]
    assert len(adjoints) == 9  # 3 blocks x 3 steps
    for node in adjoints:
        sources = ancestors(graph, node.input[1])
        assert "input" not in sources
        weights = sources & forward
        assert len(weights) == 1, (node.name, weights)
        assert weights.pop().startswith("block")


def test_the_rewrites_can_be_switched_off(cifar10):
    _, raw = cifar10

    def ops(data: bytes) -> set[str]:
        return {n.op_type for n in onnx.load_from_string(data).graph.node}

    assert "ConvTranspose" in ops(optimize_bytes(raw, adjoint_as_conv=False))
    assert "ReduceSumSquare" not in ops(optimize_bytes(raw, sum_square=False))
    assert "Reciprocal" not in ops(optimize_bytes(raw, reciprocal=False))
    assert {"ReduceSumSquare", "Reciprocal"} <= ops(optimize_bytes(raw, blocked_norm=False))
    assert "BatchNormalization" not in ops(optimize_bytes(raw, blocked_norm=False))
    assert "ReduceSumSquare" not in ops(optimize_bytes(raw))
    assert "value_info" not in str(onnx.load_from_string(optimize_bytes(raw, annotate=False)))
    assert optimize_bytes(raw) == optimize_bytes(raw)  # deterministic


def test_the_written_model_is_optimized_verified_and_certifiable(tmp_path):
    """The Table 1 layout without the tvnorm (whose blocks no theorem covers): K' is
    rewritten into a Conv on K's flipped kernel, and certify still finds every K."""
    text = CIFAR10.read_text(encoding="utf-8")
    text = text.replace("relu(N(K u))", "relu(K u)")
    text = "\n".join(line for line in text.splitlines() if "tvnorm" not in line)
    compiled = pde2net.compile_text(text, str(CIFAR10))
    model, record = export_compiled(compiled)
    assert record["max_rel_error"] <= 1e-4
    graph = onnx.load_from_string(model).graph
    assert not [n for n in graph.node if n.op_type == "ConvTranspose"]
    path = tmp_path / "model.onnx"
    path.write_bytes(model)
    result = certify(str(path))
    assert len(result["blocks"]) == 3
    assert all(c["norms"] for b in result["blocks"] for c in b["checks"])


def test_torch_threads_restores_the_thread_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError
    assert torch.get_num_threads() == before


def test_int8_model_stays_close_to_the_float_one(cifar10):
    compiled, _ = cifar10
    model, _ = export_compiled(compiled)
    rng = np.random.default_rng(0)
    calibration = rng.standard_normal((16, 3, 32, 32)).astype(np.float32)
    int8 = quantize_int8(model, calibration)
    ops = {n.op_type for n in onnx.load_from_string(int8).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    held_out = rng.standard_normal((32, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, 32)
    result = compare_int8(model, int8, held_out, labels)
    assert result["max_rel_error"] < 0.05
    assert result["top1_agreement"] >= 0.9
    assert 0 <= result["accuracy_int8"] <= 1


def test_compile_quantize_int8_writes_the_int8_model(tmp_path):
    calibration = tmp_path / "calibration.npy"
    np.save(calibration, np.random.default_rng(0).standard_normal((12, 3, 32, 32)).astype("f4"))
    options = ["-o", str(tmp_path), "--quantize", "int8", "--calibration", str(calibration)]
    result = run_cli("compile", str(CIFAR10), *options)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "parabolic_cifar10.int8.onnx").is_file()
    assert "int8 model deviates" in result.stdout
    report = json.loads((tmp_path / "parabolic_cifar10.report.json").read_text())
    assert report["int8"]["calibration"] == {"source": "given", "samples": 9}
    assert report["int8"]["against_float"]["samples"] == 3


def test_compile_quantize_rejects_bad_calibration(tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((4, 1, 32, 32), dtype="f4"))
    result = run_cli(
        "compile",
        str(CIFAR10),
        "-o",
        str(tmp_path),
        "--quantize",
        "int8",
        "--calibration",
        str(bad),
    )
    assert result.returncode == 2
    assert "calibration inputs must have shape (N, 3, 32, 32)" in result.stderr
    assert not list(tmp_path.glob("*.onnx"))
    result = run_cli("compile", str(CIFAR10), "-o", str(tmp_path), "--calibration", str(bad))
    assert result.returncode == 2
    assert "--calibration needs --quantize int8" in result.stderr


def test_a_shared_kernel_used_negated_and_not_is_flipped_once():
    """Two adjoints of one weight, one of them negated, and a bias: one Transpose and
    one Slice, the same numbers as the ConvTransposes."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype("f4"), "K")
    bias = numpy_helper.from_array(rng.standard_normal(3).astype("f4"), "b")
    pads = {"kernel_shape": [3, 3], "pads": [1, 0, 1, 2]}
    graph = helper.make_graph(
        [
            helper.make_node("ConvTranspose", ["input", "K", "b"], ["t1"], **pads),
            helper.make_node("Neg", ["t1"], ["n1"]),
            helper.make_node("ConvTranspose", ["input", "K"], ["t2"], **pads),
            helper.make_node("Add", ["n1", "t2"], ["output"]),
        ],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 4, 5, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [2, 3, 5, 6])],
        [weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    optimized = optimize(model)
    ops = [n.op_type for n in optimized.graph.node]
    assert ops.count("Transpose") == 1 and ops.count("Slice") == 1
    assert "ConvTranspose" not in ops
    x = rng.standard_normal((2, 4, 5, 6)).astype("f4")
    run = [
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"input": x}
        )[0]
        for m in (model, optimized)
    ]
    np.testing.assert_allclose(run[1], run[0], rtol=1e-5, atol=1e-5)


def test_shapes_are_written_in_the_input_s_symbolic_sizes(cifar10, tmp_path):
    """The residual addition of a block adds two tensors whose written shapes are equal,
    so onnxruntime fuses it into the convolution (no Reshape/Add left)."""
    import onnxruntime as ort

    _, raw = cifar10
    model = optimize(onnx.load_from_string(raw), blocked_norm=False)
    shapes = {
        vi.name: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
        for vi in model.graph.value_info
    }
    assert ["batch", 32, "size0", "size1"] in shapes.values()
    assert ["batch", 64, "size0/2", "size1/2"] in shapes.values()
    assert ["batch", 112, "size0/2/2", "size1/2/2"] in shapes.values()
    adds = [n for n in model.graph.node if n.op_type == "Add" and n.input[0] in shapes]
    residual = [n for n in adds if shapes.get(n.input[0]) == shapes.get(n.input[1])]
    assert len(residual) == 9
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "ort.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(str(tmp_path / "ort.onnx")).graph.node]
    assert "Reshape" not in ops
    assert ops.count("Add") == 18  # the TV norms' eps and bias: no residual Add is left


def _ort_optimized_ops(model: bytes, tmp_path) -> list[str]:
    """The operators of onnxruntime's own optimized graph of `model`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "ort.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return [f"{n.domain}:{n.op_type}" for n in onnx.load(str(tmp_path / "ort.onnx")).graph.node]


def test_the_tv_norms_stay_in_the_blocked_layout(cifar10, tmp_path):
    """After the blocked TV norm rewrite onnxruntime reorders no tensor into NCHWc after
    the first convolution; it reorders out only the one-channel sums and the output."""
    _, raw = cifar10
    model = optimize(onnx.load_from_string(raw))
    assert sum(n.op_type == "BatchNormalization" for n in model.graph.node) == 9
    before = _ort_optimized_ops(optimize_bytes(raw, blocked_norm=False), tmp_path)
    after = _ort_optimized_ops(model.SerializeToString(), tmp_path)
    if "com.microsoft.nchwc:Conv" not in after:
        pytest.skip("onnxruntime has no NCHWc kernels on this CPU")
    assert before.count("com.microsoft.nchwc:ReorderInput") == 9
    assert after.count("com.microsoft.nchwc:ReorderInput") == 0
    assert after.count("com.microsoft.nchwc:ReorderOutput") == 10  # 9 sums + the output
    assert not {":Relu", ":Add", ":BatchNormalization", ":ReduceSumSquare"} & set(after)


def test_the_blocked_tv_norm_computes_the_norm():
    """The rewrite on a bare norm graph (affine and not) against NumPy."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    c, eps = 16, 1e-3
    weight = rng.standard_normal((1, c, 1, 1)).astype(np.float32)
    bias = rng.standard_normal((1, c, 1, 1)).astype(np.float32)
    z = rng.standard_normal((2, c, 5, 7)).astype(np.float32)
    for affine in (True, False):
        h = onnx.helper
        nodes = [
            h.make_node("ReduceSumSquare", ["z", "axes"], ["s"], keepdims=1),
            h.make_node("Add", ["s", "eps"], ["se"]),
            h.make_node("Sqrt", ["se"], ["root"]),
            h.make_node("Reciprocal", ["root"], ["r"]),
            h.make_node("Mul", ["z", "r"], ["n" if affine else "y"]),
        ]
        inits = [
            onnx.numpy_helper.from_array(np.array([1], np.int64), "axes"),
            onnx.numpy_helper.from_array(np.array(eps, np.float32), "eps"),
        ]
        if affine:
            nodes += [
                h.make_node("Mul", ["n", "w"], ["nw"]),
                h.make_node("Add", ["nw", "b"], ["y"]),
            ]
            inits += [onnx.numpy_helper.from_array(weight, "w")]
            inits += [onnx.numpy_helper.from_array(bias, "b")]
        spec = h.make_tensor_value_info("z", onnx.TensorProto.FLOAT, ["batch", c, "h", "w"])
        out = h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", c, "h", "w"])
        graph = h.make_graph(nodes, "norm", [spec], [out], inits)
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", 18)])
        optimized = optimize(model)
        assert "ReduceSumSquare" not in {n.op_type for n in optimized.graph.node}
        session = ort.InferenceSession(
            optimized.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        expected = z / np.sqrt(np.sum(z * z, axis=1, keepdims=True) + eps)
        if affine:
            expected = expected * weight + bias
        np.testing.assert_allclose(session.run(None, {"z": z})[0], expected, rtol=1e-5, atol=1e-6)
