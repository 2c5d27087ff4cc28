"""Helpers the generated module inlines, only those it uses, so it depends on torch alone."""

from __future__ import annotations

CONV_WEIGHT = '''
def conv_weight(c_out: int, c_in: int, *kernel: int) -> nn.Parameter:
    """A convolution kernel, initialised like torch.nn.Conv's default."""
    weight = torch.empty(c_out, c_in, *kernel)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return nn.Parameter(weight)
'''

TVNORM = '''
class TVNorm(nn.Module):
    """Total-variation normalization: u / sqrt(sum over channels of u^2 + eps) at each
    point, then a per-channel scale and bias (Ruthotto & Haber 2018)."""

    def __init__(self, channels: int, eps: float, affine: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        u = u * torch.rsqrt(torch.sum(u * u, dim=1, keepdim=True) + self.eps)
        if self.weight is None:
            return u
        shape = (1, -1) + (1,) * (u.dim() - 2)
        return u * self.weight.view(shape) + self.bias.view(shape)
'''

NORM_BOUND = '''
class NormBound(nn.Module):
    """Rescales a convolution kernel so that the operator norm of the convolution stays
    at most `bound`. The norm is estimated by power iteration on the operator itself
    (conv, then conv_transpose, at the block's spatial size), one iteration per training
    step from a persistent vector, as spectral normalization does."""

    def __init__(self, bound: float, shape: tuple[int, ...], padding: tuple[int, ...]) -> None:
        super().__init__()
        self.bound = bound
        self.padding = padding
        self.conv = F.conv1d if len(shape) == 2 else F.conv2d
        self.conv_t = F.conv_transpose1d if len(shape) == 2 else F.conv_transpose2d
        v = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
        self.register_buffer("v", v / torch.linalg.vector_norm(v))
        self.register_buffer("scale", torch.ones(()))
        self._seen: tuple[int, int] | None = None

    def _iterate(
        self, v: torch.Tensor, weight: torch.Tensor, iterations: int, tol: float
    ) -> torch.Tensor:
        """Power iteration on KᵀK from the unit vector v, until the estimate settles."""
        previous = 0.0
        for _ in range(iterations):
            v = self.conv_t(self.conv(v, weight, padding=self.padding), weight, padding=self.padding)
            estimate = float(torch.linalg.vector_norm(v))
            v = v / max(estimate, 1e-300)
            if abs(estimate - previous) <= tol * estimate:
                break
            previous = estimate
        return v

    @torch.no_grad()
    def _power_iteration(self, weight: torch.Tensor, iterations: int, tol: float = 0.0) -> None:
        v = self._iterate(self.v.to(weight.dtype), weight, iterations, tol)
        self.v = v.to(self.v.dtype)  # new: the previous one may still be in the autograd graph

    @torch.no_grad()
    def _converged_scale(self, weight: torch.Tensor) -> torch.Tensor:
        """bound / ‖K‖₂ (at most 1). ‖K‖₂ is the larger of two power iterations run to
        convergence in float64: from the persistent vector, and from the fixed start
        that `pde2net certify` uses, so that the certificate measures what was enforced
        (power iteration approaches ‖K‖₂ from below and can stall near a close second
        singular value). A margin of 1e-6 absorbs the rounding of the kernel to float32."""
        w = weight.double()
        self._power_iteration(w, 1000, tol=1e-12)
        start = torch.randn(
            self.v.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
        fixed = self._iterate(start / torch.linalg.vector_norm(start), w, 1000, 1e-12)
        norm = max(
            float(torch.linalg.vector_norm(self.conv(v, w, padding=self.padding)))
            for v in (self.v.double(), fixed)
        )
        scale = min(self.bound * (1 - 1e-6) / max(norm, 1e-300), 1.0)
        return torch.tensor(scale, dtype=self.scale.dtype)

    def norm(self, weight: torch.Tensor) -> torch.Tensor:
        """The current estimate of the operator norm of conv(·, weight)."""
        return torch.linalg.vector_norm(self.conv(self.v, weight, padding=self.padding))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        exporting = torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling()
        if self.training:
            self._seen = None
            self._power_iteration(weight, 1)
            scale = torch.clamp(self.bound / self.norm(weight), max=1.0)
            self.scale.copy_(scale.detach())
            return weight * scale
        seen = (weight.data_ptr(), weight._version)
        if not exporting and seen != self._seen:  # converge once per weight update
            self.scale.copy_(self._converged_scale(weight))
            self._seen = seen
        return weight * self.scale
'''

STENCIL = '''
def _take(x: torch.Tensor, axis: int, start: int | None, stop: int | None) -> torch.Tensor:
    """x[..., start:stop] on the axis-th axis from the end (static bounds export well)."""
    return x[(Ellipsis, slice(start, stop)) + (slice(None),) * axis]


def pad(u: torch.Tensor, pads: tuple[int, ...], mode: str) -> torch.Tensor:
    """Ghost cells by the boundary rule, pads ordered as F.pad's (last axis first).
    Built from slices and concatenation, which export to a handful of ONNX nodes."""
    for axis in range(len(pads) // 2):
        lo, hi = pads[2 * axis], pads[2 * axis + 1]
        if not (lo or hi):
            continue
        if mode == "replicate":
            left, right = [_take(u, axis, 0, 1)] * lo, [_take(u, axis, -1, None)] * hi
        elif mode == "circular":
            left = [_take(u, axis, -lo, None)] if lo else []
            right = [_take(u, axis, None, hi)] if hi else []
        else:
            zero = torch.zeros_like(_take(u, axis, 0, 1))
            left, right = [zero] * lo, [zero] * hi
        u = torch.cat([*left, u, *right], -1 - axis)
    return u


def pad_adjoint(w: torch.Tensor, pads: tuple[int, ...], mode: str) -> torch.Tensor:
    """The adjoint of `pad`: ghost cells fold back onto the cells they copied
    (replicate, circular) or vanish (zero)."""
    for axis in range(len(pads) // 2):
        lo, hi = pads[2 * axis], pads[2 * axis + 1]
        dim = -1 - axis
        inner = _take(w, axis, lo, -hi if hi else None)
        left, right = _take(w, axis, 0, lo), _take(w, axis, -hi if hi else None, None)
        if mode == "replicate":
            if lo:
                first = _take(inner, axis, 0, 1) + left.sum(dim, keepdim=True)
                inner = torch.cat([first, _take(inner, axis, 1, None)], dim)
            if hi:
                last = _take(inner, axis, -1, None) + right.sum(dim, keepdim=True)
                inner = torch.cat([_take(inner, axis, None, -1), last], dim)
        elif mode == "circular":
            if hi:
                head = _take(inner, axis, None, hi) + right
                inner = torch.cat([head, _take(inner, axis, hi, None)], dim)
            if lo:
                tail = _take(inner, axis, -lo, None) + left
                inner = torch.cat([_take(inner, axis, None, -lo), tail], dim)
        w = inner
    return w


def stencil(
    u: torch.Tensor, kernel: torch.Tensor, pads: tuple[int, ...], mode: str, groups: int
) -> torch.Tensor:
    """A fixed stencil on each of `groups` channels: ghost cells by the boundary rule,
    then each of the m filters in `kernel` (m, 1, *k); c channels give c * m."""
    conv = F.conv1d if kernel.dim() == 3 else F.conv2d
    weight = kernel.repeat(groups, *([1] * (kernel.dim() - 1)))
    return conv(pad(u, pads, mode), weight, groups=groups)


def stencil_adjoint(
    v: torch.Tensor, kernel: torch.Tensor, pads: tuple[int, ...], mode: str, groups: int
) -> torch.Tensor:
    """The exact adjoint (matrix transpose) of `stencil`, boundary rule included."""
    conv_t = F.conv_transpose1d if kernel.dim() == 3 else F.conv_transpose2d
    weight = kernel.repeat(groups, *([1] * (kernel.dim() - 1)))
    return pad_adjoint(conv_t(v, weight, groups=groups), pads, mode)
'''

MULTIGRID = """
def prolong(x: torch.Tensor, kernel: torch.Tensor, c: int) -> torch.Tensor:
    \"\"\"Prolongation P (cell-centred linear interpolation, kernel 2^d [1, 3, 3, 1] / 8 per
    axis): a transposed strided convolution, n / 2 -> n, with Neumann ghost cells.\"\"\"
    conv_t = F.conv_transpose1d if kernel.dim() == 3 else F.conv_transpose2d
    d = kernel.dim() - 2
    weight = kernel.repeat(c, *([1] * (kernel.dim() - 1))) * 2**d
    return conv_t(pad(x, (1, 1) * d, "replicate"), weight, stride=2, padding=3, groups=c)


def restrict(x: torch.Tensor, kernel: torch.Tensor, c: int) -> torch.Tensor:
    \"\"\"Restriction R = P' / 2^d with the same kernel: the strided convolution, n -> n / 2.\"\"\"
    conv = F.conv1d if kernel.dim() == 3 else F.conv2d
    d = kernel.dim() - 2
    weight = kernel.repeat(c, *([1] * (kernel.dim() - 1)))
    return pad_adjoint(conv(x, weight, stride=2, padding=3, groups=c), (1, 1) * d, "replicate")


def coarsen(g: torch.Tensor) -> torch.Tensor:
    \"\"\"The diffusivity on the next coarser grid: the mean over each 2^d block.\"\"\"
    return F.avg_pool1d(g, 2) if g.dim() == 3 else F.avg_pool2d(g, 2)
"""

REVERSIBLE = """
class _ReversibleSteps(torch.autograd.Function):
    \"\"\"Runs the steps of a reversible block without storing its intermediate states.
    The backward pass reconstructs each step's input with `unstep` and recomputes that
    one step to backpropagate through it, so memory does not grow with depth.\"\"\"

    @staticmethod
    def forward(ctx, block: nn.Module, steps: int, n: int, *inputs: torch.Tensor):
        state = tuple(inputs[:n])
        with torch.no_grad():
            for j in range(steps):
                state = block.step(state, j)
        ctx.block, ctx.steps, ctx.n = block, steps, n
        ctx.save_for_backward(*state)
        return state

    @staticmethod
    def backward(ctx, *grads: torch.Tensor):
        block, n = ctx.block, ctx.n
        params = tuple(p for p in block.parameters() if p.requires_grad)
        state = ctx.saved_tensors
        grads = tuple(grads)
        param_grads = [torch.zeros_like(p) for p in params]
        for j in reversed(range(ctx.steps)):
            with torch.no_grad():
                previous = block.unstep(state, j)
            with torch.enable_grad():
                inputs = tuple(s.detach().requires_grad_() for s in previous)
                outputs = block.step(inputs, j)
                found = torch.autograd.grad(outputs, inputs + params, grads, allow_unused=True)
            grads = tuple(torch.zeros_like(s) if g is None else g for g, s in zip(found[:n], inputs))
            for k, g in enumerate(found[n:]):
                if g is not None:
                    param_grads[k] += g
            state = previous
        return (None, None, None, *grads, *param_grads)


def reversible_steps(block: nn.Module, state: tuple[torch.Tensor, ...], steps: int):
    \"\"\"`steps` steps of `block` whose backward pass stores no intermediate state.\"\"\"
    params = tuple(p for p in block.parameters() if p.requires_grad)
    return _ReversibleSteps.apply(block, steps, len(state), *state, *params)
"""
