"""Stability certificates for trained weights.

At compile time the ONNX model gets a recipe in its metadata (`pde2net.certificate`):
for each block, the conditions on operator norms that its report left to the learned
weights, and which initializers hold those weights. `certify` reads the recipe and
encloses ‖K‖₂ of every learned convolution in an interval (`export/norms.py`): an upper
bound valid at every input size (the sup of the Fourier symbol, bounded between samples
by Bernstein's inequality) and a lower bound at the grid the kernel sees (power
iteration). A condition is *certified* when the upper bounds satisfy it, *violated* when
the lower bounds break it, and *undecided* in between.
"""

from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F

from pde2net.export import norms

KEY = "pde2net.certificate"
ITERATIONS = 1000  # at most; power iteration stops once the estimate settles (operator_norm)
EXIT_CERTIFIED, EXIT_VIOLATED, EXIT_UNDECIDED = 0, 1, 4
VERDICT_EXIT = {"certified": EXIT_CERTIFIED, "violated": EXIT_VIOLATED, "undecided": EXIT_UNDECIDED}
MAX_MODEL_BYTES = 1 << 30  # a larger file is refused before it is parsed
MAX_SIZE = 1 << 16  # per spatial axis, for --input-shape
BUDGET = 0.8  # seconds (by norms' cost model) for all branch-and-bound runs together


class CertifyError(ValueError):
    """A model or input shape certify cannot judge: a clear message, exit 2."""


# -- compile side: the recipe and the export with the enforced scale folded ---------------


def recipe(compiled: Any, model: onnx.ModelProto) -> dict[str, Any]:
    """Which initializers hold which block weights, and the bounds each must satisfy.

    The initializers are found by name: `export_compiled` exports inside `folded`, so
    every block weight keeps its parameter's name (`block1.K.0`), enforced or not."""
    initializers = {i.name for i in model.graph.initializer}
    blocks = []
    for block, report in zip(compiled.network.blocks, compiled.report["blocks"], strict=True):
        attrs = compiled.weights.get(block.index, {})
        conditions = []
        for check in report["checks"]:
            requires = check["requires"]  # the typed condition the analysis left to K
            if requires is None:
                continue
            weights = {}
            for name in requires["weights"]:
                attr = attrs[name]
                decl = block.pde.weights[name]
                names = []
                for j in range(block.copies):
                    held = f"block{block.index}.{attr}.{j}"
                    if held not in initializers:
                        raise LookupError(f"the exported model has no initializer {held}")
                    names.append(held)
                weights[name] = {"initializers": names, "padding": [k // 2 for k in decl.kernel]}
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
    return {"input_shape": list(compiled.network.input.shape), "blocks": blocks}


@contextmanager
def folded(compiled: Any):
    """For the duration (an ONNX export), every kernel that `enforce = true` rescales holds
    its effective (rescaled) value and its NormBound passes it through, so the exported
    initializer is the effective kernel under the parameter's own name. Restored after."""
    module = compiled.module
    module.eval()
    saved = []
    try:
        with torch.no_grad():
            for block in compiled.network.blocks:
                holder = getattr(module, f"block{block.index}", None)
                for attr in compiled.weights.get(block.index, {}).values():
                    bounds = getattr(holder, f"{attr}_bound", None)
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


def embed(model: onnx.ModelProto, data: dict[str, Any]) -> None:
    entry = model.metadata_props.add()
    entry.key = KEY
    entry.value = json.dumps(data, sort_keys=True)


# -- measuring ----------------------------------------------------------------------------


def operator_norm(weight: np.ndarray, padding: list[int], spatial: list[int]) -> float:
    """An estimate of ‖K‖₂ of the zero-padded convolution on a grid of size `spatial`, by
    power iteration on Kᵀ K (conv followed by conv_transpose with the same weight): it
    approaches the norm from below. Certificates use `norms` instead."""
    w = torch.from_numpy(np.asarray(weight, dtype=np.float64))
    conv = F.conv1d if w.dim() == 3 else F.conv2d
    conv_t = F.conv_transpose1d if w.dim() == 3 else F.conv_transpose2d
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
        return onnx.load_from_string(data)
    except Exception as err:  # protobuf raises DecodeError and others
        raise CertifyError(f"not an ONNX model ({type(err).__name__})") from None


def _conv_kernels(model: onnx.ModelProto, initializers: dict[str, Any]) -> dict[str, dict]:
    """Every initializer a Conv node uses directly as its weight, with the node's stride
    and padding (the first use, if several)."""
    found: dict[str, dict] = {}
    for node in model.graph.node:
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
    array = onnx.numpy_helper.to_array(initializer)
    if array.ndim not in (3, 4) or not np.issubdtype(array.dtype, np.floating):
        raise CertifyError(
            f"initializer {initializer.name} is not a 1D or 2D convolution kernel "
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


def _recipe(model: onnx.ModelProto) -> dict[str, Any]:
    meta = {p.key: p.value for p in model.metadata_props}
    if KEY not in meta:
        raise CertifyError("the model carries no pde2net certificate recipe")
    try:
        data = json.loads(meta[KEY])
    except (ValueError, RecursionError):
        raise CertifyError("the certificate recipe is not valid JSON") from None
    try:
        declared = data["input_shape"]
        if (
            not isinstance(declared, list)
            or not declared
            or not all(
                isinstance(n, int) and not isinstance(n, bool) and 0 < n <= MAX_SIZE
                for n in declared
            )
        ):
            raise CertifyError(f"the recipe's input shape {declared!r} is not a shape")
        for block in data["blocks"]:
            spatial = block["spatial"]
            if len(spatial) != len(declared) - 1 or not all(
                isinstance(n, int) and 0 < n <= MAX_SIZE for n in spatial
            ):
                raise CertifyError(f"block {block['name']!r}: spatial {spatial!r} is not a size")
            str(block["name"]), str(block["scheme"]), str(block.get("status"))
            for condition in block["conditions"]:
                if condition["kind"] not in ("each", "product"):
                    raise CertifyError(f"unknown condition kind {condition['kind']!r}")
                bound = condition["bound"]
                bound = float(bound) if isinstance(bound, (int, float, str)) else None
                if bound is None or math.isnan(bound) or bound < 0:
                    raise CertifyError(f"condition {condition['check']!r}: bound is not a number")
                for w in condition["weights"].values():
                    if not isinstance(w["initializers"], list) or not w["initializers"]:
                        raise CertifyError("a condition names no initializers")
    except (KeyError, TypeError, AttributeError) as err:
        raise CertifyError(
            f"the certificate recipe is malformed ({type(err).__name__}: {err})"
        ) from None
    return data


def certify(model_path: str, input_shape: list[int] | None = None) -> dict[str, Any]:
    """Enclose ‖K‖₂ of every learned kernel and judge each block's conditions.

    Without `input_shape` the upper bounds hold at every input size and the lower bounds
    at the declared one (so a violation is witnessed there); with it, the lower bounds
    hold at that size. The verdict: certified, violated, or undecided."""
    model = _load(model_path)
    data = _recipe(model)
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
    weight_of = {n: 4.0 if wanted[n]["target"] is not None else 1.0 for n in wanted}
    total = sum(weight_of.values()) or 1.0
    kernels: dict[str, dict[str, Any]] = {}
    with _threads(1):
        for name, spec in wanted.items():
            w = arrays[name]
            size = spec["size"] or sizes.get(name) or [1] * (w.ndim - 2)
            result = norms.bounds(
                w,
                tuple(spec["stride"]),
                tuple(spec["padding"]),
                tuple(size),
                target=spec["target"],
                grid=norms.enforcement_grid(tuple(w.shape[2:])) if spec["target"] else None,
                seconds=max(0.1, BUDGET * weight_of[name] / total),
            )
            kernels[name] = {
                "initializer": name,
                "shape": list(w.shape),
                "stride": list(spec["stride"]),
                "norm_lower": result.lower,
                "norm_upper": result.upper,
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


@contextmanager
def _threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
