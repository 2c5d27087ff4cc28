"""Deep blocks exported as one traced step, composed in the ONNX graph.

The TorchScript exporter spends about a millisecond per node, so a block of many equal
steps (heat at 1,000 steps: 15,000 nodes) costs a minute of tracing. A block whose steps
are all the same computation, the one step repeated (`composable`), is exported with a
single step between two marker nodes, and the step's nodes are then copied `steps`
times in the graph, each copy reading the previous one's output. The written graph is
the unrolled one: the operators tracing every step gives, on the same initializers (a
`Constant` the step uses is computed once, not once per step), so onnxruntime runs it as
fast; compile still verifies it against the torch module, which runs every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import onnx
import torch

from pde2net import ir
from pde2net.schemes import update as up

DOMAIN = "pde2net.compose"
MIN_STEPS = 4  # fewer steps are traced as they are


def composable(block: ir.Block, update: up.Update | None) -> bool:
    """Whether every step of the block computes the same function of its input: the
    update is one loop of `steps` over the states, and no step has weights of its own."""
    if update is None or update.reversible is not None or block.steps < MIN_STEPS:
        return False
    if any(isinstance(v, tuple) for v in update.numbers.values()):
        return False  # per-step numbers (a FED cycle's step sizes)
    if not block.shared and (block.pde.weights or block.pde.norms):
        return False  # each step its own weights
    (loop,) = update.body if len(update.body) == 1 else (None,)
    return (
        isinstance(loop, up.Loop)
        and loop.over is None
        and loop.count == up.Number("steps")
        and not loop.reverse
    )


class _Mark(torch.autograd.Function):
    """Identity in torch; in the exported graph a node that marks a block's step."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kind: str, index: int, steps: int) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def symbolic(g: Any, x: Any, kind: str, index: int, steps: int) -> Any:
        marked = g.op(f"{DOMAIN}::{kind}", x, block_i=index, steps_i=steps)
        marked.setType(x.type())  # the input's type and shape: shape inference goes on
        return marked


@contextmanager
def one_step(module: torch.nn.Module, blocks: dict[int, int]) -> Iterator[None]:
    """For the duration (an export), each block `index -> steps` of `module` runs one
    step between the markers `compose_steps` expands."""
    saved = []
    try:
        for index, steps in blocks.items():
            holder = getattr(module, f"block{index}")
            forward = holder.forward

            def marked(u: torch.Tensor, _f=forward, _i=index, _n=steps) -> torch.Tensor:
                u = _Mark.apply(u, "StepIn", _i, _n)
                return _Mark.apply(_f(u), "StepOut", _i, _n)

            saved.append((holder, holder.steps))
            holder.steps = 1
            holder.forward = marked
        yield
    finally:
        for holder, steps in saved:
            holder.steps = steps
            del holder.forward  # the class's own forward again


def compose_steps(model: onnx.ModelProto) -> onnx.ModelProto:
    """Expand every marked step into its `steps` copies and drop the markers."""
    graph = model.graph
    nodes = list(graph.node)
    starts = {_attr(n, "block"): n for n in nodes if n.domain == DOMAIN and n.op_type == "StepIn"}
    ends = {_attr(n, "block"): n for n in nodes if n.domain == DOMAIN and n.op_type == "StepOut"}
    if not starts:
        return model
    rename: dict[str, str] = {}  # marker outputs -> what now holds their value
    out: list[onnx.NodeProto] = []
    bodies = {index: _body(nodes, starts[index], ends[index]) for index in starts}
    for node in nodes:
        if node.domain == DOMAIN and node.op_type == "StepIn":
            rename[node.output[0]] = node.input[0]
            continue
        if node.domain == DOMAIN and node.op_type == "StepOut":
            index, steps = _attr(node, "block"), _attr(node, "steps")
            body, first_in = bodies[index], starts[index].output[0]
            last = node.input[0]
            for k in range(1, steps):
                copies = _copy(body, k, first_in, last)
                last = f"{node.input[0]}/step{k}"
                if k == steps - 1:  # the last step writes what the marker wrote
                    for c in copies:
                        c.output[:] = [node.output[0] if o == last else o for o in c.output]
                out.extend(copies)
            continue
        out.append(node)
    for node in out:
        for i, name in enumerate(node.input):
            while name in rename:
                name = rename[name]
            node.input[i] = name
    del graph.node[:]
    graph.node.extend(out)
    _drop_domain(model)
    return model


def _attr(node: onnx.NodeProto, name: str) -> int:
    return next(a.i for a in node.attribute if a.name == name)


def _body(
    nodes: list[onnx.NodeProto], start: onnx.NodeProto, end: onnx.NodeProto
) -> list[onnx.NodeProto]:
    """The step: the nodes on a path from the StepIn marker's output to the StepOut
    marker's input, in graph order."""
    produced = {o: n for n in nodes for o in n.output}
    after: set[int] = set()
    live = {start.output[0]}
    for n in nodes:
        if n is not end and any(i in live for i in n.input):
            after.add(id(n))
            live.update(n.output)
    before: set[int] = set()
    stack = [end.input[0]]
    while stack:
        name = stack.pop()
        node = produced.get(name)
        if node is None or id(node) in before or node is start:
            continue
        before.add(id(node))
        stack.extend(node.input)
    return [n for n in nodes if id(n) in after and id(n) in before]


def _copy(body: list[onnx.NodeProto], k: int, first_in: str, previous: str) -> list[onnx.NodeProto]:
    """Copy k of the step, reading `previous` where the step read its input."""
    inner = {o for n in body for o in n.output}
    copies = []
    for n in body:
        c = onnx.NodeProto()
        c.CopyFrom(n)
        if c.name:
            c.name = f"{n.name}/step{k}"
        for i, name in enumerate(n.input):
            if name == first_in:
                c.input[i] = previous
            elif name in inner:
                c.input[i] = f"{name}/step{k}"
        for i, name in enumerate(n.output):
            c.output[i] = f"{name}/step{k}"
        copies.append(c)
    return copies


def _drop_domain(model: onnx.ModelProto) -> None:
    kept = [o for o in model.opset_import if o.domain != DOMAIN]
    del model.opset_import[:]
    model.opset_import.extend(kept)
