"""Helpers the generated module inlines, only those it uses, so it depends on torch alone."""

from __future__ import annotations

CONV_WEIGHT = '''
def conv_weight(c_out: int, c_in: int, *kernel: int) -> nn.Parameter:
    """A convolution kernel, initialised like torch.nn.Conv's default."""
    weight = torch.empty(c_out, c_in, *kernel)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return nn.Parameter(weight)
'''

CONV_ADJOINT = '''
def conv_adjoint(
    x: torch.Tensor, weight: torch.Tensor, padding: int | tuple[int, ...], groups: int = 1
) -> torch.Tensor:
    """K' x, the adjoint of the zero-padded stride-1 convolution conv(x, K, padding).
    On images and volumes it runs as the convolution with K's transposed, flipped kernel
    (the same sums; torch's CPU conv_transpose is up to 5.6 times slower there, 8 -> 1
    channels at 512x512); on signals, and when traced, as conv_transpose (the ONNX
    export rewrites it into that same Conv on K, export/rewrite.py)."""
    dims = weight.dim() - 2
    pads = (padding,) * dims if isinstance(padding, int) else tuple(padding)
    inward = tuple(k - 1 - p for k, p in zip(weight.shape[2:], pads))
    if dims == 1 or torch.jit.is_tracing() or min(inward) < 0:
        conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[dims - 1]
        return conv_t(x, weight, padding=padding, groups=groups)
    c_in, c_out, *kernel = weight.shape  # c_out per group
    flipped = weight.flip(list(range(2, 2 + dims)))
    flipped = flipped.reshape(groups, c_in // groups, c_out, *kernel).transpose(1, 2)
    conv = (F.conv2d, F.conv3d)[dims - 2]
    weight = flipped.reshape(groups * c_out, c_in // groups, *kernel)
    return conv(x, weight, padding=inward, groups=groups)
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

NORM_BOUND = """
class NormBound(nn.Module):
    \"\"\"Rescales a convolution kernel so that its zero-padded convolution has operator
    norm at most `bound` at every input size.

    Every zero-padded convolution is a compression of the infinite (Toeplitz) one, whose
    norm is sup over frequencies θ of σ_max(K̂(θ)), K̂ the c_out × c_in Fourier symbol.
    K̂ is a trigonometric polynomial of degree d_i = ⌈(k_i - 1) / 2⌉ in θ_i (up to a
    phase), so by Bernstein's inequality its sup is at most `factor` = 1 / (1 - π Σ d_i /
    n) times its largest value on the n^D grid of frequencies 2πj/n, the FFT of the
    zero-padded kernel. The kernel is scaled so that this upper bound stays within `bound`.

    Training: one power iteration per frequency and step from persistent vectors (as
    spectral normalization does), differentiable through the symbol. Evaluation (and so
    the exported model): the exact largest singular value at every frequency, in float64,
    once per weight update, with a relative `margin` for rounding (of the FFT and the
    eigensolver, and of the scaled kernel to float32). The ONNX export folds the scale
    into the weight.\"\"\"

    def __init__(self, bound: float, shape: tuple[int, ...], grid: int) -> None:
        super().__init__()
        self.bound = bound
        kernel = shape[2:]
        self.grid = tuple(grid if k > 1 else 1 for k in kernel)
        self.dims = tuple(range(2, 2 + len(kernel)))
        degree = sum(k // 2 for k in kernel)
        self.factor = 1.0 / (1.0 - math.pi * degree / grid)
        taps = math.prod(kernel) * min(shape[0], shape[1])
        self.margin = 2.0**-22 * math.sqrt(taps) + 1e-9
        frequencies = math.prod(self.grid[:-1]) * (self.grid[-1] // 2 + 1)
        v = torch.randn(frequencies, shape[1], 2, generator=torch.Generator().manual_seed(0))
        self.register_buffer("v", v / torch.linalg.vector_norm(v, dim=(1, 2), keepdim=True))
        self.register_buffer("scale", torch.ones(()))
        self._seen: tuple[int, int] | None = None

    def symbol(self, weight: torch.Tensor) -> torch.Tensor:
        \"\"\"K̂ at the grid's frequencies 2πj/n (half of them: K̂(-θ) is the conjugate of
        K̂(θ)), as a batch of c_out × c_in matrices: the FFT of the zero-padded kernel,
        computed as one matrix product with the phases (cheaper to differentiate).\"\"\"
        c_out, c_in, *kernel = weight.shape
        last = len(kernel) - 1
        axes = [
            torch.arange(n // 2 + 1 if i == last else n, dtype=torch.float64) * (2 * math.pi / n)
            for i, n in enumerate(self.grid)
        ]
        theta = torch.stack([g.reshape(-1) for g in torch.meshgrid(*axes, indexing="ij")], -1)
        offsets = [torch.arange(k, dtype=torch.float64) for k in kernel]
        taps = torch.stack([g.reshape(-1) for g in torch.meshgrid(*offsets, indexing="ij")], -1)
        angle = -(theta @ taps.T)
        phases = torch.complex(torch.cos(angle), torch.sin(angle)).to(weight.device)
        dtype = torch.complex128 if weight.dtype == torch.float64 else torch.complex64
        flat = weight.reshape(c_out * c_in, -1).T.to(dtype)
        return (phases.to(dtype) @ flat).reshape(-1, c_out, c_in)

    def upper(self, weight: torch.Tensor) -> torch.Tensor:
        \"\"\"The training estimate of the upper bound: factor times the largest of the
        per-frequency power-iteration estimates of σ_max (one more iteration each).\"\"\"
        hat = self.symbol(weight)
        with torch.no_grad():
            v = torch.view_as_complex(self.v).to(hat.dtype).unsqueeze(-1)
            u = hat @ v
            u = u / torch.linalg.vector_norm(u, dim=1, keepdim=True).clamp_min(1e-30)
            v = hat.mH @ u
            v = v / torch.linalg.vector_norm(v, dim=1, keepdim=True).clamp_min(1e-30)
            self.v = torch.view_as_real(v.squeeze(-1)).to(self.v.dtype)
        sigma = torch.sum(u.conj() * (hat @ v), dim=(1, 2)).real
        return self.factor * sigma.max()

    @torch.no_grad()
    def exact_upper(self, weight: torch.Tensor) -> float:
        \"\"\"The upper bound with the exact σ_max at every frequency, in float64.\"\"\"
        hat = self.symbol(weight.double())
        gram = hat.mH @ hat if hat.shape[-1] <= hat.shape[-2] else hat @ hat.mH
        largest = float(torch.linalg.eigvalsh(gram)[:, -1].max())
        return self.factor * math.sqrt(max(largest, 0.0))

    @torch.no_grad()
    def _converged_scale(self, weight: torch.Tensor) -> torch.Tensor:
        \"\"\"bound / the upper bound (at most 1), less the margin.\"\"\"
        upper = self.exact_upper(weight)
        scale = min(self.bound * (1 - self.margin) / max(upper, 1e-300), 1.0)
        return torch.tensor(scale, dtype=self.scale.dtype)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._seen = None
            scale = torch.clamp(self.bound / self.upper(weight), max=1.0)
            self.scale.copy_(scale.detach())
            return weight * scale
        seen = (weight.data_ptr(), weight._version)
        if seen != self._seen:  # once per weight update (and before an export traces it)
            self.scale.copy_(self._converged_scale(weight.detach()))
            self._seen = seen
        if bool(self.scale == 1):
            return weight
        return weight * self.scale
"""

STENCIL = '''
def _take(x: torch.Tensor, axis: int, start: int | None, stop: int | None) -> torch.Tensor:
    """x[..., start:stop] on the axis-th axis from the end (static bounds export well)."""
    return x[(Ellipsis, slice(start, stop)) + (slice(None),) * axis]


def pad(u: torch.Tensor, pads: tuple[int, ...], mode: str, value: float = 0.0) -> torch.Tensor:
    """Ghost cells by the boundary rule, pads ordered as F.pad's (last axis first);
    "constant" holds them at `value` (zero, or dirichlet's b). One F.pad, which exports
    as one ONNX Pad; circular ghost cells are traced (the ONNX export) as slices and
    concatenation, as opset 18 has no wrapping Pad. Both copy the same values."""
    if mode != "circular" or not torch.jit.is_tracing():
        return F.pad(u, pads, mode, value) if mode == "constant" else F.pad(u, pads, mode)
    for axis in range(len(pads) // 2):
        lo, hi = pads[2 * axis], pads[2 * axis + 1]
        left = [_take(u, axis, -lo, None)] if lo else []
        right = [_take(u, axis, None, hi)] if hi else []
        u = torch.cat([*left, u, *right], -1 - axis)
    return u


def pad_adjoint(w: torch.Tensor, pads: tuple[int, ...], mode: str) -> torch.Tensor:
    """The adjoint of `pad`: ghost cells fold back onto the cells they copied
    (replicate, circular) or vanish (zero). Run eagerly, replicate ghost cells fold by
    torch's own replication-pad backward and zero ones are cropped by one negative pad
    (one operator each, where slices take up to a dozen); traced, the same sums are
    slices counted from the ends (static bounds, any grid size), each taken once, as
    every slice costs the export five nodes."""
    dims = len(pads) // 2
    if not torch.jit.is_tracing() and mode in ("replicate", "constant") and dims <= 3:
        if mode == "constant":
            return F.pad(w, tuple(-p for p in pads))
        shape = list(w.shape)
        for axis in range(dims):
            shape[-1 - axis] -= pads[2 * axis] + pads[2 * axis + 1]
        fold = (
            torch.ops.aten.replication_pad1d_backward,
            torch.ops.aten.replication_pad2d_backward,
            torch.ops.aten.replication_pad3d_backward,
        )[dims - 1]
        return fold(w, w.new_empty(shape), list(pads))
    for axis in range(dims):
        lo, hi = pads[2 * axis], pads[2 * axis + 1]
        if not lo and not hi:
            continue
        dim = -1 - axis
        end = -hi if hi else None
        if mode == "replicate":  # all ghost cells onto the edge cell
            if lo:
                left = _take(w, axis, 0, lo)
                left = left.sum(dim, keepdim=True) if lo > 1 else left
                first = _take(w, axis, lo, lo + 1) + left
                w = torch.cat([first, _take(w, axis, lo + 1, None)], dim)  # hi's ghosts kept
            if hi:
                right = _take(w, axis, -hi, None)
                right = right.sum(dim, keepdim=True) if hi > 1 else right
                last = _take(w, axis, -hi - 1, -hi) + right
                w = torch.cat([_take(w, axis, None, -hi - 1), last], dim)
            continue
        inner = _take(w, axis, lo, end)
        if mode == "circular":  # each ghost cell onto the cell it wrapped from
            if hi:
                head = _take(inner, axis, None, hi) + _take(w, axis, -hi, None)
                inner = torch.cat([head, _take(inner, axis, hi, None)], dim)
            if lo:
                tail = _take(inner, axis, -lo, None) + _take(w, axis, 0, lo)
                inner = torch.cat([_take(inner, axis, None, -lo), tail], dim)
        w = inner
    return w


def stencil(
    u: torch.Tensor,
    kernel: torch.Tensor,
    pads: tuple[int, ...],
    mode: str,
    groups: int,
    value: float = 0.0,
) -> torch.Tensor:
    """A fixed stencil on each of `groups` channels: ghost cells by the boundary rule
    (held at `value` outside the domain when constant), then each of the m filters in
    `kernel` (m, 1, *k); c channels give c * m."""
    conv = (F.conv1d, F.conv2d, F.conv3d)[kernel.dim() - 3]
    weight = kernel if groups == 1 else kernel.repeat(groups, *([1] * (kernel.dim() - 1)))
    return conv(pad(u, pads, mode, value), weight, groups=groups)


def stencil_adjoint(
    v: torch.Tensor, kernel: torch.Tensor, pads: tuple[int, ...], mode: str, groups: int
) -> torch.Tensor:
    """The exact adjoint (matrix transpose) of `stencil`, boundary rule included: the
    full transposed convolution (`conv_adjoint`, no padding), then the ghost cells folded."""
    weight = kernel if groups == 1 else kernel.repeat(groups, *([1] * (kernel.dim() - 1)))
    return pad_adjoint(conv_adjoint(v, weight, 0, groups), pads, mode)
'''

MULTIGRID = """
def prolong(x: torch.Tensor, kernel: torch.Tensor, c: int) -> torch.Tensor:
    \"\"\"Prolongation P (cell-centred linear interpolation, kernel 2^d [1, 3, 3, 1] / 8 per
    axis): a transposed strided convolution, n / 2 -> n, with Neumann ghost cells.\"\"\"
    conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[kernel.dim() - 3]
    d = kernel.dim() - 2
    weight = kernel.repeat(c, *([1] * (kernel.dim() - 1))) * 2**d
    return conv_t(pad(x, (1, 1) * d, "replicate"), weight, stride=2, padding=3, groups=c)


def restrict(x: torch.Tensor, kernel: torch.Tensor, c: int) -> torch.Tensor:
    \"\"\"Restriction R = P' / 2^d with the same kernel: the strided convolution, n -> n / 2.\"\"\"
    conv = (F.conv1d, F.conv2d, F.conv3d)[kernel.dim() - 3]
    d = kernel.dim() - 2
    weight = kernel.repeat(c, *([1] * (kernel.dim() - 1)))
    return pad_adjoint(conv(x, weight, stride=2, padding=3, groups=c), (1, 1) * d, "replicate")


def coarsen(g: torch.Tensor) -> torch.Tensor:
    \"\"\"The diffusivity on the next coarser grid: the mean over each 2^d block.\"\"\"
    return (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[g.dim() - 3](g, 2)


def multigrid_cycle(
    apply,
    diagonal,
    v: torch.Tensor,
    b: torch.Tensor,
    g: torch.Tensor,
    transfer: torch.Tensor,
    shape: tuple[int, int, int, float, int, int, int],
    level: int = 0,
) -> torch.Tensor:
    \"\"\"One V-cycle (gamma = 1) or W-cycle (gamma = 2) on (I - apply(., g, level)) v = b
    from grid `level` down: the U-net. `shape` is (levels, pre, post, omega, coarse,
    channels, gamma): damped-Jacobi smoothing before and after, the residual restricted,
    corrected on the coarser grid by gamma cycles there (the skip connection) and
    prolonged back; conjugate gradients on the coarsest grid.\"\"\"
    levels, pre, post, omega, coarse, c, gamma = shape
    if level == levels - 1:
        return conjugate_gradients(lambda p: apply(p, g, level), b, v, coarse)
    d = 1 + diagonal(g, level)
    v = jacobi(lambda w: apply(w, g, level), b, v, d, omega, pre)
    residual = restrict(b - v + apply(v, g, level), transfer, c)
    coarse_g = coarsen(g)
    correction = repeat(
        lambda w: multigrid_cycle(
            apply, diagonal, w, residual, coarse_g, transfer, shape, level + 1
        ),
        torch.zeros_like(residual),
        gamma,
    )
    v = v + prolong(correction, transfer, c)
    return jacobi(lambda w: apply(w, g, level), b, v, d, omega, post)
"""

SOLVERS = """
def repeat(step, v, n: int):
    \"\"\"n applications of one step, v = step(v), v a tensor or a tuple of them: a
    solver's iterations or cycles.\"\"\"
    for _ in range(n):
        v = step(v)
    return v


def fixed_point(apply, b: torch.Tensor, v: torch.Tensor, n: int) -> torch.Tensor:
    \"\"\"n fixed-point iterations v = b + apply(v) on (I - apply) v = b.\"\"\"
    for _ in range(n):
        v = b + apply(v)
    return v


def jacobi(
    apply, b: torch.Tensor, v: torch.Tensor, d: torch.Tensor, omega: float, n: int
) -> torch.Tensor:
    \"\"\"n damped-Jacobi steps on (I - apply) v = b, d its diagonal: residual blocks.\"\"\"
    for _ in range(n):
        v = v + omega * (b - v + apply(v)) / d
    return v


def conjugate_gradients(apply, b: torch.Tensor, v: torch.Tensor, n: int) -> torch.Tensor:
    \"\"\"n conjugate-gradient steps on (I - apply) v = b, per sample.\"\"\"
    dims = tuple(range(1, b.dim()))
    r = b - v + apply(v)
    rr = (r * r).sum(dim=dims, keepdim=True)

    def iteration(state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        v, r, p, rr = state
        ap = p - apply(p)
        alpha = rr / (p * ap).sum(dim=dims, keepdim=True).clamp_min(1e-30)
        v = v + alpha * p
        r = r - alpha * ap
        rr_next = (r * r).sum(dim=dims, keepdim=True)
        return v, r, r + rr_next / rr.clamp_min(1e-30) * p, rr_next

    return repeat(iteration, (v, r, r, rr), n)[0]
"""

FOURIER = """
def _dft(n: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    \"\"\"cos and sin of 2 pi j k / n, the DFT matrix's real and minus its imaginary part;
    j k is reduced mod n in integers first, so the angle is accurate before rounding.\"\"\"
    k = torch.arange(n, device=like.device)
    jk = (k[:, None] * k[None, :]) % n
    angle = jk.to(like.dtype) * (2 * math.pi / n)
    return torch.cos(angle), torch.sin(angle)


def _frequencies(n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.arange(n, device=like.device).to(like.dtype) * (2 * math.pi / n)


def _stencil_symbol(b: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    \"\"\"l(theta) = sum_k w_k cos(k . theta) on the grid of b's last one or two axes.\"\"\"
    if b.dim() == 3:
        phase = offsets[:, 0, None] * _frequencies(b.shape[-1], b)[None, :]
        return (weights[:, None] * torch.cos(phase)).sum(0)
    t1 = offsets[:, 0, None, None] * _frequencies(b.shape[-2], b)[None, :, None]
    t2 = offsets[:, 1, None, None] * _frequencies(b.shape[-1], b)[None, None, :]
    return (weights[:, None, None] * torch.cos(t1 + t2)).sum(0)


def _gram_symbol(b: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    \"\"\"|D_c(theta)|^2 per channel for the depthwise cross-correlation with `kernel`
    (c, 1, *k), centred: D(theta) = sum_o D[o] exp(i (o - k // 2) . theta), as matrix
    products with the kernel (so its gradient flows and ONNX keeps the grid size free).\"\"\"
    c, k = kernel.shape[0], kernel.shape[2:]
    grid = b.shape[2:]
    phase = torch.zeros((), dtype=b.dtype, device=b.device)
    for axis in range(len(k)):
        o = torch.arange(k[axis], device=b.device).to(b.dtype) - (k[axis] // 2)
        f = _frequencies(grid[axis], b)
        phase = phase + (o[:, None] * f[None, :]).reshape(
            *[k[axis] if i == axis else 1 for i in range(len(k))],
            *[grid[axis] if i == axis else 1 for i in range(len(k))],
        )
    taps = math.prod(k)
    phase = phase.reshape(taps, -1)
    w = kernel.reshape(c, taps)
    re, im = w @ torch.cos(phase), w @ torch.sin(phase)
    return (re * re + im * im).reshape(c, *grid)


def _fourier_divide(b: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    \"\"\"Each mode of b's real DFT (matrix products, which export to ONNX at any size)
    multiplied by m.\"\"\"
    if b.dim() == 3:
        n = b.shape[-1]
        c, s = _dft(n, b)
        re, im = m * (b @ c), -m * (b @ s)
        return (re @ c - im @ s) / n
    rows, cols = b.shape[-2], b.shape[-1]
    ch, sh = _dft(rows, b)
    cw, sw = _dft(cols, b)
    cb, sb = ch @ b, sh @ b
    re = m * (cb @ cw - sb @ sw)
    im = -m * (sb @ cw + cb @ sw)
    return (ch @ re @ cw - sh @ im @ cw - sh @ re @ sw - ch @ im @ sw) / (rows * cols)


def periodic_solve(
    b: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor, tau: float, *grams
) -> torch.Tensor:
    \"\"\"The exact solve of (I - tau L) v = b on the periodic grid, L = the depthwise
    stencil with the real symbol l(theta) = sum_k w_k cos(k . theta) minus, for each pair
    (c, D) in `grams`, c D' D with D a learned depthwise kernel: each mode of the real DFT
    divided by 1 - tau l(theta) + tau sum c |D(theta)|^2 >= 1.\"\"\"
    symbol = _stencil_symbol(b, offsets, weights)
    for coeff, kernel in zip(grams[::2], grams[1::2]):
        symbol = symbol - coeff * _gram_symbol(b, kernel)
    return _fourier_divide(b, 1 / (1 - tau * symbol))
"""

REVERSIBLE = """
class _ReversibleSteps(torch.autograd.Function):
    \"\"\"Runs `step` `steps` times without storing the intermediate states. The
    backward pass reconstructs each step's input with `unstep` and recomputes that one
    step to backpropagate through it, so memory does not grow with depth.\"\"\"

    @staticmethod
    def forward(ctx, step, unstep, steps: int, n: int, *inputs: torch.Tensor):
        state = tuple(inputs[:n])
        with torch.no_grad():
            for j in range(steps):
                state = step(state, j)
        ctx.step, ctx.unstep, ctx.steps, ctx.n = step, unstep, steps, n
        ctx.params = inputs[n:]
        ctx.save_for_backward(*state)
        return state

    @staticmethod
    def backward(ctx, *grads: torch.Tensor):
        n, params = ctx.n, ctx.params
        state = ctx.saved_tensors
        grads = tuple(grads)
        param_grads = [torch.zeros_like(p) for p in params]
        for j in reversed(range(ctx.steps)):
            with torch.no_grad():
                previous = ctx.unstep(state, j)
            with torch.enable_grad():
                inputs = tuple(s.detach().requires_grad_() for s in previous)
                outputs = ctx.step(inputs, j)
                found = torch.autograd.grad(outputs, inputs + params, grads, allow_unused=True)
            grads = tuple(torch.zeros_like(s) if g is None else g for g, s in zip(found[:n], inputs))
            for k, g in enumerate(found[n:]):
                if g is not None:
                    param_grads[k] += g
            state = previous
        return (None, None, None, None, *grads, *param_grads)


def reversible_steps(step, unstep, block: nn.Module, state: tuple[torch.Tensor, ...], steps: int):
    \"\"\"`steps` calls of `step` (a method of `block`) whose backward pass stores no
    intermediate state.\"\"\"
    params = tuple(p for p in block.parameters() if p.requires_grad)
    return _ReversibleSteps.apply(step, unstep, steps, len(state), *state, *params)
"""
