"""Deep blocks exported as one traced step, composed in the ONNX graph.

The TorchScript exporter spends about a millisecond per node, so a block of many equal
steps (heat at 1,000 steps: 15,000 nodes) costs a minute of tracing. A block whose steps
are all the same computation, the one step repeated (`plan.composable`), is exported with a
single step between two marker nodes, and the step's nodes are then copied `steps`
times in the graph, each copy reading the previous one's output. The written graph is
the unrolled one: the operators tracing every step gives, on the same initializers (a
`Constant` the step uses is computed once, not once per step), so onnxruntime runs it as
fast; compile still verifies it against the torch module, which runs every step. The
iterations of a single-state solver (`jacobi`, `fixed_point`) are marked the same way
and become an ONNX Loop over one iteration (onnxruntime's session setup grows faster
than the graph, 43 s for a 64,000-node unrolled Jacobi solve).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import onnx
import torch

from pde2net.plan import LOOP_MIN

DOMAIN = "pde2net.compose"
Node = onnx.NodeProto
Nodes = list[onnx.NodeProto]
SOLVER_MARKS = 1 << 20  # marks from here on are solver calls (below: block indices)


class _Mark(torch.autograd.Function):
    """Identity in torch; in the exported graph one node that marks the values a
    repeated step reads or writes (one node for all, so that none is dropped as unused:
    the next copy reads them all)."""

    @staticmethod
    def forward(ctx: Any, kind: str, mark: int, steps: int, *xs: torch.Tensor) -> Any:
        return tuple(x.clone() for x in xs)

    @staticmethod
    def symbolic(g: Any, kind: str, mark: int, steps: int, *xs: Any) -> Any:
        marked = g.op(f"{DOMAIN}::{kind}", *xs, mark_i=mark, steps_i=steps, outputs=len(xs))
        marked = marked if len(xs) > 1 else (marked,)
        for out, x in zip(marked, xs, strict=True):
            out.setType(x.type())  # the input's type and shape: shape inference goes on
        return marked


def _marked(kind: str, mark: int, steps: int, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return _Mark.apply(kind, mark, steps, *xs)


# runtime helpers whose iterations repeat one step (the count their last argument): the
# position among their arguments of the state, a tensor or a tuple of them (`repeat`)
SOLVERS = {"jacobi": 2, "fixed_point": 2, "repeat": 1}


@contextmanager
def one_step(module: torch.nn.Module, blocks: dict[int, int]) -> Iterator[None]:
    """For the duration (an export), each block `index -> steps` of `module` runs one
    step between the markers `compose_steps` expands, and so does each call of a
    single-state solver of the generated module (`jacobi`, `fixed_point`). A reversible
    block's `step` is marked (all the values it carries), any other block's `forward`."""
    saved: list[tuple[Any, str, Any]] = []
    marks = iter(range(SOLVER_MARKS, 1 << 30))  # solver calls; blocks are marked by index
    try:
        for index, steps in blocks.items():
            holder = getattr(module, f"block{index}")
            saved.append((holder, "steps", holder.steps))
            holder.steps = 1
            if stepped(holder):
                holder.step = _marked_step(holder.step, index, steps)
                continue

            def marked(u: torch.Tensor, _f=holder.forward, _i=index, _n=steps) -> torch.Tensor:
                (u,) = _marked("StepIn", _i, _n, u)
                return _marked("StepOut", _i, _n, _f(u))[0]

            holder.forward = marked
        namespace = vars(sys.modules.get(type(module).__module__, types.ModuleType("-")))
        for name, at in SOLVERS.items():
            solver = namespace.get(name)
            if not callable(solver):
                continue

            def marked_solver(*args: Any, _f=solver, _at=at) -> Any:
                *given, n = args
                if n < 2:
                    return _f(*args)
                mark, many = next(marks), isinstance(given[_at], tuple)
                state = _marked("StepIn", mark, n, *_values(given[_at]))
                given[_at] = state if many else state[0]
                out = _marked("StepOut", mark, n, *_values(_f(*given, 1)))
                return out if many else out[0]

            saved.append((namespace, name, solver))
            namespace[name] = marked_solver
        yield
    finally:
        for holder, name, value in reversed(saved):
            if isinstance(holder, dict):
                holder[name] = value
            elif name == "steps":
                holder.steps = value
                for method in ("forward", "step"):  # the class's own methods again
                    vars(holder).pop(method, None)


def stepped(holder: Any) -> bool:
    """Whether a generated block class runs its steps through `step` (and `unstep`, its
    inverse): a reversible one, whose `step` `one_step` marks instead of `forward`."""
    return all(callable(getattr(holder, m, None)) for m in ("step", "unstep"))


def _values(state: Any) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def _marked_step(step: Any, index: int, steps: int) -> Any:
    """A reversible block's step between markers of all the values it carries."""

    def marked(state: tuple[torch.Tensor, ...], j: int) -> tuple[torch.Tensor, ...]:
        return _marked("StepOut", index, steps, *step(_marked("StepIn", index, steps, *state), j))

    return marked


def compose_steps(model: onnx.ModelProto) -> onnx.ModelProto:
    """Expand every marked step into its `steps` copies and drop the markers; nested
    marks (a solver's iterations inside a block's step) from the inside out. Then, in
    every export, equal nodes are merged (`_merge_equal`)."""
    graph = model.graph
    while any(n.domain == DOMAIN for n in graph.node):
        nodes = list(graph.node)
        starts = {_attr(n, "mark"): n for n in nodes if _is(n, "StepIn")}
        ends = {_attr(n, "mark"): n for n in nodes if _is(n, "StepOut")}
        for mark in ends:  # the first step to end is the innermost, in trace order
            start = starts[mark]
            body = _body(nodes, start, ends[mark])
            if not any(n.domain == DOMAIN for n in body):  # innermost
                looped = mark >= SOLVER_MARKS and _attr(start, "steps") >= LOOP_MIN
                expand = _loop if looped else _expand
                nodes = expand(nodes, start, ends[mark], body)
                break
        else:
            raise ValueError("marked steps that do not nest")
        del graph.node[:]
        graph.node.extend(nodes)
    merged = _merge_equal(list(graph.node), {o.name for o in graph.output})
    del graph.node[:]
    graph.node.extend(merged)
    _drop_domain(model)
    return model


def _merge_equal(nodes: Nodes, kept: set[str]) -> Nodes:
    """The nodes with each computation done once: a node with the operator, attributes
    and inputs of one before it is dropped and its readers read that one's outputs.
    (A step's first copy can compute what the work before the step computed on the same
    value, a leapfrog start's f(u); and the exporter computes a ghost-cell Pad's pads
    vector again at every step.)"""
    seen: dict[tuple, Node] = {}
    renamed: dict[str, str] = {}
    out: Nodes = []
    for node in nodes:
        _rename(node, "", renamed)
        key = (
            node.domain,
            node.op_type,
            tuple(node.input),
            tuple(a.SerializeToString(deterministic=True) for a in node.attribute),
        )
        earlier = seen.get(key)
        if earlier is None or kept & set(node.output) or node.op_type.startswith("Random"):
            seen.setdefault(key, node)
            out.append(node)
            continue
        renamed.update(zip(node.output, earlier.output, strict=True))
    return out


def _is(node: Node, kind: str) -> bool:
    return node.domain == DOMAIN and node.op_type == kind


def _expand(nodes: Nodes, start: Node, end: Node, body: Nodes) -> Nodes:
    """The nodes with one marked step expanded: its copies where the end marker was,
    each reading the values the one before wrote, the last writing the end marker's
    outputs; the start marker's readers read its inputs."""
    steps, mark = _attr(end, "steps"), _attr(end, "mark")
    first = list(start.output)
    current = list(end.input)  # the carried values after the traced step
    out: Nodes = []
    for node in nodes:
        if node is not end:
            if node is not start:
                out.append(node)
            continue
        copies: Nodes = []
        for k in range(1, steps):
            suffix = f"/step{mark}.{k}"  # unique when marks nest
            copies = _copy(body, suffix, dict(zip(first, current, strict=True)))
            current = [_after(name, suffix, body, first, current) for name in end.input]
            out.extend(copies)
        out.extend(_bind(copies, current, list(end.output)))
    inputs = dict(zip(first, start.input, strict=True))
    for node in out:  # in Loop bodies too
        _rename(node, "", inputs)
    return out


def _after(name: str, suffix: str, body: Nodes, first: list[str], current: list[str]) -> str:
    """The value a copy leaves where the traced step leaves `name`: its own copy of it
    where the step computes it, the carried value the copy read where it is a start
    marker's output (passed through), else (a value from outside the step) the same."""
    if any(name in n.output for n in body):
        return f"{name}{suffix}"
    return dict(zip(first, current, strict=True)).get(name, name)


def _bind(last: Nodes, values: list[str], outputs: list[str]) -> Nodes:
    """The end markers' outputs written: by the last copy where it computes the value
    (renamed there, its readers in the copy too), else by an Identity."""
    made = {o for n in last for o in n.output}
    renamed: dict[str, str] = {}
    copied: list[tuple[str, str]] = []
    for value, output in zip(values, outputs, strict=True):
        if value in made and value not in renamed:
            renamed[value] = output
        else:
            copied.append((value, output))
    for n in last:
        _rename(n, "", renamed)
        n.output[:] = [renamed.get(o, o) for o in n.output]
    return [onnx.helper.make_node("Identity", [renamed.get(v, v)], [o]) for v, o in copied]


def _loop(nodes: Nodes, start: Node, end: Node, body: Nodes) -> Nodes:
    """The nodes with one marked step made an ONNX Loop of `steps` trips over it, where
    the end marker was: the body reads the step's inputs as its loop-carried values and
    every other value (the right-hand side, the diagonal, constants) from outside."""
    mark, steps = _attr(end, "mark"), _attr(end, "steps")
    inside = {id(n) for n in body}
    trips, cond = f"compose.trips.{mark}", f"compose.cond.{mark}"
    iteration, carried = f"compose.iteration.{mark}", f"compose.carried.{mark}"
    nodes_in = [*body, onnx.helper.make_node("Identity", [cond], [carried])]
    made = {o for n in body for o in n.output}
    results = []
    for k, name in enumerate(end.input):  # a value passed through, or twice: a copy
        if name not in made or name in results:
            copy = f"compose.out.{mark}.{k}"
            nodes_in.append(onnx.helper.make_node("Identity", [name], [copy]))
            name = copy
        results.append(name)

    def floats(names: list[str]) -> list[onnx.ValueInfoProto]:
        return [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names]

    graph = onnx.helper.make_graph(
        nodes_in,
        f"step{mark}",
        [
            onnx.helper.make_tensor_value_info(iteration, onnx.TensorProto.INT64, []),
            onnx.helper.make_tensor_value_info(cond, onnx.TensorProto.BOOL, []),
            *floats(list(start.output)),
        ],
        [onnx.helper.make_tensor_value_info(carried, onnx.TensorProto.BOOL, []), *floats(results)],
    )
    count = onnx.helper.make_node(
        "Constant",
        [],
        [trips],
        value=onnx.helper.make_tensor(trips, onnx.TensorProto.INT64, [], [steps]),
    )
    loop = onnx.helper.make_node(
        "Loop",
        [trips, "", *start.input],
        list(end.output),
        name=f"/compose/loop{mark}",
        body=graph,
    )
    out = []
    for node in nodes:
        if node is end:
            out += [count, loop]
        elif node is not start and id(node) not in inside:
            out.append(node)
    return out


def _attr(node: Node, name: str) -> int:
    return next(a.i for a in node.attribute if a.name == name)


def _body(nodes: Nodes, start: Node, end: Node) -> Nodes:
    """The step: the nodes on a path from the StepIn marker's outputs to the StepOut
    marker's inputs, in graph order."""
    produced = {o: n for n in nodes for o in n.output}
    after: set[int] = set()
    live = set(start.output)
    for n in nodes:
        if n is not end and any(i in live for i in n.input):
            after.add(id(n))
            live.update(n.output)
    before: set[int] = set()
    stack = list(end.input)
    while stack:
        name = stack.pop()
        node = produced.get(name)
        if node is None or id(node) in before or node is start:
            continue
        before.add(id(node))
        stack.extend(node.input)
    return [n for n in nodes if id(n) in after and id(n) in before]


def _copy(body: Nodes, suffix: str, carried: dict[str, str]) -> Nodes:
    """A copy of the step, its names suffixed, reading the values `carried` maps its
    start markers' outputs to."""
    inner = {o for n in body for o in n.output}
    mapping = {name: f"{name}{suffix}" for name in inner}
    mapping.update(carried)
    copies = []
    for n in body:
        c = onnx.NodeProto()
        c.CopyFrom(n)
        _rename(c, suffix, mapping)
        c.output[:] = [f"{name}{suffix}" for name in n.output]
        copies.append(c)
    return copies


def _rename(node: Node, suffix: str, mapping: dict[str, str]) -> None:
    """Suffix the node's name and read its renamed inputs, in the subgraphs it holds
    too (a Loop's body reads the step's values from outside), whose own names are
    suffixed as well, so that copies of one subgraph stay apart."""
    if node.name:
        node.name = f"{node.name}{suffix}"
    node.input[:] = [mapping.get(name, name) for name in node.input]
    for attribute in node.attribute:
        for graph in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else []:
            own = {v.name for v in graph.input} | {o for n in graph.node for o in n.output}
            local = {**mapping, **{name: f"{name}{suffix}" for name in own}}
            for value in [*graph.input, *graph.output]:
                value.name = local.get(value.name, value.name)
            for sub in graph.node:
                _rename(sub, suffix, local)
                sub.output[:] = [local.get(name, name) for name in sub.output]


def _drop_domain(model: onnx.ModelProto) -> None:
    kept = [o for o in model.opset_import if o.domain != DOMAIN]
    del model.opset_import[:]
    model.opset_import.extend(kept)
