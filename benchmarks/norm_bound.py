"""The cost of `enforce = true` per training step: the rigorous NormBound (FFT of the
zero-padded kernel on enforce's grid, one power iteration per frequency, Bernstein
factor) against the power-iteration estimate at the declared size it replaced.

One enforced parabolic block, `dt(u) = -K' relu(K u)` by euler(steps = 3), on a batch of
32 images; a training step is forward, backward and an SGD update. Reported: the median
seconds of the NormBound calls alone and of the whole step, each way, and the ratios.
Run: `python -m benchmarks.norm_bound [CHANNELS SIZE]`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

SPEC = """
pde parabolic(c) {{
    state u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}}
network bench {{
    input image({c}, {n}, {n})
    parabolic({c}) by euler(h = 1, steps = 3, enforce = true)
    globalavgpool
    output linear({c} -> 10)
}}
"""

# NormBound before issue 13: power iteration at the block's declared spatial size (a copy
# of the training path, so the comparison does not depend on the git history)
OLD_NORM_BOUND = """
class OldNormBound(nn.Module):
    def __init__(self, bound, shape, padding):
        super().__init__()
        self.bound = bound
        self.padding = padding
        self.conv = F.conv1d if len(shape) == 2 else F.conv2d
        self.conv_t = F.conv_transpose1d if len(shape) == 2 else F.conv_transpose2d
        v = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
        self.register_buffer("v", v / torch.linalg.vector_norm(v))
        self.register_buffer("scale", torch.ones(()))

    def forward(self, weight):
        with torch.no_grad():
            v = self.conv_t(self.conv(self.v, weight, padding=self.padding), weight,
                            padding=self.padding)
            self.v = v / torch.linalg.vector_norm(v)
        norm = torch.linalg.vector_norm(self.conv(self.v, weight, padding=self.padding))
        scale = torch.clamp(self.bound / norm, max=1.0)
        self.scale.copy_(scale.detach())
        return weight * scale
"""


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def measure(channels: int = 32, size: int = 32, repeats: int = 15) -> dict[str, float]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    import pde2net

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pde"
        path.write_text(SPEC.format(c=channels, n=size))
        compiled = pde2net.compile_file(str(path))
    module = compiled.module
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(OLD_NORM_BOUND, namespace)
    new_bounds = module.block1.K_bound
    old_bounds = nn.ModuleList(
        namespace["OldNormBound"](b.bound, (channels, size, size), (1, 1)) for b in new_bounds
    )
    x = torch.randn(32, channels, size, size, generator=torch.Generator().manual_seed(0))
    target = torch.randint(0, 10, (32,), generator=torch.Generator().manual_seed(1))
    optimizer = torch.optim.SGD(module.parameters(), lr=1e-3)
    out: dict[str, float] = {"channels": channels, "size": size}
    for label, bounds in (("power_iteration", old_bounds), ("bernstein_fft", new_bounds)):
        module.block1.K_bound = bounds
        module.train()
        only, steps = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            for j, weight in enumerate(module.block1.K):
                bounds[j](weight)
            only.append(time.perf_counter() - start)
            start = time.perf_counter()
            loss = F.cross_entropy(module(x), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps.append(time.perf_counter() - start)
        out[f"{label}_norm_bound_s"] = _median(only)
        out[f"{label}_step_s"] = _median(steps)
    module.block1.K_bound = new_bounds
    out["norm_bound_ratio"] = (
        out["bernstein_fft_norm_bound_s"] / out["power_iteration_norm_bound_s"]
    )
    out["step_ratio"] = out["bernstein_fft_step_s"] / out["power_iteration_step_s"]
    module.eval()
    start = time.perf_counter()
    for j, weight in enumerate(module.block1.K):
        new_bounds[j]._seen = None
        new_bounds[j](weight)
    out["bernstein_fft_eval_refresh_s"] = time.perf_counter() - start
    return out


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(measure(*args), indent=2))
