"""`pde2net evaluate`: the accuracy or PSNR of a deployed ONNX model on a dataset, run in
onnxruntime, as a deployer checks it before shipping."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pde2net.train.datasets import DataError, Dataset, load, psnr


def _meta(model) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def declared_input(model_path: str | Path) -> tuple[list[int | None], dict[str, Any] | None]:
    """The model's input shape without the batch axis (None where dynamic), preferring
    the shape pde2net recorded at compile time; and the training normalisation, if any."""
    import onnx

    from pde2net.export.certify import KEY
    from pde2net.train.loop import NORMALIZATION_KEY

    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception as err:
        raise DataError(f"{model_path}: cannot read an ONNX model: {err}") from None
    meta = _meta(model)
    norm = json.loads(meta[NORMALIZATION_KEY]) if NORMALIZATION_KEY in meta else None
    dims = model.graph.input[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else None for d in dims[1:]]
    if KEY in meta:
        recorded = json.loads(meta[KEY]).get("input_shape")
        if recorded and len(recorded) == len(shape):
            shape = [int(v) for v in recorded]
    return shape, norm


def evaluate_onnx(
    model_path: str | Path,
    data_name: str,
    data_root: str | None = None,
    batch_size: int = 256,
    threads: int | None = None,
) -> dict[str, Any]:
    """Accuracy (%) for labelled data, PSNR (dB) for denoising, of the ONNX model on the
    test split of `data_name`."""
    import onnxruntime as ort

    shape, norm = declared_input(model_path)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    known = None if any(d is None for d in shape) else tuple(shape)
    data = load(data_name, known, root=data_root)
    _check(data, shape, model_path)
    x = data.x_test
    if norm is not None:
        from pde2net.train.loop import Normalization

        x = Normalization(norm["mean"], norm["std"]).apply(x)
    name = session.get_inputs()[0].name
    started = time.perf_counter()
    outputs = []
    for i in range(0, len(x), batch_size):
        batch = np.ascontiguousarray(x[i : i + batch_size].numpy(), dtype=np.float32)
        outputs.append(session.run(None, {name: batch})[0])
    seconds = time.perf_counter() - started
    out = torch.from_numpy(np.concatenate(outputs))
    result: dict[str, Any] = {
        "model": str(model_path),
        "dataset": data.name,
        "samples": len(x),
        "normalization": norm is not None,
        "seconds": round(seconds, 3),
    }
    if data.task == "classification":
        if out.dim() != 2:
            raise DataError(
                f"{model_path}: the model outputs {tuple(out.shape[1:])} per sample, not class "
                f"scores, but {data.source or data.name} is labelled for classification"
            )
        classes = int(max(data.y_train.max(), data.y_test.max())) + 1
        classes = max(classes, data.classes or 0)
        if classes > out.shape[1]:
            raise DataError(
                f"{data.source or data.name}: {classes} classes but {model_path} has "
                f"{out.shape[1]} outputs"
            )
        result["accuracy"] = float((out.argmax(1) == data.y_test).float().mean() * 100)
    else:
        if tuple(out.shape) != tuple(data.y_test.shape):
            raise DataError(
                f"{data.source or data.name}: targets of shape {tuple(data.y_test.shape[1:])} "
                f"but {model_path} outputs {tuple(out.shape[1:])}"
            )
        result["psnr"] = psnr(out, data.y_test)
        result["input_psnr"] = psnr(data.x_test, data.y_test) if x.shape == out.shape else None
    return result


def _check(data: Dataset, shape: list[int | None], model_path) -> None:
    held = tuple(data.input_shape)
    fits = len(held) == len(shape) and all(
        d is None or d == h for d, h in zip(shape, held, strict=True)
    )
    if not fits:
        expected = ", ".join("?" if d is None else str(d) for d in shape)
        raise DataError(
            f"{data.source or data.name}: the data hold inputs of shape {held} but "
            f"{model_path} takes (N, {expected})"
        )
