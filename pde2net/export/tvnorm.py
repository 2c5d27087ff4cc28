"""The TV norm in a form that onnxruntime keeps in its blocked (NCHWc) layout.

onnxruntime runs a 2-D convolution whose channel counts are multiples of its block size
(8 or 16) in a blocked layout. Elementwise operators outside its short list force the
tensor back to NCHW and in again, around every norm. The exported norm

    ReduceSumSquare(z, axis 1) -> Add(eps) -> Sqrt -> Reciprocal -> Mul(z, ·)
    [-> Mul(weight) -> Add(bias)]

is rewritten with only operators that stay blocked, plus two per-point ones on a
one-channel tensor:

    Mul(z, z) -> Conv(ones 1×C×1×1, bias eps)       sum over the channels, + eps
    -> Sqrt -> Reciprocal                            one channel, NCHW
    -> Conv(ones C×1×1×1) -> Mul(z, ·)               spread back over the C channels
    [-> BatchNormalization(weight, bias, mean 0, var 1, epsilon 0)]

The BatchNormalization computes x · weight + bias exactly; onnxruntime turns it into
a depthwise convolution and fuses the activation after it. On the CIFAR-10 parabolic
network: 41.1 -> 38.7 ms at batch 32, 1.87 -> 1.65 ms at batch 1 (benchmarks/levers.py,
docs/benchmarks.md). It matches the graph that `rewrite.optimize`'s ReduceSumSquare and
Reciprocal rewrites leave.
"""

from __future__ import annotations

import numpy as np
import onnx

from pde2net.export.graph import constant_values, consumers

BLOCK = 16  # the largest NCHWc block size of onnxruntime's CPU kernels (AVX-512)
PREFIX = "pde2net.tvnorm"


def rewrite(graph: onnx.GraphProto, shapes: dict[str, list[int | str]]) -> int:
    """Rewrite each TV norm over a 4-D tensor whose channel count is a multiple of
    BLOCK (`shapes` gives the tensors' shapes); return how many were rewritten."""
    users = consumers(graph)
    outputs = {o.name for o in graph.output}
    dims = {t.name: list(t.dims) for t in graph.initializer}
    small = constant_values(graph)
    producer = {name: node for node in graph.node for name in node.output}
    added: dict[str, onnx.TensorProto] = {}
    replace: dict[int, list[onnx.NodeProto]] = {}  # id of a chain's last node -> new nodes
    removed: set[int] = set()

    def single(name: str, op: str) -> onnx.NodeProto | None:
        nodes = users.get(name, [])
        ok = len(nodes) == 1 and nodes[0].op_type == op and name not in outputs
        return nodes[0] if ok else None

    def constant(name: str, value: np.ndarray) -> str:
        if name not in added:
            added[name] = onnx.numpy_helper.from_array(value, name)
        return name

    def other(node: onnx.NodeProto, name: str) -> str | None:
        rest = [i for i in node.input if i != name]
        return rest[0] if len(node.input) == 2 and len(rest) == 1 else None

    def per_channel(name: str | None, channels: int) -> bool:
        """A constant of shape 1×C×1×1 (an initializer, maybe behind Identity nodes)."""
        while name is not None and name not in dims:
            node = producer.get(name)
            name = node.input[0] if node is not None and node.op_type == "Identity" else None
        return name is not None and dims[name] == [1, channels, 1, 1]

    for count, node in enumerate(n for n in graph.node if n.op_type == "ReduceSumSquare"):
        z = node.input[0]
        shape = shapes.get(z)
        if shape is None or len(shape) != 4 or not isinstance(shape[1], int):
            continue
        c = shape[1]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        axes = small.get(node.input[1]) if len(node.input) > 1 else attrs.get("axes")
        if c % BLOCK or axes is None or [int(a) % 4 for a in np.ravel(axes)] != [1]:
            continue
        if not attrs.get("keepdims", 1):
            continue
        add = single(node.output[0], "Add")
        eps = small.get(other(add, node.output[0]) or "") if add is not None else None
        if eps is None or eps.size != 1:
            continue
        sqrt = single(add.output[0], "Sqrt")
        rec = single(sqrt.output[0], "Reciprocal") if sqrt is not None else None
        mul = single(rec.output[0], "Mul") if rec is not None else None
        if mul is None or other(mul, rec.output[0]) != z:
            continue
        chain = [node, add, sqrt, rec, mul]
        scale = single(mul.output[0], "Mul")
        weight = other(scale, mul.output[0]) if scale is not None else None
        shift = single(scale.output[0], "Add") if scale is not None else None
        bias = other(shift, scale.output[0]) if shift is not None else None
        affine = per_channel(weight, c) and per_channel(bias, c)

        p = f"{PREFIX}{count}/"
        ones = np.ones
        new = [
            _make("Mul", [z, z], p + "square"),
            _make(
                "Conv",
                [
                    p + "square",
                    constant(f"{PREFIX}.sum{c}", ones((1, c, 1, 1), np.float32)),
                    constant(f"{p}eps", np.full(1, float(eps.ravel()[0]), np.float32)),
                ],
                add.output[0],
                kernel_shape=[1, 1],
            ),
            sqrt,
            rec,
            _make(
                "Conv",
                [rec.output[0], constant(f"{PREFIX}.spread{c}", ones((c, 1, 1, 1), np.float32))],
                p + "spread",
                kernel_shape=[1, 1],
            ),
            _make("Mul", [z, p + "spread"], mul.output[0]),
        ]
        if affine:
            flat = constant(f"{PREFIX}.shape{c}", np.array([c], np.int64))
            new += [
                _make("Reshape", [weight, flat], p + "weight"),
                _make("Reshape", [bias, flat], p + "bias"),
                _make(
                    "BatchNormalization",
                    [
                        mul.output[0],
                        p + "weight",
                        p + "bias",
                        constant(f"{PREFIX}.zeros{c}", np.zeros(c, np.float32)),
                        constant(f"{PREFIX}.ones{c}", ones(c, np.float32)),
                    ],
                    shift.output[0],
                    epsilon=0.0,
                ),
            ]
            chain += [scale, shift]
        removed.update(id(n) for n in chain)
        replace[id(chain[-1])] = new
    if not replace:
        return 0
    nodes = []
    for node in graph.node:
        if id(node) in replace:
            nodes += replace[id(node)]
        elif id(node) not in removed:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added.values())
    return len(replace)


def _make(op: str, inputs: list[str], output: str, **attrs: object) -> onnx.NodeProto:
    return onnx.helper.make_node(op, inputs, [output], name=output, **attrs)
