"""Export a generated module to ONNX and prove, in onnxruntime, that it computes the same.

The TorchScript exporter is used (`dynamo=False`): it gives the same graph as the
torch.export-based one for these feed-forward modules in a fraction of the time
(0.15 s against 3 s for a one-block model on this machine; see docs/benchmarks.md).
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import onnx
import torch

from pde2net import ir

OPSET = 18
TOLERANCE = 1e-4  # maximum relative deviation: max |ort - torch| / max |torch|


class VerificationError(Exception):
    """onnxruntime disagrees with torch: the export is wrong and is not kept."""


@dataclass
class Verification:
    """What the onnxruntime run measured, one entry per (batch, spatial size) tried."""

    runs: list[dict[str, object]] = field(default_factory=list)

    @property
    def max_abs_error(self) -> float:
        return max(float(r["max_abs_error"]) for r in self.runs)

    @property
    def max_rel_error(self) -> float:
        return max(float(r["max_rel_error"]) for r in self.runs)

    def to_dict(self) -> dict[str, object]:
        return {
            "runtime": "onnxruntime",
            "tolerance_rel": TOLERANCE,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "runs": self.runs,
        }


def export_bytes(module: torch.nn.Module, network: ir.Network) -> bytes:
    """The ONNX model: opset 18, input `input`, output `output`, dynamic batch (and
    spatial sizes where the layout allows), weights embedded."""
    module.eval()
    example = torch.randn(2, *network.input.shape, generator=torch.Generator().manual_seed(0))
    axes = {0: "batch"}
    if network.spatial_dynamic:
        axes.update({2 + i: f"size{i}" for i in range(network.input.dims)})
    out_axes = {0: "batch"}
    if network.spatial_dynamic:
        out_axes.update({2 + i: f"size{i}" for i in range(len(network.output_shape) - 1)})
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            buffer,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": axes, "output": out_axes},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    model.producer_name = "pde2net"
    model.doc_string = f"{network.name}, compiled by pde2net"
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


def verification_shapes(network: ir.Network) -> list[tuple[int, ...]]:
    """Spatial sizes to verify at: the declared one and, for dynamic layouts, a second."""
    declared = network.input.shape[1:]
    if not network.spatial_dynamic or not declared:
        return [declared]
    factor = 1
    for layer in network.layers:
        if isinstance(layer, ir.PoolLayer):
            factor *= layer.size
        elif isinstance(layer, ir.ConvLayer):
            factor *= layer.stride
        elif isinstance(layer, ir.Block) and layer.scheme.name == "multigrid":
            factor *= 2 ** (int(layer.scheme.args["levels"]) - 1)
    other = tuple(max(factor, (s // 2) // factor * factor) for s in declared)
    if other == declared:
        other = tuple(s + factor for s in declared)
    return [declared, other]


def verify(
    model: bytes, module: torch.nn.Module, network: ir.Network, batches: tuple[int, ...] = (1, 3)
) -> Verification:
    """Run the ONNX model in onnxruntime against the torch module on fresh inputs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    module.eval()
    result = Verification()
    generator = torch.Generator().manual_seed(1)
    channels = network.input.shape[0]
    for spatial in verification_shapes(network):
        for batch in batches:
            x = torch.randn(batch, channels, *spatial, generator=generator)
            with torch.no_grad():
                expected = module(x).numpy()
            (got,) = session.run(["output"], {"input": x.numpy()})
            if got.shape != expected.shape:
                raise VerificationError(
                    f"onnxruntime gives shape {got.shape}, torch {expected.shape} "
                    f"for input {tuple(x.shape)}"
                )
            abs_err = float(np.max(np.abs(got - expected))) if got.size else 0.0
            scale = float(np.max(np.abs(expected))) if expected.size else 0.0
            rel_err = abs_err / scale if scale > 0 else abs_err
            finite = bool(np.all(np.isfinite(got)))
            result.runs.append(
                {
                    "input_shape": list(x.shape),
                    "max_abs_error": abs_err,
                    "max_rel_error": rel_err,
                    "finite": finite,
                }
            )
            if not finite or not math.isfinite(rel_err) or rel_err > TOLERANCE:
                raise VerificationError(
                    f"onnxruntime deviates from torch by {rel_err:.3g} (relative) for input "
                    f"{tuple(x.shape)}; the tolerance is {TOLERANCE:g}"
                )
    return result
