"""Export a generated module to ONNX and prove, in onnxruntime, that it computes the same.

The TorchScript exporter is used (`dynamo=False`): it gives the same graph as the
torch.export-based one for these feed-forward modules in a fraction of the time
(0.15 s against 3 s for a one-block model on this machine; see docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import onnx
import torch

from pde2net.plan import Plan

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


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch on `n` intra-op threads inside the block, the previous number restored after.

    The compile pipeline traces and verifies on one thread: those are a few small forward
    passes, as fast on one thread of an idle machine, and on a busy one they do not stall
    at every operator waiting for a descheduled OpenMP thread (seconds instead of 0.2 s;
    docs/benchmarks.md)."""
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def export_bytes(
    module: torch.nn.Module, plan: Plan, composed: dict[int, int] | None = None
) -> bytes:
    """The ONNX model: opset 18, input `input`, output `output`, dynamic batch (and
    spatial sizes where the layout allows), weights embedded. The blocks `composed`
    (index -> steps) are traced for one step and their steps composed in the graph
    (`export/compose.py`)."""
    from pde2net.export.compose import compose_steps, one_step

    composed = composed or {}
    module.eval()
    example = torch.randn(2, *plan.input.shape, generator=torch.Generator().manual_seed(0))
    axes = {0: "batch"}
    if plan.spatial_dynamic:
        axes.update({2 + i: f"size{i}" for i in range(plan.input.dims)})
    out_axes = {0: "batch"}
    if plan.spatial_dynamic:
        out_axes.update({2 + i: f"size{i}" for i in range(len(plan.output_shape) - 1)})
    buffer = io.BytesIO()
    # the markers' domain (export/compose.py) gets opset 1 by default; naming it in
    # custom_opsets makes the exporter warn on stderr whenever no marker was traced
    with warnings.catch_warnings(), torch.no_grad(), one_step(module, composed):
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
            keep_initializers_as_inputs=True,  # no value deduplication: see _own_initializers
            dynamo=False,
        )
    model = _own_initializers(compose_steps(onnx.load_from_string(buffer.getvalue())))
    model.producer_name = "pde2net"
    model.doc_string = f"{plan.name}, compiled by pde2net"
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


def _own_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its initializers no longer listed as graph inputs.

    The exporter merges initializers of equal value into one unless they are exported as
    inputs; merged, a freshly initialised model (BatchNorm scales all ones) and a trained
    one (all different) have different graphs, and certify could not tell training from
    tampering. So the export keeps them apart, and this drops them from the inputs again:
    the deployed model has one input, and the weights are constants of the graph."""
    held = {i.name for i in model.graph.initializer}
    kept = [v for v in model.graph.input if v.name not in held]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return model


def verify(
    model: bytes, module: torch.nn.Module, plan: Plan, batches: tuple[int, ...] = (1, 3)
) -> Verification:
    """Run the ONNX model in onnxruntime against the torch module on fresh inputs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1  # small inputs; see torch_threads
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    module.eval()
    result = Verification()
    generator = torch.Generator().manual_seed(1)
    channels = plan.input.shape[0]
    for spatial in plan.verification_shapes:
        for batch in batches:
            x = sample_inputs(plan, (batch, channels, *spatial), generator)
            with torch.no_grad():
                expected = module(x).numpy()
            if not np.all(np.isfinite(expected)):
                raise overflow_error(module, plan, x)
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


def calibration_inputs(plan: Plan, samples: int = 64, seed: int = 2) -> np.ndarray:
    """Inputs at the declared shape from the data's declared range (standard normal
    when the spec declares none): the calibration data when none is given, drawn as
    `verify` draws."""
    generator = torch.Generator().manual_seed(seed)
    return sample_inputs(plan, (samples, *plan.input.shape), generator).numpy()


def sample_inputs(plan: Plan, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Inputs the network is for: uniform on `input … in [low, high]`, else N(0, 1)."""
    if plan.input.range is None:
        return torch.randn(*shape, generator=generator)
    low, high = plan.input.range
    return low + (high - low) * torch.rand(*shape, generator=generator)


def overflow_error(module: torch.nn.Module, plan: Plan, x: torch.Tensor) -> Exception:
    """The network's own overflow on the verifier's inputs, as a located spec problem:
    the first layer whose output is not finite, found by rerunning with hooks."""
    from pde2net.lang.errors import SpecError

    first: list[str] = []

    def hook(name: str):
        def check(_module: torch.nn.Module, _inputs: object, output: object) -> None:
            tensor = isinstance(output, torch.Tensor)
            if not first and tensor and not bool(torch.isfinite(output).all()):
                first.append(name)

        return check

    handles = [child.register_forward_hook(hook(n)) for n, child in module.named_children()]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
    where, loc = "the network", plan.input.loc
    blocks = {f"block{b.index}": b for b in plan.blocks}
    if first and first[0] in blocks:
        block = blocks[first[0]]
        where, loc = f"{block.label} by {block.scheme}", block.loc
    elif first:
        where = f"layer {first[0]}"
    hint = (
        "declare the range of the data, e.g. `input image(1, 64, 64) in [0, 1]`, "
        "and the verifier draws from it"
        if plan.input.range is None
        else "the scheme is not stable on this range"
    )
    return SpecError(
        f"the network overflows on {plan.input.range_text} of shape {tuple(x.shape)}: "
        f"{where} is the first to give non-finite values ({hint})",
        loc,
    )


def quantize_int8(model: bytes, calibration: np.ndarray, batch: int = 8) -> bytes:
    """Static int8 quantization with onnxruntime.quantization, calibrated on data.

    The constant subgraphs (K' = flip(K)ᵀ) are folded first, so every convolution has
    an initializer weight; then each Conv gets int8 weights (per output channel) and
    uint8 activations whose ranges are the min/max seen on `calibration` (N, C, …),
    in QDQ form, which onnxruntime runs as QLinearConv. Everything else stays float.
    The int8 model is a separate file: it is not certifiable (its weights are rounded).
    """
    import logging
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    data = np.ascontiguousarray(calibration, dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(range(0, len(data), batch))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self.batches, None)
            return None if start is None else {"input": data[start : start + batch]}

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer logs advice as warnings
    try:
        with tempfile.TemporaryDirectory(prefix="pde2net-int8-") as tmp:
            fp32, folded, int8 = (Path(tmp) / n for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
            fp32.write_bytes(model)
            quant_pre_process(str(fp32), str(folded), skip_symbolic_shape=True)
            quantize_static(
                str(folded),
                str(int8),
                Reader(),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=["Conv"],
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
            quantized = onnx.load(str(int8))
    finally:
        logging.getLogger().setLevel(quiet)
    quantized.producer_name = "pde2net"
    quantized.doc_string = "int8 (static, QDQ), compiled by pde2net"
    return quantized.SerializeToString(deterministic=True)


def compare_int8(
    fp32: bytes, int8: bytes, inputs: np.ndarray, labels: np.ndarray | None = None
) -> dict[str, object]:
    """The int8 model against the float one on `inputs`: deviation, top-1 agreement for
    classifiers, and accuracy of both when `labels` are given."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    outs = []
    for model in (fp32, int8):
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        outs.append(
            np.concatenate(
                [
                    session.run(["output"], {"input": inputs[i : i + 32]})[0]
                    for i in range(0, len(inputs), 32)
                ]
            )
        )
    ref, got = outs
    scale = float(np.max(np.abs(ref))) or 1.0
    result: dict[str, object] = {
        "samples": len(inputs),
        "max_rel_error": float(np.max(np.abs(got - ref))) / scale,
        "mean_rel_error": float(np.mean(np.abs(got - ref))) / scale,
    }
    if ref.ndim == 2 and ref.shape[1] > 1:
        result["top1_agreement"] = float(np.mean(ref.argmax(1) == got.argmax(1)))
        if labels is not None:
            result["accuracy_fp32"] = float(np.mean(ref.argmax(1) == labels))
            result["accuracy_int8"] = float(np.mean(got.argmax(1) == labels))
    return result
