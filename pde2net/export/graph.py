"""Small helpers over ONNX graphs that the rewrites and the shape annotation share."""

from __future__ import annotations

import numpy as np
import onnx

# Slice inputs that reverse the last `d` axes of a kernel (d = 1, 2, 3).
FLIP = "pde2net.flip"


def consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    """The nodes reading each tensor, in graph order."""
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    return users


def subgraph_inputs(graph: onnx.GraphProto) -> set[str]:
    """Names that control-flow subgraphs (If, Loop, Scan) read, at any depth."""
    names: set[str] = set()
    for node in graph.node:
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                names.update(name for n in sub.node for name in n.input)
                names |= subgraph_inputs(sub)
    return names


def all_nodes(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """The graph's nodes and, after each control-flow node, those of its subgraphs (a
    Loop's body: export/compose.py), at any depth."""
    found = []
    for node in graph.node:
        found.append(node)
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                found += all_nodes(sub)
    return found


def kernel_from(initializers: dict[str, onnx.TensorProto], weight: str) -> list[int]:
    tensor = initializers.get(weight)
    return list(tensor.dims[2:]) if tensor is not None else []


def constant_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Small constant tensors by name: Constant nodes' values and initializers."""
    values = {t.name: t for t in graph.initializer if np.prod(t.dims) <= 16}
    result = {name: onnx.numpy_helper.to_array(t) for name, t in values.items()}
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1:
            attr = node.attribute[0]
            if attr.name == "value" and np.prod(attr.t.dims) <= 16:
                result[node.output[0]] = onnx.numpy_helper.to_array(attr.t)
    return result


def is_one(value: np.ndarray | None) -> bool:
    return value is not None and value.size >= 1 and bool(np.all(value == 1))
