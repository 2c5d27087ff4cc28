"""The compile pipeline after the analysis: plan, build, export, verify, serialise.

From the plan on, nothing here imports SymPy (pde2net/plan.py says why)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pde2net.compiled import Compiled, build
from pde2net.plan import Plan

if TYPE_CHECKING:
    import numpy as np
    import onnx

    from pde2net.api import Checked


def export_graph(compiled: Compiled, metadata: bool = True) -> onnx.ModelProto:
    """The ONNX model of the module as it is now (fresh or trained), not yet verified.

    With `metadata`, it carries the spec it was compiled from (`pde2net.spec`: the source,
    the `--set` values, the file name, pde2net's version), from which `certify` recompiles
    the graph and derives the conditions, and the certificate recipe (for information).
    `certify` calls this too, on its recompiled module, for the reference graph."""
    import onnx

    from pde2net.export import certify
    from pde2net.export.onnx import export_bytes, torch_threads
    from pde2net.export.rewrite import optimize

    with torch_threads(1):
        with certify.folded(compiled):  # enforced kernels exported at their effective value
            exported = export_bytes(compiled.module, compiled.plan, composed_blocks(compiled))
        # K' as a Conv on K's flipped kernel, and the other rewrites: see export/rewrite.optimize
        proto = optimize(onnx.load_from_string(exported))
    if metadata:
        certify.embed(proto, certify.recipe(compiled, proto))
        certify.embed_spec(proto, compiled)
    return proto


def composed_blocks(compiled: Compiled) -> dict[int, int]:
    """The blocks (index -> steps) whose steps are one traced step composed in the ONNX
    graph: those whose analysed update repeats one step (`plan.composable`) and whose
    generated class holds its step count as `steps` (and, where the step is reversible,
    the step as `step`, its inverse as `unstep`)."""
    from pde2net.export.compose import stepped

    chosen = {}
    for block in compiled.plan.blocks:
        holder = getattr(compiled.module, f"block{block.index}", None)
        if (
            block.composed
            and getattr(holder, "steps", None) == block.steps
            and stepped(holder) == block.reversible  # `one_step` marks `step`
        ):
            chosen[block.index] = block.steps
    return chosen


def export_compiled(compiled: Compiled) -> tuple[bytes, dict[str, Any]]:
    """The ONNX model of the module as it is now (fresh or trained), with its embedded
    spec and certificate recipe, verified in onnxruntime; and the verification record."""
    from pde2net.export.onnx import OPSET, torch_threads, verify

    model = export_graph(compiled).SerializeToString(deterministic=True)
    with torch_threads(1):
        verification = verify(model, compiled.module, compiled.plan)
    record = {
        "opset": OPSET,
        "input": "input",
        "output": "output",
        "dynamic_spatial": compiled.plan.spatial_dynamic,
        **verification.to_dict(),
    }
    return model, record


def plan_checked(checked: Checked, reversible: bool = False) -> Plan:
    """The plan of a checked spec that `compile` can build: refused (SpecError) past a
    compile budget in force, or with a number float32 cannot hold."""
    from pde2net.api import preflight
    from pde2net.plan import make_plan

    preflight(checked.network)  # the compile budgets, before anything is built
    return make_plan(checked, reversible=reversible)


def build_outputs(
    spec: Plan | Checked,
    quantize: str | None = None,
    calibration: np.ndarray | None = None,
    moved: Callable[[], dict[str, bytes] | None] | None = None,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The three output files' bytes, keyed by suffix, and the final report, of a checked
    spec or its plan (`plan_checked`).

    The ONNX model is verified in onnxruntime before anything is returned, so a failing
    export raises instead of producing files. `quantize="int8"` adds `.int8.onnx`,
    calibrated on `calibration` (inputs (N, C, …); default: standard-normal inputs).
    `moved`: certify's perturbed export, where it ran beside this (`certify.perturbed`).
    """
    import onnx

    from pde2net.export import certify

    compiled = build(spec) if isinstance(spec, Plan) else build(plan_checked(spec), spec)
    model, record = export_compiled(compiled)
    certify.remember(compiled, onnx.load_from_string(model), moved)  # no recompile later
    report = dict(compiled.report)
    report["onnx"] = record
    outputs = {".py": compiled.source.encode(), ".onnx": model}
    if quantize == "int8":
        outputs[".int8.onnx"], report["int8"] = quantize_compiled(compiled, model, calibration)
    elif quantize is not None:
        raise ValueError(f"unknown quantization {quantize!r} (only int8)")
    outputs[".report.json"] = (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()
    return outputs, report


def quantize_compiled(
    compiled: Compiled, model: bytes, calibration: np.ndarray | None = None
) -> tuple[bytes, dict[str, Any]]:
    """The int8 model and how far it is from the float one on inputs it was not
    calibrated on (the last quarter of `calibration`, or fresh standard-normal inputs)."""
    from pde2net.export.onnx import calibration_inputs, compare_int8, quantize_int8

    if calibration is None:
        source = "standard normal (no calibration data given)"
        calibration = calibration_inputs(compiled.plan, 64, seed=2)
        held_out = calibration_inputs(compiled.plan, 64, seed=3)
    else:
        source = "given"
        cut = len(calibration) - len(calibration) // 4 if len(calibration) >= 8 else None
        calibration, held_out = (
            (calibration[:cut], calibration[cut:]) if cut else (calibration, calibration)
        )
    int8 = quantize_int8(model, calibration)
    record = {
        "format": "QDQ: int8 Conv weights per output channel, uint8 activations (min/max)",
        "calibration": {"source": source, "samples": len(calibration)},
        "against_float": compare_int8(model, int8, held_out),
    }
    return int8, record
