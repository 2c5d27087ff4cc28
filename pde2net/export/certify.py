"""Stability certificates for trained weights, derived from the spec, not read from the file.

`compile` (and `train`) embed the spec in the ONNX model's metadata (`pde2net.spec`: its
source, the `--set` values, the file name, pde2net's version). `certify` trusts nothing
else in the file: it recompiles that spec (the analysis, the generated module at a fixed
seed, the export `compile` uses), refuses the file unless its graph is exactly the graph
the spec compiles to (nodes in order with their attributes and wiring, the graph's inputs
and outputs, the opset, the initializers' names, shapes and types; only the values of
initializers that depend on learned parameters may differ, every other one is pinned to
its compiled value), derives the conditions from the recompiled report, and encloses
‖K‖₂ of every learned convolution of the file in an interval (`export/norms.py`): an upper
bound valid at every input size (the sup of the Fourier symbol, bounded between samples
by Bernstein's inequality) and a lower bound at the grid the kernel sees (power
iteration). A condition is *certified* when the upper bounds satisfy it, *violated* when
the lower bounds break it, and *undecided* in between. The recipe compile also embeds
(`pde2net.certificate`) is for information only; certify never reads it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from threadpoolctl import threadpool_limits

from pde2net.export import norms, references

KEY = "pde2net.certificate"  # the recipe: for information, never read by certify
SPEC_KEY = "pde2net.spec"  # the embedded spec certify recompiles
SPEC_FORMAT = 1
MAX_SPEC_BYTES = 1 << 22  # the embedded spec entry (source and --set values), as JSON
MAX_OVERRIDES = 256
Digests = dict[str, bytes]  # initializer name -> SHA-256 of its serialization
ITERATIONS = 1000  # at most; power iteration stops once the estimate settles (operator_norm)
EXIT_CERTIFIED, EXIT_VIOLATED, EXIT_UNDECIDED = 0, 1, 4
EXIT_UNREADABLE, EXIT_REFUSED = 2, 5
VERDICT_EXIT = {"certified": EXIT_CERTIFIED, "violated": EXIT_VIOLATED, "undecided": EXIT_UNDECIDED}
MAX_MODEL_BYTES = 1 << 30  # a larger file is refused before it is parsed
MAX_SIZE = 1 << 16  # per spatial axis, for --input-shape
REMEMBER_NODES = 2000  # compile caches the reference of graphs up to this size (see remember)
BUDGET = 0.5  # seconds (by norms' cost model) for all branch-and-bound runs together


class CertifyError(ValueError):
    """A model or input shape certify cannot read: a clear message, exit 2."""

    exit_code = EXIT_UNREADABLE


class RefusedError(CertifyError):
    """Not a pde2net model, or tampered with: no embedded spec, a spec that no longer
    compiles, or a graph other than the one the spec compiles to. Exit 5."""

    exit_code = EXIT_REFUSED


# -- compile side: the recipe and the export with the enforced scale folded ---------------


def recipe(compiled: Any, model: onnx.ModelProto) -> dict[str, Any]:
    """Which initializers hold which block weights, and the bounds each must satisfy.

    The initializers are found by name: `export_compiled` exports inside `folded`, so
    every block weight keeps its parameter's name (`block1.K.0`), enforced or not."""
    initializers = {i.name for i in model.graph.initializer}
    blocks = []
    for block, report in zip(compiled.plan.blocks, compiled.report["blocks"], strict=True):
        attrs = compiled.weights.get(block.index, {})
        conditions = []
        for check in report["checks"]:
            requires = check["requires"]  # the typed condition the analysis left to K
            if requires is None:
                continue
            weights = {}
            for name in requires["weights"]:
                attr = attrs[name]
                names = []
                for j in range(block.copies):
                    held = f"block{block.index}.{attr}.{j}"
                    if held not in initializers:
                        raise LookupError(f"the exported model has no initializer {held}")
                    names.append(held)
                weights[name] = {
                    "initializers": names,
                    "padding": [k // 2 for k in block.kernels[name]],
                }
            conditions.append(
                {
                    "check": check["name"],
                    "kind": requires["kind"],
                    "bound": requires["bound"],
                    "weights": weights,
                }
            )
        if conditions or report["status"] in ("unverified", "violated"):
            blocks.append(
                {
                    "name": report["name"],
                    "scheme": report["scheme"],
                    "status": report["status"],
                    "spatial": list(block.shape[1:]),
                    "conditions": conditions,
                }
            )
    return {"input_shape": list(compiled.plan.input.shape), "blocks": blocks}


@contextmanager
def folded(compiled: Any):
    """For the duration (an ONNX export), every kernel that `enforce = true` rescales holds
    its effective (rescaled) value and its NormBound passes it through, so the exported
    initializer is the effective kernel under the parameter's own name. Restored after."""
    import torch

    module = compiled.module
    module.eval()
    saved = []
    try:
        with torch.no_grad():
            for block in compiled.plan.blocks:
                holder = getattr(module, f"block{block.index}", None)
                enforced = getattr(compiled, "bounds", {}).get(block.index, {})
                for name, attr in compiled.weights.get(block.index, {}).items():
                    bounds = getattr(holder, enforced[name], None) if name in enforced else None
                    if bounds is None:
                        continue
                    for weight, bound in zip(getattr(holder, attr), bounds, strict=True):
                        effective = bound(weight).detach().clone()
                        if effective is weight or bool(bound.scale == 1):
                            continue
                        saved.append((weight, weight.detach().clone(), bound, bound.scale.clone()))
                        weight.copy_(effective)
                        bound.scale.fill_(1.0)
                        bound._seen = (weight.data_ptr(), weight._version)
        yield
    finally:
        with torch.no_grad():
            for weight, value, bound, scale in saved:
                weight.copy_(value)
                bound.scale.copy_(scale)
                bound._seen = (weight.data_ptr(), weight._version)


def embed(model: onnx.ModelProto, data: dict[str, Any], key: str = KEY) -> None:
    entry = model.metadata_props.add()
    entry.key = key
    entry.value = json.dumps(data, sort_keys=True)


def spec_entry(compiled: Any) -> dict[str, Any]:
    """What `certify` needs to recompile the model: the spec's text, its `--set` values
    (as the text the command line gave), the file name (for located errors), whether the
    blocks are reversible, and the pde2net version that compiled it."""
    from pde2net import __version__

    plan = compiled.plan
    return {
        "format": SPEC_FORMAT,
        "source": plan.text,
        "overrides": dict(plan.overrides),
        "file": Path(plan.path).name or "<spec>",
        "reversible": bool(getattr(compiled, "reversible", False)),
        "pde2net": __version__,
    }


def embed_spec(model: onnx.ModelProto, compiled: Any) -> None:
    data = spec_entry(compiled)
    size = len(json.dumps(data, sort_keys=True).encode())
    if size > MAX_SPEC_BYTES:
        from pde2net.lang.errors import SpecError
        from pde2net.loc import Loc

        raise SpecError(
            f"the spec is {size:,} bytes; a model embeds at most {MAX_SPEC_BYTES:,}",
            Loc(compiled.plan.path, 1, 1),
        )
    embed(model, data, SPEC_KEY)


# -- measuring ----------------------------------------------------------------------------


def operator_norm(weight: np.ndarray, padding: list[int], spatial: list[int]) -> float:
    """An estimate of ‖K‖₂ of the zero-padded convolution on a grid of size `spatial`, by
    power iteration on Kᵀ K (conv followed by conv_transpose with the same weight): it
    approaches the norm from below. Certificates use `norms` instead."""
    import torch
    import torch.nn.functional as F

    w = torch.from_numpy(np.asarray(weight, dtype=np.float64))
    conv = (F.conv1d, F.conv2d, F.conv3d)[w.dim() - 3]
    conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[w.dim() - 3]
    pad = tuple(padding)
    v = torch.randn(
        1, w.shape[1], *spatial, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    v /= v.norm()
    estimate = 0.0
    for _ in range(ITERATIONS):
        v = conv_t(conv(v, w, padding=pad), w, padding=pad)
        rayleigh = float(v.norm())  # ‖KᵀK v‖ with ‖v‖ = 1 tends to ‖K‖₂²
        v /= max(rayleigh, 1e-300)
        if abs(rayleigh - estimate) <= 1e-12 * rayleigh:
            break
        estimate = rayleigh
    return float(conv(v, w, padding=pad).norm())


def _load(model_path: str) -> onnx.ModelProto:
    try:
        size = os.stat(model_path).st_size
    except OSError as err:
        raise CertifyError(f"cannot read the model: {err.strerror or err}") from None
    if not os.path.isfile(model_path):
        raise CertifyError("not a regular file")
    if size > MAX_MODEL_BYTES:
        raise CertifyError(f"{size} bytes: larger than the {MAX_MODEL_BYTES} bytes certify reads")
    with open(model_path, "rb") as handle:
        data = handle.read(MAX_MODEL_BYTES + 1)
    if len(data) > MAX_MODEL_BYTES:
        raise CertifyError(f"larger than the {MAX_MODEL_BYTES} bytes certify reads")
    try:
        model = onnx.load_from_string(data)
    except Exception as err:  # protobuf raises DecodeError and others
        raise CertifyError(f"not an ONNX model ({type(err).__name__})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise CertifyError("not an ONNX model (it has no graph)")
    return model


def _conv_kernels(model: onnx.ModelProto, initializers: dict[str, Any]) -> dict[str, dict]:
    """Every initializer a Conv node uses directly as its weight, with the node's stride
    and padding (the first use, if several), in Loop bodies too."""
    from pde2net.export.graph import all_nodes

    found: dict[str, dict] = {}
    for node in all_nodes(model.graph):
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in initializers:
            continue
        name = node.input[1]
        if name.startswith("pde2net."):  # constants of pde2net's own rewrites, not learned
            continue
        if name in found:
            continue
        dims = len(initializers[name].dims) - 2
        attrs = {a.name: a for a in node.attribute}
        strides = list(attrs["strides"].ints) if "strides" in attrs else [1] * dims
        pads = list(attrs["pads"].ints)[:dims] if "pads" in attrs else [0] * dims
        found[name] = {"stride": strides, "padding": pads}
    return found


def _array(initializer: onnx.TensorProto) -> np.ndarray:
    try:
        array = onnx.numpy_helper.to_array(initializer)
    except (ValueError, TypeError) as err:
        raise CertifyError(f"initializer {initializer.name} cannot be read ({err})") from None
    if array.ndim not in (3, 4, 5) or not np.issubdtype(array.dtype, np.floating):
        raise CertifyError(
            f"initializer {initializer.name} is not a 1D, 2D or 3D convolution kernel "
            f"(shape {list(array.shape)}, {array.dtype})"
        )
    return array.astype(np.float64)


def _shape(value: Any, declared: list[int]) -> list[int]:
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in value
    ):
        raise CertifyError(f"input shape {value!r}: write whole numbers, e.g. 3,32,32")
    if len(value) != len(declared):
        raise CertifyError(
            f"--input-shape needs {len(declared)} numbers (C, *spatial), got {len(value)}"
        )
    if value[0] != declared[0]:
        raise CertifyError(
            f"--input-shape: the network takes {declared[0]} channels, not {value[0]}"
        )
    if any(n < 1 or n > MAX_SIZE for n in value[1:]):
        raise CertifyError(
            f"--input-shape: spatial sizes must lie in 1..{MAX_SIZE}, got {value[1:]}"
        )
    return list(value)


def _embedded(model: onnx.ModelProto) -> dict[str, Any]:
    """The embedded spec entry, checked for shape (the entry only; nothing else in the
    metadata is read)."""
    entries = [p.value for p in model.metadata_props if p.key == SPEC_KEY]
    if not entries:
        raise RefusedError(
            "not a pde2net model or tampered: it carries no embedded spec "
            f"(metadata {SPEC_KEY!r}); compile it with pde2net"
        )
    if len(entries) > 1:
        raise RefusedError(f"tampered: the model carries {len(entries)} embedded specs")
    raw = entries[0]
    if len(raw.encode()) > MAX_SPEC_BYTES:
        raise RefusedError(f"tampered: the embedded spec is over {MAX_SPEC_BYTES:,} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise RefusedError("tampered: the embedded spec is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != SPEC_FORMAT:
        raise RefusedError("tampered: the embedded spec is not a pde2net spec entry")
    source, overrides = data.get("source"), data.get("overrides", {})
    file, reversible = data.get("file", "<spec>"), data.get("reversible", False)
    if (
        not isinstance(source, str)
        or not isinstance(file, str)
        or not file
        or "\n" in file
        or len(file) > 255
        or not isinstance(reversible, bool)
        or not isinstance(overrides, dict)
        or len(overrides) > MAX_OVERRIDES
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in overrides.items())
    ):
        raise RefusedError("tampered: the embedded spec entry is malformed")
    return {
        "source": source,
        "overrides": overrides,
        "file": file,
        "reversible": reversible,
        "pde2net": str(data.get("pde2net", "?"))[:40],
    }


def _budget(model: onnx.ModelProto) -> dict[str, int]:
    """The resource budgets of the recompile: those in force (--max-* defaults or the
    PDE2NET_MAX_* variables), with parameters capped by what the file holds (a genuine
    model holds about as many weights as its spec trains) and activations by
    MAX_ACTIVATION_BYTES, so a small file cannot make certify build a huge network."""
    from pde2net.lang import limits

    held = sum(
        math.prod(i.dims) if all(d >= 0 for d in i.dims) else 0 for i in model.graph.initializer
    )
    current = limits.current()
    return {
        "max_parameters": max(1, min(current.max_parameters, 2 * held + 100_000)),
        "max_activation_bytes": min(current.max_activation_bytes, MAX_ACTIVATION_BYTES),
    }


MAX_ACTIVATION_BYTES = 1 << 30  # one sample's activations, for the recompile (see _budget)


def _reference(entry: dict[str, Any], model: onnx.ModelProto) -> references.Reference:
    """The graph, pinned initializers and recipe the embedded spec compiles to: from the
    user's cache when this build of pde2net recompiled the same spec before
    (`export/references.py`), else recompiled, and cached."""
    budget = _budget(model)
    key = references.key(entry, budget)
    cached = references.load(key)
    if cached is not None:
        return cached
    return _derive(key, *_recompile(entry, budget))


def _derive(
    key: str, compiled: Any, graph: onnx.ModelProto, moved: Digests | None = None
) -> references.Reference:
    """The reference of `graph`, exported from `compiled` (whose weights `_pinned`
    perturbs unless `moved` says what that export gives), cached under `key`."""
    derived = recipe(compiled, graph)  # before _pinned perturbs the module's weights
    result = references.Reference(graph, _pinned(compiled, graph, moved), derived)
    references.store(key, result.graph, result.pinned, result.recipe)
    return result


def remember(
    compiled: Any, model: onnx.ModelProto, moved: Callable[[], Digests | None] | None = None
) -> None:
    """Cache the reference of a model `compile` has just exported, so that the first
    certify of it skips the recompile. Only for compile's own fresh module (seed 0): that
    is the module a recompile builds, and `model` the graph its export gives (the same
    `export_graph`), so the entry is exactly what certify would derive. The pinned
    initializers are found as certify finds them, on a copy of the module: by a second
    export, so for graphs of over REMEMBER_NODES nodes with learned parameters (a deep
    unrolled network, whose export takes seconds) compile leaves this to certify.
    `moved`, where compile ran it beside this process, gives that export's initializers
    (`perturbed`; None: do it here)."""
    import copy

    if len(model.graph.node) > REMEMBER_NODES and any(True for _ in compiled.module.parameters()):
        return  # finding the pinned initializers would cost compile a second long export
    entry = _embedded(model)
    key = references.key(entry, _budget(model))
    if references.has(key):
        return
    graph = onnx.ModelProto()
    graph.CopyFrom(model)
    del graph.metadata_props[:]
    digests = moved() if moved is not None else None
    if digests is not None:
        _derive(key, compiled, graph, digests)
        return
    scratch = copy.copy(compiled)
    scratch.module = copy.deepcopy(compiled.module)
    _derive(key, scratch, graph)


def perturbed(plan: Any) -> Digests | None:
    """What `_pinned` compares a reference with, for compile's fresh module (seed 0, as
    `build_outputs` builds it) of `plan`: the initializers its export gives with every
    learned tensor perturbed, as digests by name. compile runs this in the child that
    checked and planned the spec (pde2net/overlap.py), on that plan, beside its own
    export. None where the network has no parameters (`_pinned` needs no export then)."""
    if not plan.report.get("parameters"):
        return None
    from pde2net.compiled import build
    from pde2net.pipeline import export_graph

    compiled = build(plan)
    if not _perturb(compiled.module):
        return None
    return _digests(export_graph(compiled, metadata=False))


def _recompile(entry: dict[str, Any], budget: dict[str, int]) -> tuple[Any, onnx.ModelProto]:
    """The embedded spec compiled again: the module (seed 0, as compile builds it) and the
    ONNX graph compile writes for it."""
    from pde2net.api import check_text, compile_checked
    from pde2net.lang import limits
    from pde2net.lang.errors import SpecError
    from pde2net.pipeline import export_graph

    try:
        with limits.use(**budget):
            checked = check_text(entry["source"], entry["file"], entry["overrides"])
            compiled = compile_checked(checked, reversible=entry["reversible"])
    except SpecError as err:
        line = str(err).splitlines()[0] if str(err) else err.message
        raise RefusedError(
            f"the embedded spec no longer compiles ({line[:300]}); "
            f"it was compiled by pde2net {entry['pde2net']}"
        ) from None
    except RecursionError:
        raise RefusedError("the embedded spec no longer compiles (it nests too deeply)") from None
    return compiled, export_graph(compiled, metadata=False)


def _pinned(compiled: Any, reference: onnx.ModelProto, moved: Digests | None = None) -> set[str]:
    """The initializers whose values do not depend on learned state: the reference is
    exported again with every parameter (and every batch-norm running statistic)
    perturbed, and what stays bit for bit the same is a constant of the spec (a stencil,
    a step size, an index), which the file must hold unchanged. An initializer that is a
    parameter itself (`block1.K.0`) is learned by definition. `moved`: that export's
    initializers, where it was done elsewhere (`perturbed`)."""
    from pde2net.pipeline import export_graph

    learned = {name for name, _ in compiled.module.named_parameters()}
    if moved is None:
        if not _perturb(compiled.module):  # nothing learned: all constants of the spec
            return {init.name for init in reference.graph.initializer}
        moved = _digests(export_graph(compiled, metadata=False))
    return {
        init.name
        for init in reference.graph.initializer
        if init.name not in learned and moved.get(init.name) == _digest(init)
    }


def _perturb(module: Any) -> bool:
    """Every parameter and batch-norm running statistic of `module` scaled and shifted
    by seeded noise, in place; whether there was any."""
    import torch

    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        tensors = list(module.parameters())
        for sub in module.modules():
            if isinstance(sub, torch.nn.modules.batchnorm._BatchNorm):
                tensors += [t for t in (sub.running_mean, sub.running_var) if t is not None]
        for tensor in tensors:  # positive factors: a running variance stays positive
            noise = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype)
            tensor.mul_(noise.add_(1.5)).add_(noise)
    return bool(tensors)


def _digest(init: onnx.TensorProto) -> bytes:
    return hashlib.sha256(init.SerializeToString(deterministic=True)).digest()


def _digests(model: onnx.ModelProto) -> Digests:
    return {init.name: _digest(init) for init in model.graph.initializer}


def _node_text(node: onnx.NodeProto) -> str:
    return f"{node.op_type}({', '.join(node.input)}) -> {', '.join(node.output)}"[:200]


def _compare(model: onnx.ModelProto, reference: onnx.ModelProto, pinned: set[str]) -> None:
    """Refuse `model` unless its graph is exactly `reference`'s, up to the values of
    initializers not in `pinned`; the message says where it first differs."""

    def differs(what: str) -> RefusedError:
        return RefusedError(
            f"tampered: the graph differs from the one its embedded spec compiles to: {what}"
        )

    opsets = sorted((o.domain, o.version) for o in model.opset_import)
    expected = sorted((o.domain, o.version) for o in reference.opset_import)
    if opsets != expected:
        raise differs(f"opset {opsets}, expected {expected}")
    if len(model.functions) or len(model.graph.sparse_initializer):
        raise differs("it defines functions or sparse initializers")
    g, r = model.graph, reference.graph
    for kind, got, want in (("input", g.input, r.input), ("output", g.output, r.output)):
        if [v.SerializeToString(deterministic=True) for v in got] != [
            v.SerializeToString(deterministic=True) for v in want
        ]:
            raise differs(
                f"graph {kind}s {[v.name for v in got]} differ from {[v.name for v in want]} "
                "(names, types or shapes)"
            )
    for index, (node, want) in enumerate(zip(g.node, r.node, strict=False)):
        same = (
            node.op_type == want.op_type
            and node.domain == want.domain
            and list(node.input) == list(want.input)
            and list(node.output) == list(want.output)
            and [a.SerializeToString(deterministic=True) for a in node.attribute]
            == [a.SerializeToString(deterministic=True) for a in want.attribute]
        )
        if not same:
            raise differs(f"node {index} is {_node_text(node)}, expected {_node_text(want)}")
    if len(g.node) != len(r.node):
        index = min(len(g.node), len(r.node))
        extra = g.node[index] if len(g.node) > index else r.node[index]
        raise differs(
            f"{len(g.node)} nodes, expected {len(r.node)} (from node {index}: {_node_text(extra)})"
        )
    got_names = [i.name for i in g.initializer]
    want_names = [i.name for i in r.initializer]
    if got_names != want_names:
        first = next(
            (a, b) for a, b in zip([*got_names, None], [*want_names, None], strict=False) if a != b
        )
        raise differs(f"initializer {first[0]!r} where {first[1]!r} was expected")
    for init, want in zip(g.initializer, r.initializer, strict=True):
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise differs(f"initializer {init.name!r} refers to external data")
        if list(init.dims) != list(want.dims) or init.data_type != want.data_type:
            raise differs(
                f"initializer {init.name!r} has shape {list(init.dims)} and type "
                f"{init.data_type}, expected {list(want.dims)} and {want.data_type}"
            )
        if init.name in pinned:
            try:
                same = _bits(init) == _bits(want)
            except (ValueError, TypeError):
                same = False
            if not same:
                raise differs(
                    f"initializer {init.name!r} is a constant of the spec, and its value "
                    "was changed"
                )


def _compare_recipe(model: onnx.ModelProto, derived: dict[str, Any]) -> None:
    """The recipe in the metadata is never read for the certificate; but compile writes
    exactly the derived one, so any other is an edit, and the file is refused."""
    entries = [p.value for p in model.metadata_props if p.key == KEY]
    if len(entries) != 1:
        raise RefusedError(
            f"tampered: the model carries {len(entries)} certificate recipes ({KEY!r}), "
            "where compile writes one"
        )
    try:
        found = json.loads(entries[0]) if len(entries[0]) <= MAX_SPEC_BYTES else None
    except (ValueError, RecursionError):
        found = None
    if found != json.loads(json.dumps(derived, sort_keys=True)):
        raise RefusedError(
            f"tampered: the certificate recipe ({KEY!r}) is not the one its embedded spec "
            "derives (certify derives the conditions itself; this one was edited)"
        )


def _bits(tensor: onnx.TensorProto) -> bytes:
    array = onnx.numpy_helper.to_array(tensor)
    return array.dtype.str.encode() + repr(array.shape).encode() + array.tobytes()


def certify(model_path: str, input_shape: list[int] | None = None) -> dict[str, Any]:
    """Enclose ‖K‖₂ of every learned kernel and judge each block's conditions.

    Without `input_shape` the upper bounds hold at every input size and the lower bounds
    at the declared one (so a violation is witnessed there); with it, the lower bounds
    hold at that size. The verdict: certified, violated, or undecided."""
    model = _load(model_path)
    embedded = _embedded(model)
    reference = _reference(embedded, model)
    data = reference.recipe  # the conditions, from the recompiled report
    try:
        _compare(model, reference.graph, reference.pinned)
        _compare_recipe(model, data)
    except RefusedError as err:
        from pde2net import __version__

        if embedded["pde2net"] != __version__:
            raise RefusedError(
                f"{err}; the model was compiled by pde2net {embedded['pde2net']}, "
                f"this is {__version__}"
            ) from None
        raise
    declared = data["input_shape"]
    shape = _shape(input_shape, declared) if input_shape is not None else list(declared)
    initializers = {i.name: i for i in model.graph.initializer}
    conv_uses = _conv_kernels(model, initializers)

    # what each kernel must be measured for: its stride, padding, the grid it sees, and the
    # targets its conditions set (for the branch and bound to stop early)
    wanted: dict[str, dict[str, Any]] = {}
    for block in data["blocks"]:
        spatial = [
            max(1, n * s // d)
            for n, s, d in zip(shape[1:], block["spatial"], declared[1:], strict=True)
        ]
        for condition in block["conditions"]:
            bound = float(condition["bound"])
            each = bound if condition["kind"] == "each" else math.sqrt(bound)
            for w in condition["weights"].values():
                for name in w["initializers"]:
                    if name not in initializers:
                        raise CertifyError(
                            f"the recipe names {name!r}, which the model does not hold"
                        )
                    entry = wanted.setdefault(
                        name,
                        {
                            "stride": [1] * (len(spatial)),
                            "padding": [int(p) for p in w["padding"]],
                            "size": spatial,
                            "target": each,
                        },
                    )
                    entry["target"] = min(entry["target"], each)
                    entry["size"] = [min(a, b) for a, b in zip(entry["size"], spatial, strict=True)]
    for name, use in conv_uses.items():
        if name not in wanted:
            wanted[name] = {**use, "size": None, "target": None}

    arrays = {name: _array(initializers[name]) for name in wanted}
    sizes = _conv_sizes(model, shape, [n for n in wanted if wanted[n]["size"] is None])
    weight_of = {n: 4.0 if wanted[n]["target"] is not None else 0.25 for n in wanted}
    total = sum(weight_of.values()) or 1.0
    kernels: dict[str, dict[str, Any]] = {}
    # numpy only (a cached reference needs no torch), on one BLAS thread: the problems are
    # small, and OpenBLAS's threads spin (3-5x the time) on a loaded machine
    with threadpool_limits(1):
        for name, spec in wanted.items():
            w = arrays[name]
            size = spec["size"] or sizes.get(name) or [1] * (w.ndim - 2)
            if np.all(np.isfinite(w)):
                result = norms.bounds(
                    w,
                    tuple(spec["stride"]),
                    tuple(spec["padding"]),
                    tuple(size),
                    target=spec["target"],
                    grid=norms.enforcement_grid(tuple(w.shape[2:])) if spec["target"] else None,
                    seconds=max(0.1, BUDGET * weight_of[name] / total),
                )
                lower, upper = result.lower, result.upper
            else:  # a NaN or infinite weight: no bound holds
                lower = upper = math.inf
            kernels[name] = {
                "initializer": name,
                "shape": list(w.shape),
                "stride": list(spec["stride"]),
                "norm_lower": lower,
                "norm_upper": upper,
                "lower_at": list(size),
            }

    blocks = []
    for block in data["blocks"]:
        spatial = [
            max(1, n * s // d)
            for n, s, d in zip(shape[1:], block["spatial"], declared[1:], strict=True)
        ]
        results = []
        if block.get("status") in ("unverified", "violated"):
            # no measurement of the weights can certify a block the analysis could not
            results.append(
                {
                    "check": "analysis verdict",
                    "condition": f"the analysis found this block {block['status']}",
                    "verdict": "violated" if block["status"] == "violated" else "undecided",
                    "holds": False,
                    "norms": {},
                }
            )
        for condition in block["conditions"]:
            intervals = {
                name: [
                    (kernels[i]["norm_lower"], kernels[i]["norm_upper"]) for i in w["initializers"]
                ]
                for name, w in condition["weights"].items()
            }
            if condition["kind"] == "product":
                series = list(zip(*intervals.values(), strict=True))
                lower = max(math.prod(iv[0] for iv in step) for step in series)
                upper = max(math.prod(iv[1] for iv in step) for step in series)
                text = " · ".join(f"‖{n}‖₂" for n in intervals)
            else:
                lower = max(iv[0] for ivs in intervals.values() for iv in ivs)
                upper = max(iv[1] for ivs in intervals.values() for iv in ivs)
                text = " , ".join(f"max_j ‖{n}_j‖₂" for n in intervals)
            bound = float(condition["bound"])
            verdict = (
                "certified" if upper <= bound else "violated" if lower > bound else "undecided"
            )
            results.append(
                {
                    "check": condition["check"],
                    "condition": f"{text} ∈ [{lower:.6g}, {upper:.6g}], bound {bound:.6g}",
                    "measured": upper,
                    "measured_lower": lower,
                    "bound": bound,
                    "margin": bound / upper if upper > 0 else math.inf,
                    "verdict": verdict,
                    "holds": verdict == "certified",
                    "norms": {k: [list(iv) for iv in v] for k, v in intervals.items()},
                }
            )
        blocks.append(
            {
                "name": block["name"],
                "scheme": block["scheme"],
                "status": block.get("status"),
                "spatial": spatial,
                "checks": results,
            }
        )
    verdicts = [c["verdict"] for b in blocks for c in b["checks"]]
    verdict = (
        "violated"
        if "violated" in verdicts
        else "undecided"
        if "undecided" in verdicts
        else "certified"
    )
    return {
        "model": model_path,
        "spec": {
            "file": embedded["file"],
            "overrides": embedded["overrides"],
            "pde2net": embedded["pde2net"],
        },
        "input_shape": shape,
        "sizes": "given" if input_shape is not None else "every",
        "verdict": verdict,
        "certified": verdict == "certified",
        "exit_code": VERDICT_EXIT[verdict],
        "kernels": list(kernels.values()),
        "blocks": blocks,
    }


def _conv_sizes(model: onnx.ModelProto, shape: list[int], names: list[str]) -> dict[str, list[int]]:
    """The spatial size of each named kernel's Conv input at input `shape` (shape
    inference; missing where it cannot tell)."""
    if not names:
        return {}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.metadata_props[:]
    graph_input = next((i for i in probe.graph.input if i.name == "input"), None)
    if graph_input is None:
        return {}
    dims = graph_input.type.tensor_type.shape.dim
    if len(dims) != len(shape) + 1:
        return {}
    dims[0].dim_value = 1
    for dim, n in zip(dims[1:], shape, strict=True):
        dim.dim_value = n
    try:
        inferred = onnx.shape_inference.infer_shapes(probe)
    except Exception:
        return {}
    known = {}
    for info in list(inferred.graph.value_info) + list(inferred.graph.input):
        d = info.type.tensor_type.shape.dim
        if d and all(x.HasField("dim_value") for x in d):
            known[info.name] = [x.dim_value for x in d]
    sizes = {}
    for node in model.graph.node:
        if node.op_type == "Conv" and len(node.input) > 1 and node.input[1] in names:
            got = known.get(node.input[0])
            if got and node.input[1] not in sizes:
                sizes[node.input[1]] = got[2:]
    return sizes
