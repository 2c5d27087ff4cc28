"""The compile pipeline after the analysis: generate, build, export, verify, serialise."""

from __future__ import annotations

import json
from typing import Any

from pde2net.api import Checked, compile_checked


def build_outputs(checked: Checked) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The three output files' bytes, keyed by suffix, and the final report.

    The ONNX model is verified in onnxruntime before anything is returned, so a failing
    export raises instead of producing files.
    """
    from pde2net.export.onnx import OPSET, export_bytes, verify

    compiled = compile_checked(checked)
    model = export_bytes(compiled.module, compiled.network)
    verification = verify(model, compiled.module, compiled.network)
    report = dict(compiled.report)
    report["onnx"] = {
        "opset": OPSET,
        "input": "input",
        "output": "output",
        "dynamic_spatial": compiled.network.spatial_dynamic,
        **verification.to_dict(),
    }
    report_bytes = (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()
    return (
        {".py": compiled.source.encode(), ".onnx": model, ".report.json": report_bytes},
        report,
    )
