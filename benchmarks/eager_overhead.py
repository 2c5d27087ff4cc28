"""The generated torch module's per-call overhead on small inputs, side by side in one run:
its forward pass in torch (no grad, one thread) with `pad` as one F.pad (as generated),
the same with `pad` as slices and concatenation (`sliced_pad`, as generated before issue
18), and onnxruntime (one thread) on the written graph; interleaved, best of 5.

    python -m benchmarks.eager_overhead [--quick] [--out benchmarks/results/eager_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPECS = (
    "classic/heat_1d.pde",
    "classic/heat_2d.pde",
    "classic/wave_2d.pde",
    "classic/perona_malik_1d.pde",
    "alt_2023/explicit.pde",
    "alt_2023/implicit.pde",
)


def sliced_pad(u: Any, pads: tuple[int, ...], mode: str, value: float = 0.0) -> Any:
    """Ghost cells as the generated `pad` made them before issue 18: a slice per side
    and axis, and a concatenation."""
    import torch

    for axis in range(len(pads) // 2):
        lo, hi = pads[2 * axis], pads[2 * axis + 1]
        dim = u.dim() - 1 - axis
        first, last = u.narrow(dim, 0, 1), u.narrow(dim, u.shape[dim] - 1, 1)
        if mode == "circular":
            left = [u.narrow(dim, u.shape[dim] - lo, lo)] if lo else []
            right = [u.narrow(dim, 0, hi)] if hi else []
        elif mode == "replicate":
            left, right = [first] * lo, [last] * hi
        else:
            left, right = [torch.full_like(first, value)] * lo, [torch.full_like(first, value)] * hi
        u = torch.cat([*left, u, *right], dim)
    return u


def _best(run: Any, seconds: float) -> float:
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        run()
        n += 1
    return (time.perf_counter() - started) / n


def measure(quick: bool = False) -> list[dict[str, Any]]:
    import numpy as np
    import onnxruntime as ort
    import torch

    from pde2net.api import check_spec, compile_checked
    from pde2net.export.onnx import export_bytes, torch_threads
    from pde2net.pipeline import composed_blocks

    torch.set_num_threads(1)
    rows = []
    for name in SPECS[:2] if quick else SPECS:
        compiled = compile_checked(check_spec(ROOT / "specs" / name))
        module = compiled.module.eval()
        with torch_threads(1):
            model = export_bytes(module, compiled.plan, composed_blocks(compiled))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        shape = (1, *compiled.network.input.shape)
        x = torch.from_numpy(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
        steps = sum(b.steps for b in compiled.network.blocks)
        feed = {"input": x.numpy()}

        def eager(module=module, x=x) -> None:
            with torch.no_grad():
                module(x)

        namespace = vars(sys.modules[type(module).__module__])

        def sliced(module=module, x=x, namespace=namespace) -> None:
            generated = namespace.get("pad")  # None: no ghost cells (convolutions pad)
            namespace["pad"] = sliced_pad if generated is not None else None
            try:
                with torch.no_grad():
                    module(x)
            finally:
                if generated is None:
                    del namespace["pad"]
                else:
                    namespace["pad"] = generated

        def onnxruntime(session=session, feed=feed) -> None:
            session.run(None, feed)

        runs = {"torch": eager, "torch, sliced pad": sliced, "onnxruntime": onnxruntime}
        best = {k: float("inf") for k in runs}
        for _ in range(1 if quick else 5):  # interleaved
            for k, run in runs.items():
                run()
                best[k] = min(best[k], _best(run, 0.05 if quick else 0.4))
        rows.append(
            {
                "spec": name,
                "shape": list(shape),
                "steps": steps,
                **{f"{k} ms": v * 1e3 for k, v in best.items()},
                "torch us/step": best["torch"] / steps * 1e6,
                "sliced / F.pad": best["torch, sliced pad"] / best["torch"],
                "torch / onnxruntime": best["torch"] / best["onnxruntime"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test (CI)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "eager_overhead.json"
    )
    args = parser.parse_args()
    rows = measure(quick=args.quick)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
