"""What compiling a network will cost, estimated from the IR before anything is built.

`compile` traces the generated module into an ONNX graph (one node per operation of
every unrolled step), runs it in torch and onnxruntime at a few batch and spatial sizes,
and holds the weights several times over (module, trace, ONNX proto, serialised bytes).
Its time grows with the graph's nodes and the arithmetic of a forward pass, its memory
with the widest tensor and the weights. `estimate` counts these from the IR alone;
`enforce` refuses, with a located error naming the budget and the estimate, a network
that would take compile past one of the budgets of pde2net.lang.limits (`max_nodes`,
`max_operations`, `max_compile_bytes`). The constants are fitted to measured compiles
(docs/language.md, "Resource limits"). `check` does not build anything and only warns.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import sympy

from pde2net import ir
from pde2net.lang.budget import raise_budget, repeats
from pde2net.lang.errors import SpecError
from pde2net.lang.limits import FLOAT_BYTES, Limits, show_bytes, show_count

# Fitted on compiles of the shipped specs and of scaled ones (docs/language.md):
NODES_PER_TENSOR = 8  # ONNX nodes per intermediate tensor of one right-hand-side evaluation
NODES_PER_DIM = 6  # and per spatial dimension (padding, slicing at the boundaries)
NODES_PER_LAYER = 3  # a conv, pool, norm or linear layer (with its bias, padding, reshape)
# Operations are weighted by what they cost on a CPU, a dense multiply-add counting 1:
ELEMENT_COST = 10  # one element of an intermediate tensor (memory-bound)
STENCIL_COST = 100  # one multiply-add of a fixed stencil (a depthwise, grouped convolution)
BASE_BYTES = 400 * 2**20  # torch, onnx and onnxruntime loaded, a small network compiled
TENSOR_COPIES = 20  # the widest one-sample tensor, live at once across trace and runs
PARAMETER_COPIES = 7  # the weights: module, trace, proto, bytes, onnxruntime session


@dataclass
class Cost:
    """A network's estimated compile cost; each total with the layer that reaches it."""

    nodes: int = 0
    operations: int = 0  # weighted operations of a one-sample forward pass (see ELEMENT_COST)
    widest: int = 0  # elements of the largest one-sample tensor
    parameters: int = 0

    @property
    def compile_bytes(self) -> int:
        return (
            BASE_BYTES
            + TENSOR_COPIES * self.widest * FLOAT_BYTES
            + PARAMETER_COPIES * self.parameters * FLOAT_BYTES
        )


def shapes(network: ir.Network) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The (channels, *spatial) shape entering and leaving each layer."""
    shape = network.input.shape
    result = []
    for layer in network.layers:
        after = _after(layer, shape)
        result.append((shape, after))
        shape = after
    return result


def _after(layer: ir.Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
    channels, spatial = shape[0], shape[1:]
    if isinstance(layer, ir.ConvLayer):
        return (layer.c_out, *(s // layer.stride for s in spatial))
    if isinstance(layer, ir.PoolLayer):
        return (channels, *(s // layer.size for s in spatial))
    if isinstance(layer, ir.GlobalPoolLayer):
        return (channels,)
    if isinstance(layer, ir.FlattenLayer):
        return (math.prod(shape),)
    if isinstance(layer, ir.LinearLayer):
        return (layer.c_out,)
    return shape


def _expression_size(expr: sympy.Expr) -> int:
    """Operations a pointwise function's expression prints to (at least one)."""
    return max(1, sum(1 for node in sympy.preorder_traversal(expr) if node.args))


def _block_cost(block: ir.Block) -> tuple[int, int, int, str]:
    """Nodes, operations and widest tensor of one block over all its evaluations, and
    how the evaluation count comes about."""
    from pde2net.lang.budget import block_tensors

    evaluations, how = repeats(block)
    tensors, widest_channels = block_tensors(block)
    spatial = math.prod(block.shape[1:])
    dims = len(block.shape) - 1
    pde = block.pde
    per_eval_ops = ELEMENT_COST * tensors * widest_channels * spatial
    for eq in pde.equations:
        for node in sympy.preorder_traversal(eq.rhs):
            if isinstance(node, ir.Conv | ir.ConvT) and node.op in pde.weights:
                weight = pde.weights[node.op]
                per_eval_ops += int(math.prod(weight.kernel) * weight.c_in * weight.c_out) * spatial
            elif isinstance(node, ir.Stencil) and node.op in pde.stencils:
                decl = pde.stencils[node.op]
                macs = int(math.prod(decl.shape) * decl.components * node.groups) * spatial
                per_eval_ops += STENCIL_COST * macs
            elif isinstance(node, ir.Act):
                per_eval_ops += ELEMENT_COST * spatial * widest_channels
    per_eval_nodes = NODES_PER_TENSOR * tensors + NODES_PER_DIM * dims
    return (
        int(evaluations // _looped(block) * per_eval_nodes),
        int(evaluations * per_eval_ops),
        int(widest_channels * spatial),
        how if evaluations > 1 else "",
    )


def _looped(block: ir.Block) -> int:
    """How many of the evaluations one ONNX Loop body stands for (the product of the
    counts the scheme says the export loops over)."""
    from pde2net.schemes import REGISTRY

    scheme = REGISTRY.get(block.scheme.name)
    names = scheme().looped_counts(block) if scheme is not None else ()
    return math.prod(max(int(block.scheme.args[n]), 1) for n in names)


def _layer_cost(
    layer: ir.Layer, before: tuple[int, ...], after: tuple[int, ...]
) -> tuple[int, int, int, str]:
    """Nodes, operations, widest tensor and a few words on how they come about."""
    if isinstance(layer, ir.Block):
        return _block_cost(layer)
    elements = max(math.prod(before), math.prod(after))
    if isinstance(layer, ir.ConvLayer):
        macs = math.prod(layer.kernel) * layer.c_in * layer.c_out * math.prod(after[1:])
        return NODES_PER_LAYER, macs + ELEMENT_COST * math.prod(after), elements, ""
    if isinstance(layer, ir.LinearLayer):
        return NODES_PER_LAYER, layer.c_in * layer.c_out + layer.c_out, elements, ""
    if isinstance(layer, ir.ActivationLayer):
        size = 1 if layer.function.builtin else _expression_size(layer.function.expr)
        return size, ELEMENT_COST * size * elements, elements, ""
    if isinstance(layer, ir.IdentityLayer):
        return 0, 0, elements, ""
    return NODES_PER_LAYER, ELEMENT_COST * NODES_PER_LAYER * elements, elements, ""


def _running(network: ir.Network) -> Iterator[tuple[Cost, ir.Layer, str]]:
    """The totals after each layer, with the layer and a few words on it."""
    cost = Cost(widest=math.prod(network.input.shape))
    for layer, (before, after) in zip(network.layers, shapes(network), strict=True):
        nodes, operations, widest, how = _layer_cost(layer, before, after)
        cost.nodes += nodes
        cost.operations += operations
        cost.parameters += layer.parameters
        cost.widest = max(cost.widest, widest)
        yield cost, layer, _what(layer, how)


def estimate(network: ir.Network) -> Cost:
    """The compile cost of `network`, from the IR alone (nothing is allocated)."""
    totals = [cost for cost, _, _ in _running(network)]
    return totals[-1] if totals else Cost(widest=math.prod(network.input.shape))


def _what(layer: ir.Layer, how: str) -> str:
    if isinstance(layer, ir.Block):
        count = f": {how} evaluations" if how else ""
        return f"block {layer.pde.signature} by {layer.scheme.text}{count}"
    return type(layer).__name__.removesuffix("Layer").lower() + " layer"


_CHECKS = (
    ("max_nodes", "nodes", show_count, "unrolls to ~{} graph nodes"),
    (
        "max_operations",
        "operations",
        show_count,
        "needs ~{} weighted operations per sample and forward pass (a multiply-add counts "
        f"1, a tensor element {ELEMENT_COST}, a stencil multiply-add {STENCIL_COST})",
    ),
    ("max_compile_bytes", "compile_bytes", show_bytes, "would need ~{} of memory to compile"),
)


def problems(network: ir.Network, limits: Limits) -> list[SpecError]:
    """A located error for each compile budget the network would exceed, at the layer
    where the running total passes it."""
    steps = [(dataclasses.replace(cost), layer, words) for cost, layer, words in _running(network)]
    total = steps[-1][0] if steps else Cost(widest=math.prod(network.input.shape))
    found = []
    for option, key, show, text in _CHECKS:
        limit = getattr(limits, option)
        if getattr(total, key) <= limit:
            continue
        loc, what = next(
            ((layer.loc, words) for cost, layer, words in steps if getattr(cost, key) > limit),
            (network.loc, "the network"),
        )
        message = (
            f"this network {text.format(show(getattr(total, key)))}; the budget is "
            f"{show(limit)} (passed at {what})"
        )
        found.append(raise_budget(message, loc, option))
    return found


def enforce(network: ir.Network, limits: Limits) -> None:
    """Refuse (SpecError, exit 2) a network whose compile would exceed a budget."""
    found = problems(network, limits)
    if found:
        raise found[0]
