"""FLOPs of a network's forward pass, counted from the IR.

Each convolution costs 2 · (kernel size) · c_in · c_out per output point (a
multiply-add is 2 FLOPs), a transposed convolution the same, a linear layer 2 · c_in ·
c_out; inside a block, every Conv (K u) and ConvT (K' u) of a right-hand side counts
once per evaluation, and the scheme says how many evaluations a forward pass makes.
Normalizations, activations, pooling and the residual additions are not counted (they
are O(1) per value, not O(c) like the convolutions); batch norms are folded into the
convolution before them in the ONNX model.
"""

from __future__ import annotations

import math

import sympy

from pde2net import ir

# right-hand-side evaluations per forward pass, per scheme (each equation once per step)
EVALUATIONS = {
    "euler": lambda block: block.steps,
    "leapfrog": lambda block: block.steps,
    "verlet": lambda block: block.steps,
    "fed": lambda block: block.steps * int(block.scheme.args.get("cycles", 1)),
    "fsi": lambda block: block.steps * int(block.scheme.args.get("cycles", 1)),
}


def _conv_flops(kernel: tuple[int, ...], c_in: int, c_out: int, spatial: tuple[int, ...]) -> int:
    return 2 * math.prod(kernel) * c_in * c_out * math.prod(spatial)


def _rhs_flops(block: ir.Block, rhs: sympy.Expr, spatial: tuple[int, ...]) -> int:
    total = 0
    for node in sympy.preorder_traversal(rhs):
        if isinstance(node, ir.Conv | ir.ConvT):
            w = block.pde.weights[node.op]
            total += _conv_flops(w.kernel, w.c_in, w.c_out, spatial)
        elif isinstance(node, ir.Stencil):  # ir.StencilT is a Stencil too
            decl = block.pde.stencils[node.op]
            total += 2 * math.prod(decl.shape) * decl.components * node.groups * math.prod(spatial)
    return total


def network_flops(network: ir.Network) -> dict[str, object]:
    """FLOPs per input sample: the total, the share inside blocks, and per layer.

    `total` is None when a block's scheme iterates in a way not modelled here
    (implicit solvers, multigrid)."""
    channels, spatial = network.input.shape[0], tuple(network.input.shape[1:])
    layers: list[tuple[str, int | None]] = []
    for layer in network.layers:
        if isinstance(layer, ir.ConvLayer):
            spatial = tuple(
                (s + 2 * (k // 2) - k) // layer.stride + 1
                for s, k in zip(spatial, layer.kernel, strict=True)
            )
            flops = _conv_flops(layer.kernel, layer.c_in, layer.c_out, spatial)
            layers.append((f"conv {layer.c_in}->{layer.c_out}", flops))
            channels = layer.c_out
        elif isinstance(layer, ir.PoolLayer):
            spatial = tuple(s // layer.size for s in spatial)
        elif isinstance(layer, ir.GlobalPoolLayer):
            spatial = ()
        elif isinstance(layer, ir.FlattenLayer):
            channels, spatial = channels * math.prod(spatial), ()
        elif isinstance(layer, ir.LinearLayer):
            layers.append((f"linear {layer.c_in}->{layer.c_out}", 2 * layer.c_in * layer.c_out))
            channels = layer.c_out
        elif isinstance(layer, ir.Block):
            count = EVALUATIONS.get(layer.scheme.name)
            grid = tuple(layer.shape[1:])
            per_eval = sum(_rhs_flops(layer, eq.rhs, grid) for eq in layer.pde.equations)
            layers.append((layer.label, None if count is None else per_eval * count(layer)))
    known = [f for _, f in layers]
    total = None if any(f is None for f in known) else sum(known)
    blocks = sum(f or 0 for name, f in layers if name.startswith("block"))
    return {"total": total, "blocks": blocks, "layers": layers}


def measured_flops(module, shape: tuple[int, ...]) -> int:
    """torch's FlopCounterMode on one forward pass at batch 1 (a cross-check)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module.eval()(torch.zeros(1, *shape))
    return int(counter.get_total_flops())
