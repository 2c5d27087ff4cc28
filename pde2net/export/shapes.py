"""Intermediate tensor shapes written into the graph, in the input's symbolic sizes.

ONNX's own shape inference loses the spatial sizes at the first convolution of a
dynamic-size input; onnxruntime needs them to prove that two tensors have one shape
(to fuse a residual addition into the convolution before it, or to keep an elementwise
product in its blocked NCHWc layout).
"""

from __future__ import annotations

import numpy as np
import onnx

from pde2net.export.graph import FLIP, constant_values

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


def annotate(graph: onnx.GraphProto) -> None:
    """Add value_info for every float tensor of the graph whose shape `infer` derives."""
    shapes, types = infer(graph)
    described = {vi.name for vi in (*graph.input, *graph.output, *graph.value_info)}
    described |= {t.name for t in graph.initializer}
    for node in graph.node:
        for name in node.output:
            if name in shapes and name not in described and types[name] == onnx.TensorProto.FLOAT:
                graph.value_info.append(
                    onnx.helper.make_tensor_value_info(name, types[name], shapes[name])
                )
                described.add(name)


def infer(graph: onnx.GraphProto) -> tuple[dict[str, Dims], dict[str, int]]:
    """The shapes (and element types) of the tensors that follow from the graph input's
    dims (sizes or symbolic names) through the operators this exporter emits.

    A size-preserving convolution (stride 1, pads summing to kernel - 1) keeps a
    symbolic size; a pool of kernel = stride k without padding turns size s into the
    name "s/k" (floor(s / k), the same for every such pool of s). Anything not derived
    exactly is left out, so what is derived holds for every input the model accepts."""
    shapes: dict[str, Dims] = {}
    types: dict[str, int] = {}
    values = constant_values(graph)
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
    return shapes, types


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
    if op == "Slice" and all(i.startswith(FLIP) for i in node.input[1:]):
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
