"""Stability certificates for trained weights.

At compile time the ONNX model gets a recipe in its metadata (`pde2net.certificate`):
for each block, the conditions on operator norms that its report left to the learned
weights, and which initializers hold those weights. `certify` reads the recipe, measures
‖K‖₂ of each convolution operator at the given input size by power iteration on the
operator itself (conv, then conv_transpose), and checks every condition with its margin.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F

KEY = "pde2net.certificate"
ITERATIONS = 1000  # at most; power iteration stops once the estimate settles


def recipe(compiled: Any, model: onnx.ModelProto) -> dict[str, Any]:
    """Which initializers hold which block weights, and the bounds each must satisfy."""
    initializers = {i.name: i for i in model.graph.initializer}
    blocks = []
    for block, report in zip(compiled.network.blocks, compiled.report["blocks"], strict=True):
        attrs = compiled.weights.get(block.index, {})
        module_block = getattr(compiled.module, f"block{block.index}")
        conditions = []
        for check in report["checks"]:
            requires = check["requires"]  # the typed condition the analysis left to K
            if requires is None:
                continue
            weights = {}
            for name in requires["weights"]:
                attr = attrs[name]
                decl = block.pde.weights[name]
                names = [
                    _initializer_for(
                        module_block, attr, j, f"block{block.index}.{attr}.{j}", initializers
                    )
                    for j in range(block.copies)
                ]
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


def _initializer_for(module_block, attr: str, j: int, name: str, initializers) -> str:
    """The initializer holding step j's weight: by name, or (when an enforced bound was
    folded into it) by value."""
    if name in initializers:
        return name
    weight = getattr(module_block, attr)[j]
    bound = getattr(module_block, f"{attr}_bound", None)
    with torch.no_grad():
        effective = (bound[j](weight) if bound is not None else weight).numpy()
    for candidate in initializers.values():
        if tuple(candidate.dims) == effective.shape:
            array = onnx.numpy_helper.to_array(candidate)
            if np.allclose(array, effective, rtol=1e-6, atol=1e-7):
                return candidate.name
    raise LookupError(f"no initializer holds {name}")


def embed(model: onnx.ModelProto, data: dict[str, Any]) -> None:
    entry = model.metadata_props.add()
    entry.key = KEY
    entry.value = json.dumps(data, sort_keys=True)


def operator_norm(weight: np.ndarray, padding: list[int], spatial: list[int]) -> float:
    """‖K‖₂ of the zero-padded convolution on a grid of size `spatial`, by power
    iteration on Kᵀ K (conv followed by conv_transpose with the same weight)."""
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


def certify(model_path: str, input_shape: list[int] | None = None) -> dict[str, Any]:
    """Check each learned-weight condition of the compiled network on the trained weights."""
    model = onnx.load(model_path)
    meta = {p.key: p.value for p in model.metadata_props}
    if KEY not in meta:
        raise ValueError(f"{model_path} carries no pde2net certificate recipe")
    data = json.loads(meta[KEY])
    declared = data["input_shape"]
    shape = list(input_shape) if input_shape else declared
    if len(shape) != len(declared):
        raise ValueError(
            f"--input-shape needs {len(declared)} numbers (C, *spatial), got {len(shape)}"
        )
    initializers = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
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
                    "holds": False,
                }
            )
        for condition in block["conditions"]:
            norms = {
                name: [
                    operator_norm(initializers[i], w["padding"], spatial) for i in w["initializers"]
                ]
                for name, w in condition["weights"].items()
            }
            if condition["kind"] == "product":
                series = [float(np.prod(vals)) for vals in zip(*norms.values(), strict=True)]
                measured = max(series)
                text = " · ".join(f"‖{n}‖₂" for n in norms)
            else:
                measured = max(max(v) for v in norms.values())
                text = " , ".join(f"max_j ‖{n}_j‖₂" for n in norms)
            bound = float(condition["bound"])
            results.append(
                {
                    "check": condition["check"],
                    "condition": f"{text} = {measured:.6g} ≤ {bound:.6g}",
                    "measured": measured,
                    "bound": bound,
                    "margin": bound / measured if measured > 0 else float("inf"),
                    "holds": measured <= bound * (1 + 1e-6),
                    "norms": {k: [round(x, 8) for x in v] for k, v in norms.items()},
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
    holds = all(c["holds"] for b in blocks for c in b["checks"])
    return {"model": model_path, "input_shape": shape, "certified": holds, "blocks": blocks}
