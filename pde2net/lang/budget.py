"""The resource estimates of a lowered spec, layer by layer, against the budgets in force
(`lang/limits.py`): a layer that takes one over its budget is a located error that
states the estimate."""

from __future__ import annotations

import math

import sympy

from pde2net import ir
from pde2net.lang.errors import SpecError
from pde2net.lang.limits import FLOAT_BYTES, OPTIONS, Limits, show_bytes, show_count


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


# ---------------------------------------------------------------------------------------
# Estimates


def repeats(block: ir.Block) -> tuple[int, str]:
    """How often one forward pass evaluates the block's right-hand side, and how that
    count comes about (from the scheme's count arguments: steps, cycles, ...)."""
    from pde2net.schemes import REGISTRY

    scheme = REGISTRY.get(block.scheme.name)
    kinds = {a.name: a.kind for a in scheme.arguments} if scheme is not None else {}
    counts = {
        k: int(v)
        for k, v in block.scheme.args.items()
        if kinds.get(k) in ("posint", "count") and isinstance(v, int) and not isinstance(v, bool)
    }
    summed = getattr(scheme, "summed_counts", ())
    additive = [k for k in summed if k in counts]
    total, names, values = 1, [], []
    for name, value in counts.items():
        if name not in additive:
            total *= max(value, 1)
            names.append(name)
            values.append(show_count(value))
    if additive:
        total *= max(sum(counts[k] for k in additive), 1)
        names.append("(" + " + ".join(additive) + ")")
        values.append("(" + " + ".join(show_count(counts[k]) for k in additive) + ")")
    factor = scheme().repeat_factor(block) if scheme is not None else 1
    if factor > 1:
        total *= factor
        names.append("coarse visits")
        values.append(show_count(factor))
    if not names:
        return total, "one step"
    return total, f"{' × '.join(names)} = {' × '.join(values)}"


def block_tensors(block: ir.Block) -> tuple[int, int]:
    """Per evaluation: how many intermediate tensors the right-hand sides make, and the
    widest one's channel count."""
    pde = block.pde
    count = 1  # the state after the step
    widest = max(block.shape[0], 1)
    for eq in pde.equations:
        for node in sympy.preorder_traversal(eq.rhs):
            if isinstance(node, ir.APPLICATIONS) or (
                isinstance(node, sympy.Add | sympy.Mul | sympy.Pow) and node.free_symbols
            ):
                count += 1
    for weight in pde.weights.values():
        widest = max(widest, weight.c_in, weight.c_out)
    for decl in pde.stencils.values():
        widest = max(widest, block.shape[0] * decl.components)
    return count, widest


def raise_budget(message: str, loc: ir.Loc, option: str) -> SpecError:
    """The error for a budget exceeded, with how to raise it."""
    variable, flag = OPTIONS[option]
    note = f"the budget can be raised with {flag} or the environment variable {variable}"
    return SpecError(message, loc, [note])


class Budget:
    """Running totals over the layers of a network, checked as each layer is added."""

    def __init__(self, limits: Limits, file: str) -> None:
        self.limits = limits
        self.file = file
        self.parameters = 0
        self.activation_bytes = 0

    def _raise(self, message: str, loc: ir.Loc, option: str) -> None:
        raise raise_budget(message, loc, option)

    def input(self, spec: ir.InputSpec) -> None:
        self.activations(math.prod(spec.shape) * FLOAT_BYTES, "the input", spec.loc)

    def activations(self, nbytes: int, what: str, loc: ir.Loc) -> None:
        self.activation_bytes += nbytes
        limit = self.limits.max_activation_bytes
        if self.activation_bytes > limit:
            shown = show_bytes(self.activation_bytes)
            total = "" if shown == show_bytes(nbytes) else f"; with the layers before it, {shown}"
            self._raise(
                f"{what} would need about {show_bytes(nbytes)} of activation memory for "
                f"one sample (float32, batch 1){total}: over the budget of "
                f"{show_bytes(limit)}",
                loc,
                "max_activation_bytes",
            )

    def params(self, count: int, what: str, loc: ir.Loc) -> None:
        self.parameters += count
        limit = self.limits.max_parameters
        if self.parameters > limit:
            shown = show_count(self.parameters)
            total = "" if shown == show_count(count) else f"; with the layers before it, {shown}"
            self._raise(
                f"{what} would have {show_count(count)} trainable parameters{total}: over "
                f"the budget of {show_count(limit)}",
                loc,
                "max_parameters",
            )

    def steps(self, block: ir.Block, what: str) -> None:
        """Before the scheme validates the block: its evaluation count."""
        total, how = repeats(block)
        if total > self.limits.max_steps:
            self._raise(
                f"{what} would evaluate its right-hand side {show_count(total)} times per "
                f"forward pass ({how}): over the budget of {show_count(self.limits.max_steps)}",
                block.scheme.loc,
                "max_steps",
            )

    def layer(self, layer: ir.Layer, before: tuple[int, ...], after: tuple[int, ...]) -> None:
        """Add one lowered layer: its parameters and the activations it stores."""
        what = _describe(layer, before)
        self.params(layer.parameters, what, layer.loc)
        if isinstance(layer, ir.Block):
            count, widest = block_tensors(layer)
            total, how = repeats(layer)
            spatial = math.prod(before[1:])
            per_eval = count * widest * spatial * FLOAT_BYTES
            self.activations(
                per_eval * total,
                f"{what} ({count} tensors of up to {widest}x{_shape(before[1:])} floats per "
                f"evaluation, {show_count(total)} evaluations: {how})",
                layer.loc,
            )
        elif not isinstance(layer, ir.IdentityLayer):
            self.activations(math.prod(after) * FLOAT_BYTES, what, layer.loc)


def _describe(layer: ir.Layer, before: tuple[int, ...]) -> str:
    if isinstance(layer, ir.ConvLayer):
        return f"conv({'x'.join(map(str, layer.kernel))}, {layer.c_in} -> {layer.c_out})"
    if isinstance(layer, ir.LinearLayer):
        return f"linear({layer.c_in} -> {layer.c_out})"
    if isinstance(layer, ir.Block):
        return f"block {layer.pde.signature} by {layer.scheme.text}"
    if isinstance(layer, ir.ActivationLayer):
        return f"activation '{layer.function.name}' on {_shape(before)}"
    name = type(layer).__name__.removesuffix("Layer").lower()
    return f"{name} on {_shape(before)}"
