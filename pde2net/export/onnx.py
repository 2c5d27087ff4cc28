"""Export a generated module to ONNX and prove, in onnxruntime, that it computes the same.

The TorchScript exporter is used (`dynamo=False`): it gives the same graph as the
torch.export-based one for these feed-forward modules in a fraction of the time
(0.15 s against 3 s for a one-block model on this machine; see docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import onnx
import torch

from pde2net import ir

OPSET = 18
TOLERANCE = 1e-4  # maximum relative deviation: max |ort - torch| / max |torch|


class VerificationError(Exception):
    """onnxruntime disagrees with torch: the export is wrong and is not kept."""


@dataclass
class Verification:
    """What the onnxruntime run measured, one entry per (batch, spatial size) tried."""

    runs: list[dict[str, object]] = field(default_factory=list)

    @property
    def max_abs_error(self) -> float:
        return max(float(r["max_abs_error"]) for r in self.runs)

    @property
    def max_rel_error(self) -> float:
        return max(float(r["max_rel_error"]) for r in self.runs)

    def to_dict(self) -> dict[str, object]:
        return {
            "runtime": "onnxruntime",
            "tolerance_rel": TOLERANCE,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "runs": self.runs,
        }


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch on `n` intra-op threads inside the block, the previous number restored after.

    The compile pipeline traces and verifies on one thread: those are a few small forward
    passes, as fast on one thread of an idle machine, and on a busy one they do not stall
    at every operator waiting for a descheduled OpenMP thread (seconds instead of 0.2 s;
    docs/benchmarks.md)."""
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def export_bytes(module: torch.nn.Module, network: ir.Network) -> bytes:
    """The ONNX model: opset 18, input `input`, output `output`, dynamic batch (and
    spatial sizes where the layout allows), weights embedded."""
    module.eval()
    example = torch.randn(2, *network.input.shape, generator=torch.Generator().manual_seed(0))
    axes = {0: "batch"}
    if network.spatial_dynamic:
        axes.update({2 + i: f"size{i}" for i in range(network.input.dims)})
    out_axes = {0: "batch"}
    if network.spatial_dynamic:
        out_axes.update({2 + i: f"size{i}" for i in range(len(network.output_shape) - 1)})
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            buffer,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": axes, "output": out_axes},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    model.producer_name = "pde2net"
    model.doc_string = f"{network.name}, compiled by pde2net"
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


# Slice inputs that reverse the last `d` axes of a kernel (d = 1, 2, 3).
_FLIP = "pde2net.flip"
_INT64_MIN = -(2**63)


def optimize(
    model: onnx.ModelProto,
    *,
    adjoint_as_conv: bool = True,
    sum_square: bool = True,
    reciprocal: bool = True,
    shapes: bool = True,
) -> onnx.ModelProto:
    """Rewrite the exported graph so that onnxruntime runs it faster; same function.

    - A stride-1 ConvTranspose becomes the Conv with the transposed, spatially flipped
      kernel: conv_transpose(x, K, pads p) = conv(x, flip(K)ᵀ, pads k - 1 - p). The
      flipped kernel is computed in the graph from K's own initializer (Transpose, Slice),
      so the file still holds each weight once and K' still reads K; onnxruntime folds
      those constant nodes when it loads the model and then runs the adjoint with its
      blocked (NCHWc) convolution, which ConvTranspose does not get. A Neg that only
      negates the adjoint's output is folded into that kernel (and bias).
    - ReduceSum(x * x) becomes ReduceSumSquare(x): no full-size square is written.
    - Div(1, y) becomes Reciprocal(y), so the TV norm multiplies by 1/√(…) per point
      instead of dividing every channel.
    - The shapes of the intermediate tensors are written into the graph (value_info) in
      terms of the input's symbolic sizes (`_annotate_shapes`). ONNX's own inference
      loses the spatial sizes at the first convolution of a dynamic-size input;
      onnxruntime needs them to see that a block's residual addition adds two tensors
      of one shape, and only then fuses it into the convolution before it.

    The result is checked with the ONNX checker; `verify` then checks it against torch.
    The keywords switch single rewrites off (benchmarks/ measures each one).
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    constants = _constant_values(graph)
    initializers = {t.name: t for t in graph.initializer}

    def only_consumer(name: str) -> onnx.NodeProto | None:
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and name not in outputs else None

    dropped: set[int] = set()  # ids of nodes absorbed into another one
    squares: dict[int, str] = {}  # id of a ReduceSum of x * x -> x
    for node in graph.node:
        square = node.op_type == "Mul" and len(node.input) == 2 and node.input[0] == node.input[1]
        if sum_square and square:
            nxt = only_consumer(node.output[0])
            if nxt is not None and nxt.op_type == "ReduceSum" and nxt.input[0] == node.output[0]:
                squares[id(nxt)] = node.input[0]
                dropped.add(id(node))
    flips: set[int] = set()
    nodes: list[onnx.NodeProto] = []
    made: set[str] = set()  # tensors that nodes added by this pass compute

    def emit(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        """Append a node computing `output`, once however often it is asked for."""
        if output not in made:
            made.add(output)
            nodes.append(onnx.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    for node in graph.node:
        if id(node) in dropped:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if adjoint_as_conv and node.op_type == "ConvTranspose" and node.domain in ("", "ai.onnx"):
            kernel = list(attrs.get("kernel_shape") or _kernel_from(initializers, node.input[1]))
            d = len(kernel)
            pads = list(attrs.get("pads", [0] * (2 * d)))
            plain = (
                d > 0
                and attrs.get("group", 1) == 1
                and all(s == 1 for s in attrs.get("strides", [1] * d))
                and all(s == 1 for s in attrs.get("dilations", [1] * d))
                and not any(attrs.get("output_padding", []))
                and "output_shape" not in attrs
                and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                and all(0 <= p <= k - 1 for p, k in zip(pads, kernel * 2, strict=True))
            )
            if plain:
                nxt = only_consumer(node.output[0])
                negate = nxt is not None and nxt.op_type == "Neg"
                out = nxt.output[0] if negate else node.output[0]
                # flip(K)ᵀ: swap the channel axes, reverse the spatial ones
                weight = node.input[1]
                perm = [1, 0, *range(2, 2 + d)]
                kernel_t = emit("Transpose", [weight], f"pde2net/{weight}/T", perm=perm)
                parts = [f"{_FLIP}{d}.{p}" for p in ("starts", "ends", "axes", "steps")]
                adjoint = emit("Slice", [kernel_t, *parts], f"pde2net/{weight}/adjoint")
                flips.add(d)
                if negate:
                    adjoint = emit("Neg", [adjoint], f"pde2net/{weight}/adjoint/neg")
                inputs = [node.input[0], adjoint]
                if len(node.input) > 2 and node.input[2]:
                    bias = node.input[2]
                    if negate:
                        bias = emit("Neg", [bias], f"pde2net/{bias}/neg")
                    inputs.append(bias)
                nodes.append(
                    onnx.helper.make_node(
                        "Conv",
                        inputs,
                        [out],
                        name=f"{node.name or out}/as_conv",
                        kernel_shape=kernel,
                        pads=[k - 1 - p for p, k in zip(pads, kernel * 2, strict=True)],
                        strides=[1] * d,
                        dilations=[1] * d,
                        group=1,
                    )
                )
                if negate:
                    dropped.add(id(nxt))
                continue
        if node.op_type == "ReduceSum" and id(node) in squares:
            nodes.append(
                onnx.helper.make_node(
                    "ReduceSumSquare",
                    [squares[id(node)], *node.input[1:]],
                    list(node.output),
                    name=f"{node.name or node.output[0]}/sum_square",
                    **attrs,
                )
            )
            continue
        if reciprocal and node.op_type == "Div" and _is_one(constants.get(node.input[0])):
            nodes.append(
                _node("Reciprocal", [node.input[1]], list(node.output), f"{node.name}/reciprocal")
            )
            continue
        nodes.append(node)
    for d in sorted(flips):
        values = {"starts": [-1] * d, "ends": [_INT64_MIN] * d, "axes": list(range(2, 2 + d))}
        values["steps"] = [-1] * d
        for part, value in values.items():
            graph.initializer.append(
                onnx.numpy_helper.from_array(np.array(value, dtype=np.int64), f"{_FLIP}{d}.{part}")
            )
    # drop what no longer feeds the output (the constant 1 of a Div, say)
    live = set(outputs) | _subgraph_inputs(graph)
    kept: list[onnx.NodeProto] = []
    for node in reversed(nodes):
        if any(name in live for name in node.output):
            live.update(node.input)
            kept.append(node)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    used = {name for node in graph.node for name in node.input}
    keep = [c for c in graph.initializer if c.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    if shapes:
        _annotate_shapes(graph)
    onnx.checker.check_model(model, full_check=True)
    return model


def optimize_bytes(model: bytes, **rewrites: bool) -> bytes:
    """`optimize` on serialised bytes, serialised deterministically."""
    optimized = optimize(onnx.load_from_string(model), **rewrites)
    return optimized.SerializeToString(deterministic=True)


def _node(op: str, inputs: list[str], outputs: list[str], name: str) -> onnx.NodeProto:
    return onnx.helper.make_node(op, inputs, outputs, name=name)


Dims = list[int | str]  # a shape: sizes, or symbolic names of sizes

# Operators whose output has their (first) input's shape and element type.
_SAME_SHAPE = {
    "Abs", "BatchNormalization", "Clip", "Erf", "Exp", "Identity", "LeakyRelu", "Log", "Neg",
    "Reciprocal", "Relu", "Sigmoid", "Softplus", "Sqrt", "Tanh",
}  # fmt: skip
# Elementwise with multidirectional (numpy) broadcasting.
_BROADCAST = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where"}
_REDUCE = {"ReduceSum", "ReduceSumSquare", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2"}
_POOL = {"AveragePool", "MaxPool"}


def _annotate_shapes(graph: onnx.GraphProto) -> None:
    """Add value_info for the float tensors whose shapes follow from the graph input's
    dims (sizes or symbolic names) through the operators this exporter emits.

    A size-preserving convolution (stride 1, pads summing to kernel - 1) keeps a
    symbolic size; a pool of kernel = stride k without padding turns size s into the
    name "s/k" (floor(s / k), the same for every such pool of s). Anything not derived
    exactly is left out, so what is written holds for every input the model accepts."""
    shapes: dict[str, Dims] = {}
    types: dict[str, int] = {}
    values = _constant_values(graph)
    for tensor in graph.initializer:
        shapes[tensor.name], types[tensor.name] = list(tensor.dims), tensor.data_type
    for vi in graph.input:
        kind = vi.type.tensor_type
        dims = [
            d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
            for d in kind.shape.dim
        ]
        if all(d not in (None, "") for d in dims):
            shapes[vi.name], types[vi.name] = dims, kind.elem_type
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            t = node.attribute[0].t
            shapes[node.output[0]], types[node.output[0]] = list(t.dims), t.data_type
            continue
        outs = _infer(node, [shapes.get(i) if i else None for i in node.input], values)
        source = node.input[1] if node.op_type == "Where" else node.input[0] if node.input else ""
        for name, dims in zip(node.output, outs, strict=False):
            if dims is not None and source in types:
                shapes[name], types[name] = dims, types[source]
    described = {vi.name for vi in (*graph.input, *graph.output, *graph.value_info)}
    described |= {t.name for t in graph.initializer}
    for node in graph.node:
        for name in node.output:
            if name in shapes and name not in described and types[name] == onnx.TensorProto.FLOAT:
                graph.value_info.append(
                    onnx.helper.make_tensor_value_info(name, types[name], shapes[name])
                )
                described.add(name)


def _infer(
    node: onnx.NodeProto, shapes: list[Dims | None], values: dict[str, np.ndarray]
) -> list[Dims | None]:
    """The output shapes of one node, None where not derived exactly."""
    op = node.op_type
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    x = shapes[0] if shapes else None
    if op in _SAME_SHAPE:
        return [x]
    if op in _BROADCAST:
        return [_broadcast(shapes)]
    if x is None or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return [None]
    d = len(x) - 2
    if op == "Conv" and shapes[1] is not None and d > 0:
        w = shapes[1]
        kernel = attrs.get("kernel_shape", w[2:])
        spatial = _window(x[2:], kernel, attrs, size_preserving=True)
        return [None if spatial is None else [x[0], w[0], *spatial]]
    if op in _POOL and not attrs.get("ceil_mode", 0) and len(node.output) == 1:
        spatial = _window(x[2:], attrs["kernel_shape"], attrs, size_preserving=False)
        return [None if spatial is None else [*x[:2], *spatial]]
    if op in ("GlobalAveragePool", "GlobalMaxPool"):
        return [[*x[:2], *[1] * d]]
    if op in _REDUCE:
        axes = values.get(node.input[1]) if len(node.input) > 1 and node.input[1] else None
        axes = attrs.get("axes") if axes is None else axes.tolist()
        if axes is None:
            return [None]
        axes = {int(a) % len(x) for a in np.atleast_1d(axes)}
        if attrs.get("keepdims", 1):
            return [[1 if i in axes else s for i, s in enumerate(x)]]
        return [[s for i, s in enumerate(x) if i not in axes]]
    if op == "Transpose":
        perm = attrs.get("perm", list(reversed(range(len(x)))))
        return [[x[p] for p in perm]]
    if op == "Slice" and all(i.startswith(_FLIP) for i in node.input[1:]):
        return [x]  # a kernel flip of `optimize`: same shape
    if op == "Split":
        axis = attrs.get("axis", 0) % len(x)
        split = values.get(node.input[1]) if len(node.input) > 1 and node.input[1] else None
        if split is None:
            parts = len(node.output)
            if not isinstance(x[axis], int) or x[axis] % parts:
                return [None] * parts
            split = [x[axis] // parts] * parts
        return [[*x[:axis], int(n), *x[axis + 1 :]] for n in split]
    if op == "Concat" and all(s is not None and len(s) == len(x) for s in shapes):
        axis = attrs["axis"] % len(x)
        if not all(isinstance(s[axis], int) for s in shapes):
            return [None]
        if any(s[:axis] + s[axis + 1 :] != x[:axis] + x[axis + 1 :] for s in shapes):
            return [None]
        return [[*x[:axis], sum(s[axis] for s in shapes), *x[axis + 1 :]]]
    return [None] * len(node.output)


def _window(
    sizes: Dims, kernel: list[int], attrs: dict[str, object], size_preserving: bool
) -> Dims | None:
    """Output sizes of a convolution or pool window over `sizes`."""
    d = len(sizes)
    pads = list(attrs.get("pads", [0] * 2 * d))
    strides = list(attrs.get("strides", [1] * d))
    dilations = list(attrs.get("dilations", [1] * d))
    out: Dims = []
    for i, s in enumerate(sizes):
        k, st, dil, pad = kernel[i], strides[i], dilations[i], pads[i] + pads[i + d]
        if isinstance(s, int):
            out.append((s + pad - dil * (k - 1) - 1) // st + 1)
        elif size_preserving and st == 1 and dil == 1 and pad == k - 1:
            out.append(s)
        elif not size_preserving and pad == 0 and dil == 1 and k == st:
            out.append(f"{s}/{k}")
        else:
            return None
    return out


def _broadcast(shapes: list[Dims | None]) -> Dims | None:
    if any(s is None for s in shapes):
        return None
    rank = max(len(s) for s in shapes)  # type: ignore[arg-type]
    out: Dims = []
    for i in range(rank):
        sizes = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0}  # type: ignore[arg-type]
        sizes.discard(1)
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return out


def _subgraph_inputs(graph: onnx.GraphProto) -> set[str]:
    """Names that control-flow subgraphs (If, Loop, Scan) read, at any depth."""
    names: set[str] = set()
    for node in graph.node:
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                names.update(name for n in sub.node for name in n.input)
                names |= _subgraph_inputs(sub)
    return names


def _kernel_from(initializers: dict[str, onnx.TensorProto], weight: str) -> list[int]:
    tensor = initializers.get(weight)
    return list(tensor.dims[2:]) if tensor is not None else []


def _constant_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Small constant tensors by name: Constant nodes' values and initializers."""
    values = {t.name: t for t in graph.initializer if np.prod(t.dims) <= 16}
    result = {name: onnx.numpy_helper.to_array(t) for name, t in values.items()}
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1:
            attr = node.attribute[0]
            if attr.name == "value" and np.prod(attr.t.dims) <= 16:
                result[node.output[0]] = onnx.numpy_helper.to_array(attr.t)
    return result


def _is_one(value: np.ndarray | None) -> bool:
    return value is not None and value.size >= 1 and bool(np.all(value == 1))


def verification_shapes(network: ir.Network) -> list[tuple[int, ...]]:
    """Spatial sizes to verify at: the declared one and, for dynamic layouts, a second."""
    declared = network.input.shape[1:]
    if not network.spatial_dynamic or not declared:
        return [declared]
    factor = 1
    for layer in network.layers:
        if isinstance(layer, ir.PoolLayer):
            factor *= layer.size
        elif isinstance(layer, ir.ConvLayer):
            factor *= layer.stride
        elif isinstance(layer, ir.Block) and layer.scheme.name == "multigrid":
            factor *= 2 ** (int(layer.scheme.args["levels"]) - 1)
    other = tuple(max(factor, (s // 2) // factor * factor) for s in declared)
    if other == declared:
        other = tuple(s + factor for s in declared)
    return [declared, other]


def verify(
    model: bytes, module: torch.nn.Module, network: ir.Network, batches: tuple[int, ...] = (1, 3)
) -> Verification:
    """Run the ONNX model in onnxruntime against the torch module on fresh inputs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1  # small inputs; see torch_threads
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    module.eval()
    result = Verification()
    generator = torch.Generator().manual_seed(1)
    channels = network.input.shape[0]
    for spatial in verification_shapes(network):
        for batch in batches:
            x = torch.randn(batch, channels, *spatial, generator=generator)
            with torch.no_grad():
                expected = module(x).numpy()
            (got,) = session.run(["output"], {"input": x.numpy()})
            if got.shape != expected.shape:
                raise VerificationError(
                    f"onnxruntime gives shape {got.shape}, torch {expected.shape} "
                    f"for input {tuple(x.shape)}"
                )
            abs_err = float(np.max(np.abs(got - expected))) if got.size else 0.0
            scale = float(np.max(np.abs(expected))) if expected.size else 0.0
            rel_err = abs_err / scale if scale > 0 else abs_err
            finite = bool(np.all(np.isfinite(got)))
            result.runs.append(
                {
                    "input_shape": list(x.shape),
                    "max_abs_error": abs_err,
                    "max_rel_error": rel_err,
                    "finite": finite,
                }
            )
            if not finite or not math.isfinite(rel_err) or rel_err > TOLERANCE:
                raise VerificationError(
                    f"onnxruntime deviates from torch by {rel_err:.3g} (relative) for input "
                    f"{tuple(x.shape)}; the tolerance is {TOLERANCE:g}"
                )
    return result


def calibration_inputs(network: ir.Network, samples: int = 64, seed: int = 2) -> np.ndarray:
    """Standard-normal inputs at the declared shape: the calibration data when none is
    given (the distribution `verify` draws from)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, *network.input.shape)).astype(np.float32)


def quantize_int8(model: bytes, calibration: np.ndarray, batch: int = 8) -> bytes:
    """Static int8 quantization with onnxruntime.quantization, calibrated on data.

    The constant subgraphs (K' = flip(K)ᵀ) are folded first, so every convolution has
    an initializer weight; then each Conv gets int8 weights (per output channel) and
    uint8 activations whose ranges are the min/max seen on `calibration` (N, C, …),
    in QDQ form, which onnxruntime runs as QLinearConv. Everything else stays float.
    The int8 model is a separate file: it is not certifiable (its weights are rounded).
    """
    import logging
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    data = np.ascontiguousarray(calibration, dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(range(0, len(data), batch))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self.batches, None)
            return None if start is None else {"input": data[start : start + batch]}

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer logs advice as warnings
    try:
        with tempfile.TemporaryDirectory(prefix="pde2net-int8-") as tmp:
            fp32, folded, int8 = (Path(tmp) / n for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
            fp32.write_bytes(model)
            quant_pre_process(str(fp32), str(folded), skip_symbolic_shape=True)
            quantize_static(
                str(folded),
                str(int8),
                Reader(),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=["Conv"],
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
            quantized = onnx.load(str(int8))
    finally:
        logging.getLogger().setLevel(quiet)
    quantized.producer_name = "pde2net"
    quantized.doc_string = "int8 (static, QDQ), compiled by pde2net"
    return quantized.SerializeToString(deterministic=True)


def compare_int8(
    fp32: bytes, int8: bytes, inputs: np.ndarray, labels: np.ndarray | None = None
) -> dict[str, object]:
    """The int8 model against the float one on `inputs`: deviation, top-1 agreement for
    classifiers, and accuracy of both when `labels` are given."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    outs = []
    for model in (fp32, int8):
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        outs.append(
            np.concatenate(
                [
                    session.run(["output"], {"input": inputs[i : i + 32]})[0]
                    for i in range(0, len(inputs), 32)
                ]
            )
        )
    ref, got = outs
    scale = float(np.max(np.abs(ref))) or 1.0
    result: dict[str, object] = {
        "samples": len(inputs),
        "max_rel_error": float(np.max(np.abs(got - ref))) / scale,
        "mean_rel_error": float(np.mean(np.abs(got - ref))) / scale,
    }
    if ref.ndim == 2 and ref.shape[1] > 1:
        result["top1_agreement"] = float(np.mean(ref.argmax(1) == got.argmax(1)))
        if labels is not None:
            result["accuracy_fp32"] = float(np.mean(ref.argmax(1) == labels))
            result["accuracy_int8"] = float(np.mean(got.argmax(1) == labels))
    return result
