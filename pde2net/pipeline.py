"""The compile pipeline after the analysis: generate, build, export, verify, serialise."""

from __future__ import annotations

import json
from typing import Any

from pde2net.api import Checked, Compiled, compile_checked


def export_compiled(compiled: Compiled) -> tuple[bytes, dict[str, Any]]:
    """The ONNX model of the module as it is now (fresh or trained), with its
    certificate recipe, verified in onnxruntime; and the verification record."""
    import onnx

    from pde2net.export import certify
    from pde2net.export.onnx import OPSET, export_bytes, verify

    exported = export_bytes(compiled.module, compiled.network)
    proto = onnx.load_from_string(exported)
    certify.embed(proto, certify.recipe(compiled, proto))
    model = proto.SerializeToString(deterministic=True)
    verification = verify(model, compiled.module, compiled.network)
    record = {
        "opset": OPSET,
        "input": "input",
        "output": "output",
        "dynamic_spatial": compiled.network.spatial_dynamic,
        **verification.to_dict(),
    }
    return model, record


def build_outputs(checked: Checked) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The three output files' bytes, keyed by suffix, and the final report.

    The ONNX model is verified in onnxruntime before anything is returned, so a failing
    export raises instead of producing files.
    """
    compiled = compile_checked(checked)
    model, record = export_compiled(compiled)
    report = dict(compiled.report)
    report["onnx"] = record
    report_bytes = (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()
    return (
        {".py": compiled.source.encode(), ".onnx": model, ".report.json": report_bytes},
        report,
    )
