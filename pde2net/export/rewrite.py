"""Rewrites of the exported ONNX graph that make onnxruntime run it faster.

Each rewrite computes the same function; `export.onnx.verify` checks the result against
torch. The keywords of `optimize` switch single rewrites off, so benchmarks/levers.py
can measure what each is worth.
"""

from __future__ import annotations

import numpy as np
import onnx

from pde2net.export import shapes, tvnorm
from pde2net.export.fold import fold_integer_constants
from pde2net.export.graph import (
    FLIP,
    constant_values,
    consumers,
    is_one,
    kernel_from,
    subgraph_inputs,
)

_INT64_MIN = -(2**63)


def optimize(
    model: onnx.ModelProto,
    *,
    adjoint_as_conv: bool = True,
    sum_square: bool = True,
    reciprocal: bool = True,
    blocked_norm: bool = True,
    annotate: bool = True,
    fold: bool = True,
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
    - The TV norm is rewritten with operators that onnxruntime keeps in its blocked
      NCHWc layout (`tvnorm.rewrite`), so no tensor is reordered around a norm.
    - Integer arithmetic on constants (the exporter's pads vector of every ghost-cell
      `Pad`) is done here, once (`fold.fold_integer_constants`), so that ONNX's shape
      inference and the annotation below see constant pads.
    - The shapes of the intermediate tensors are written into the graph (value_info) in
      terms of the input's symbolic sizes (`shapes.annotate`). ONNX's own inference
      loses the spatial sizes at the first convolution of a dynamic-size input;
      onnxruntime needs them to see that a block's residual addition adds two tensors
      of one shape, and only then fuses it into the convolution before it.

    The result is checked with the ONNX checker; `verify` then checks it against torch.
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    if fold:
        fold_integer_constants(graph)
    users = consumers(graph)
    outputs = {o.name for o in graph.output}
    constants = constant_values(graph)
    initializers = {t.name: t for t in graph.initializer}

    def only_consumer(name: str) -> onnx.NodeProto | None:
        readers = users.get(name, [])
        return readers[0] if len(readers) == 1 and name not in outputs else None

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
            kernel = list(attrs.get("kernel_shape") or kernel_from(initializers, node.input[1]))
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
                parts = [f"{FLIP}{d}.{p}" for p in ("starts", "ends", "axes", "steps")]
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
        if reciprocal and node.op_type == "Div" and is_one(constants.get(node.input[0])):
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
                onnx.numpy_helper.from_array(np.array(value, dtype=np.int64), f"{FLIP}{d}.{part}")
            )
    del graph.node[:]
    graph.node.extend(nodes)
    if blocked_norm:
        tvnorm.rewrite(graph, shapes.infer(graph)[0])
    _drop_dead(graph)
    if annotate:
        shapes.annotate(graph)
    onnx.checker.check_model(model, full_check=True)
    return model


def _drop_dead(graph: onnx.GraphProto) -> None:
    """Drop the nodes and initializers that no longer feed the output (the constant 1
    of a rewritten Div, the eps of a rewritten norm)."""
    live = {o.name for o in graph.output} | subgraph_inputs(graph)
    kept: list[onnx.NodeProto] = []
    for node in reversed(graph.node):
        if any(name in live for name in node.output):
            live.update(node.input)
            kept.append(node)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    keep = [c for c in graph.initializer if c.name in live]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def optimize_bytes(model: bytes, **rewrites: bool) -> bytes:
    """`optimize` on serialised bytes, serialised deterministically."""
    optimized = optimize(onnx.load_from_string(model), **rewrites)
    return optimized.SerializeToString(deterministic=True)


def _node(op: str, inputs: list[str], outputs: list[str], name: str) -> onnx.NodeProto:
    return onnx.helper.make_node(op, inputs, outputs, name=name)
