"""Integer arithmetic on constants, done once at compile time instead of in every graph.

The TorchScript exporter writes a ghost-cell `Pad`'s pads vector as a dozen nodes
(ConstantOfShape, Concat, Reshape, a reversing Slice, Transpose, Reshape, Cast) on
Constants. onnxruntime folds them when it loads the model, but ONNX's shape inference
does not: after the first Pad every spatial size of the graph is unknown, for tools that
read the file and for the traffic count of `benchmarks/roofline.py`. Here every node
whose inputs are all Constant nodes and whose outputs are integers (shape arithmetic,
never a learned or floating-point value) becomes the Constant it computes, with NumPy;
the values are exact, so nothing a network computes changes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import numpy_helper

Array = np.ndarray


def _attrs(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _constant_of_shape(node: onnx.NodeProto, shape: Array) -> Array:
    value = _attrs(node).get("value")
    fill = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    return np.full(tuple(int(n) for n in shape), fill.reshape(-1)[0], dtype=fill.dtype)


def _reshape(node: onnx.NodeProto, data: Array, shape: Array) -> Array:
    target = [int(n) for n in shape]
    if not _attrs(node).get("allowzero", 0):
        target = [data.shape[i] if n == 0 else n for i, n in enumerate(target)]
    return data.reshape(target)


def _slice(node: onnx.NodeProto, data: Array, starts: Array, ends: Array, *rest: Array) -> Array:
    axes = [int(a) for a in rest[0]] if rest else list(range(len(starts)))
    steps = [int(s) for s in rest[1]] if len(rest) > 1 else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
        index[axis] = slice(int(start), int(end), step)
    return data[tuple(index)]


def _cast(node: onnx.NodeProto, data: Array) -> Array:
    return data.astype(onnx.helper.tensor_dtype_to_np_dtype(int(_attrs(node)["to"])))


def _axes(node: onnx.NodeProto, rest: tuple[Array, ...]) -> tuple[int, ...] | None:
    given = rest[0] if rest else _attrs(node).get("axes")
    return None if given is None else tuple(int(a) for a in given)


def _unsqueeze(node: onnx.NodeProto, data: Array, *rest: Array) -> Array:
    out = data
    for axis in sorted(a % (data.ndim + len(_axes(node, rest))) for a in _axes(node, rest)):
        out = np.expand_dims(out, axis)
    return out


def _squeeze(node: onnx.NodeProto, data: Array, *rest: Array) -> Array:
    axes = _axes(node, rest)
    return np.squeeze(data) if axes is None else np.squeeze(data, axis=axes)


EVALUATORS: dict[str, Callable[..., Array]] = {
    "ConstantOfShape": _constant_of_shape,
    "Concat": lambda node, *xs: np.concatenate(xs, axis=int(_attrs(node)["axis"])),
    "Reshape": _reshape,
    "Slice": _slice,
    "Transpose": lambda node, x: np.transpose(x, _attrs(node).get("perm")),
    "Cast": _cast,
    "Add": lambda node, a, b: a + b,
    "Sub": lambda node, a, b: a - b,
    "Mul": lambda node, a, b: a * b,
    "Neg": lambda node, a: -a,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Gather": lambda node, x, i: np.take(x, i, axis=int(_attrs(node).get("axis", 0))),
    "Identity": lambda node, x: x,
}


def fold_integer_constants(graph: onnx.GraphProto) -> int:
    """Replace each node computed from Constant nodes alone with integer results by the
    Constant it computes (in this graph and the subgraphs of its Loops); the number of
    nodes folded. The Constants they read are left for dead-code elimination."""
    folded = 0
    known: dict[str, Array] = {}
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                folded += fold_integer_constants(attr.g)
        value = _fold(node, known)
        if value is None:
            nodes.append(node)
            continue
        if node.op_type != "Constant":
            folded += 1
            node = onnx.helper.make_node(
                "Constant",
                [],
                [node.output[0]],
                name=node.name or node.output[0],
                value=numpy_helper.from_array(value),
            )
        known[node.output[0]] = value
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    return folded


def _fold(node: onnx.NodeProto, known: dict[str, Array]) -> Array | None:
    """The node's one output as a constant, if it is a Constant or an integer result of
    constants only (None otherwise, or where NumPy cannot say it exactly)."""
    if node.domain not in ("", "ai.onnx") or len(node.output) != 1:
        return None
    if node.op_type == "Constant":
        attrs = _attrs(node)
        return numpy_helper.to_array(attrs["value"]) if set(attrs) == {"value"} else None
    evaluate = EVALUATORS.get(node.op_type)
    inputs = list(node.input)  # an omitted optional input ("") is not folded either
    if evaluate is None or not inputs or any(name not in known for name in inputs):
        return None
    try:
        value = np.asarray(evaluate(node, *(known[name] for name in inputs)))
    except (ValueError, IndexError, TypeError, KeyError):
        return None
    return value if value.dtype.kind in "iu" else None
