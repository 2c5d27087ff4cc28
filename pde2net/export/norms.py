"""Rigorous bounds on the operator norm ‖K‖₂ of a learned convolution.

A zero-padded convolution on an N₁ × … × N_D grid (stride s, c_in → c_out channels) is a
compression of the infinite one on ℓ²(ℤ^D), a block-Toeplitz operator: restrict the input
to the grid and keep the outputs the grid produces. So ‖K_N‖₂ ≤ ‖T‖₂ at every size, and
‖K_N‖₂ is non-decreasing in each N_i (the grids nest). For stride 1, ‖T‖₂ is the sup over
frequencies θ ∈ [-π, π)^D of σ_max(K̂(θ)), K̂(θ) = Σ_m K_m e^{-i m·θ} the c_out × c_in
Fourier symbol; for stride s, splitting the input into its s^D phases (a permutation, so
an isometry) turns the convolution into a stride-1 one with c_in · s^D input channels, the
*polyphase* kernel, whose symbol this module bounds.

**Upper bound** (`norm_upper`): K̂ is a trigonometric polynomial of degree d_i = ⌈(k'_i -
1)/2⌉ in θ_i after a phase shift (k'_i the polyphase kernel's length), with values in
matrices under the operator norm. Bernstein's inequality holds for such polynomials (apply
the scalar one to ℓ(P(θ)) for a norming functional ℓ), so ‖∂_i K̂‖₂ ≤ d_i M with M =
sup_θ ‖K̂(θ)‖₂. For a cube C of half-width r_i around a sampled frequency c, moving one
coordinate at a time, ‖K̂(θ)‖₂ ≤ ‖K̂(c)‖₂ + M Σ_i d_i r_i on C; where the sup is attained,
M ≤ ‖K̂(c)‖₂ / (1 - ρ_C), ρ_C = Σ_i d_i r_i < 1. The cubes cover the torus, so M ≤
max_C ‖K̂(c_C)‖₂ / (1 - ρ_C). On a uniform n-point grid this is the classic sampling bound
max_grid / (1 - π Σ d_i / n) (Pfister & Bresler 2019; Araujo et al. 2021), which
`enforce = true` uses (`grid_upper`); `norm_upper` refines the cubes whose bound is the
largest (branch and bound, each cube split in 3 per axis so its centre is reused) until
the upper bound is within a tolerance of the largest sample, or a budget is spent.

**Rounding.** Samples are evaluated in float64 directly from the kernel (no FFT), so each
entry of K̂(c) has an absolute error of at most (2π k' + k' + 8)·u·Σ_m |K_m| per entry
(u = 2⁻⁵³: the exponentials' phase error, the sums, the complex products) and the symbol
an error of at most `entry_error` in the operator norm (bounded by Frobenius). σ_max comes
from the eigenvalues of the smaller Gram matrix, formed with error ≤ γ_c ‖A‖²_F ≤ γ_c ·
rank · ‖A‖², eigvalsh being backward stable (error ≤ p(c) u ‖G‖₂; p(c) = 16 c is taken);
`_RELATIVE` covers both with a factor 4 to spare, and the square root a further u.

**Lower bound** (`norm_lower`): the Rayleigh quotient ‖K_N v‖/‖v‖ of a vector v after a
few power iterations on K_Nᵀ K_N at a grid size N (float64, less its rounding error): a
lower bound of ‖K_N‖₂, and so (monotonicity) of the norm at every larger size. Certify
measures it at the declared (or the given) size, capped at `LOWER_CAP` per axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

U = 2.0**-53
TOLERANCE = 1e-2  # relative gap between the upper bound and the largest sample
GRID_SLACK = 0.1  # π Σ d_i / n at most this in enforce's grid bound (factor ≤ 1.11)
LOWER_CAP = 16  # the lower bound's grid, per axis, at most
BUDGET = 1.0  # seconds (by a cost model) the branch and bound may spend on one kernel
CENTRES = 4  # cubes per generation whose centre σ is computed (for the lower bound)
LOWER_FLOPS = 2e8  # flops of power iteration for one lower bound


@dataclass(frozen=True)
class Bounds:
    """‖K‖₂ ∈ [lower, upper]: `upper` at every input size, `lower` at `size` and up."""

    lower: float
    upper: float
    sup_lower: float  # the largest sampled σ_max: a lower bound of the sup over sizes
    samples: int
    size: tuple[int, ...] | None


def polyphase(weight: np.ndarray, stride: tuple[int, ...]) -> np.ndarray:
    """The stride-1 kernel (c_out, c_in · ∏s, *⌈k/s⌉) of a stride-s convolution: tap
    s·m + p of phase p becomes tap m of input channel (i, p). Padding only shifts the
    infinite operator (an isometry) and is left out."""
    w = np.asarray(weight, dtype=np.float64)
    dims = w.ndim - 2
    stride = tuple(stride) if stride else (1,) * dims
    if all(s == 1 for s in stride):
        return w
    c_out, c_in, *kernel = w.shape
    lengths = [-(-k // s) for k, s in zip(kernel, stride, strict=True)]
    padded = np.zeros(
        (c_out, c_in, *[n * s for n, s in zip(lengths, stride, strict=True)]), dtype=np.float64
    )
    padded[(slice(None), slice(None), *[slice(0, k) for k in kernel])] = w
    # split each axis of length n*s into (n, s), then move the phases next to c_in
    shape = [c_out, c_in]
    for n, s in zip(lengths, stride, strict=True):
        shape += [n, s]
    split = padded.reshape(shape)
    order = [0, 1, *[3 + 2 * i for i in range(dims)], *[2 + 2 * i for i in range(dims)]]
    return split.transpose(order).reshape(c_out, c_in * math.prod(stride), *lengths)


def degrees(kernel: tuple[int, ...]) -> tuple[int, ...]:
    """Degree of the symbol in each θ_i, after the phase shift that centres its taps."""
    return tuple(k // 2 for k in kernel)


def enforcement_grid(kernel: tuple[int, ...]) -> int:
    """The FFT grid `enforce = true` samples the symbol on: the smallest power of two n ≥ 8
    with π Σ d_i / n ≤ GRID_SLACK (so its Bernstein factor is at most 1/(1 - GRID_SLACK))."""
    total = sum(degrees(tuple(kernel)))
    n = 8
    while math.pi * total / n > GRID_SLACK:
        n *= 2
    return n


def _relative(c_out: int, c_in: int) -> float:
    """Relative rounding error of a computed σ_max, given the symbol's (see the module)."""
    small, big = min(c_out, c_in), max(c_out, c_in)
    gram = (big + 2) * U / (1 - (big + 2) * U) * small  # γ_c · rank
    eig = 16 * small * U
    return 4 * (gram + eig) + 2 * U


def entry_error(w: np.ndarray) -> float:
    """A bound on ‖fl(K̂(θ)) - K̂(θ)‖₂ for the direct evaluation in `sigma_at`."""
    taps = int(math.prod(w.shape[2:]))
    spread = sum(w.shape[2:])
    per_entry = (2 * math.pi * spread + taps + 8) * U
    total = np.abs(w).reshape(w.shape[0], w.shape[1], -1).sum(-1)
    return 2 * per_entry * float(np.linalg.norm(total))


def _sigma(matrices: np.ndarray) -> np.ndarray:
    """σ_max of each matrix in a batch (B, c_out, c_in), from the eigenvalues of the
    smaller Gram matrix."""
    a = np.asarray(matrices)
    ah = np.conj(np.swapaxes(a, -1, -2))
    gram = ah @ a if a.shape[-1] <= a.shape[-2] else a @ ah
    largest = np.linalg.eigvalsh(gram)[:, -1]
    return np.sqrt(np.maximum(largest, 0.0))


def symbol_at(w: np.ndarray, thetas: np.ndarray, derivative: int | None = None) -> np.ndarray:
    """K̂(θ) (or ∂K̂/∂θ_derivative) of the stride-1 kernel w at each row of `thetas`
    (B, D), as a complex128 array (B, c_out, c_in); the taps centred (a phase: the norms
    are unchanged)."""
    dims = w.ndim - 2
    if dims not in (1, 2, 3):
        raise ValueError(f"{dims}D kernels are not supported")
    c_out, c_in = w.shape[:2]
    taps = np.ascontiguousarray(w.reshape(c_out * c_in, -1).T).astype(np.complex128)
    phases = np.ones((len(thetas), 1), dtype=np.complex128)
    for i in range(dims):
        k = w.shape[2 + i]
        m = np.arange(k) - (k - 1) // 2
        f = np.exp(-1j * np.outer(thetas[:, i], m))  # (B, k_i)
        if derivative == i:
            f = f * (-1j * m)
        phases = (phases[:, :, None] * f[:, None, :]).reshape(len(thetas), -1)
    return (phases @ taps).reshape(len(thetas), c_out, c_in)


def sigma_at(w: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """Computed σ_max(K̂(θ)) of the (stride-1) kernel w at each row of `thetas` (B, D)."""
    return _sigma(symbol_at(w, thetas))


def _seconds(w: np.ndarray) -> float:
    """About how long one σ_max takes (a Gram matrix and its eigenvalues), for budgets
    that do not depend on the machine's load."""
    c_out, c_in = w.shape[:2]
    small, big = min(c_out, c_in), max(c_out, c_in)
    taps = math.prod(w.shape[2:])
    return 4e-5 + 2.4e-9 * small * small * (small + big / 2) + 4e-9 * c_out * c_in * taps


def _cubes(n: int, dims: int, split: list[int]) -> int:
    """The number of initial cubes: n per split axis, half of that on the last."""
    return n ** (len(split) - 1) * max(1, -(-n // 2)) if split else 1


def sup_bounds(
    w: np.ndarray,
    target: float | None = None,
    tolerance: float = TOLERANCE,
    seconds: float = BUDGET,
) -> tuple[float, float, int, np.ndarray | None]:
    """(lower, upper, evaluations, argmax) of sup_θ σ_max(K̂(θ)) for a stride-1 kernel w, by
    branch and bound on cubes of frequencies with the second-order cell bound (see the
    module). With a `target`, it stops once the upper bound is within it or the lower
    bound beyond it. `seconds` (by a cost model, not the clock) caps the evaluations."""
    w = np.asarray(w, dtype=np.float64)
    dims = w.ndim - 2
    if not np.all(np.isfinite(w)):
        return math.inf, math.inf, 0, None
    d = np.array(degrees(tuple(w.shape[2:])), dtype=np.float64)
    rel = _relative(*w.shape[:2])
    err = entry_error(w)
    split = [i for i in range(dims) if d[i] > 0]
    if not split:  # a constant symbol: its one value is the norm
        s = float(sigma_at(w, np.zeros((1, dims)))[0])
        return max(s * (1 - rel) - err, 0.0), (s + err) * (1 + rel), 1, np.zeros(dims)
    budget = max(64, int(seconds / _seconds(w)))
    signs = np.stack(
        [g.ravel() for g in np.meshgrid(*[np.array([-1.0, 1.0])] * len(split), indexing="ij")],
        axis=-1,
    )  # the cube's vertices, (2^D', D')

    def evaluate(centres: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per cube: a lower bound of σ(c) (0 for all but the CENTRES most promising),
        and the largest vertex value ‖K̂(c) + Σ ±r_i ∂_iK̂(c)‖, rounded up."""
        p = symbol_at(w, centres)
        derivatives = [float(radius[i]) * symbol_at(w, centres, i) for i in split]
        v = np.zeros(len(p))
        for sign in signs:
            vertex = p.copy()
            for s_j, b in zip(sign, derivatives, strict=True):
                vertex += b if s_j > 0 else -b
            v = np.maximum(v, _sigma(vertex))
        grow = 1 + float(d @ radius)  # the vertex matrices' rounding grows with Σ d_i r_i
        v = (v + 2 * err * grow) * (1 + rel)
        # σ at the centres of the most promising cubes: rigorous lower bounds of the sup
        top = np.argsort(-v)[:CENTRES]
        s = np.zeros(len(p))
        s[top] = _sigma(p[top])
        lo = np.where(s > 0, np.maximum(s * (1 - rel) - err, 0.0), 0.0)
        return lo, v

    # the initial cubes: σ(-θ) = σ(θ) for a real kernel, so the last split axis only
    # needs [0, π]; ρ = Σ d_i r_i about 0.8
    n = max(2, math.ceil(math.pi * float(d.sum()) / 0.8))
    coarsest = max(2, math.ceil(math.pi * float(d.sum()) / 1.3))  # ρ² < 2 still
    while n > coarsest and _cubes(n, dims, split) * len(signs) > budget:
        n -= 1  # a coarser start when the budget cannot pay for this one
    half = max(1, -(-n // 2))
    axes, widths = [], []
    for i in range(dims):
        if d[i] == 0:
            axes.append(np.zeros(1))
            widths.append(math.pi)
        elif i == split[-1]:
            axes.append((2 * np.arange(half) + 1) * math.pi / (2 * half))
            widths.append(math.pi / (2 * half))
        else:
            axes.append(-math.pi + (2 * np.arange(n) + 1) * math.pi / n)
            widths.append(math.pi / n)
    centres = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=-1)
    radius = np.array(widths)
    # cubes are refined in generations (one radius each); a cube's bound is kept for
    # good once it is within the goal (goals only grow)
    lo, vert = evaluate(centres, radius)
    per_cube = len(signs)
    evaluations = len(centres) * per_cube
    lower = float(lo.max())
    best = centres[int(np.argmax(lo))]
    halves = np.stack(
        [g.ravel() for g in np.meshgrid(*[np.array([-0.5, 0.5])] * len(split), indexing="ij")],
        axis=-1,
    )
    # the generations still open: (centres, radius, bound)
    open_cubes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def bound_of(vert: np.ndarray, radius: np.ndarray) -> np.ndarray:
        rho = float(d @ radius)
        return vert / (1 - rho * rho / 2) if rho * rho < 2 else np.full(len(vert), math.inf)

    open_cubes.append((centres, radius, bound_of(vert, radius)))
    frozen = 0.0
    while True:
        upper = max([frozen] + [float(b.max()) for _, _, b in open_cubes if len(b)])
        goal = lower * (1 + tolerance)
        if target is not None:
            if upper <= target or lower > target:
                break
            goal = max(goal, target)
        if upper <= goal:
            break
        # the worst cubes first, as many as the budget allows
        everything = [(b[i], g, i) for g, (_, _, b) in enumerate(open_cubes) for i in range(len(b))]
        candidates = sorted((x for x in everything if x[0] > goal), reverse=True)
        room = (budget - evaluations) // (len(halves) * per_cube)
        if room < 1:
            break
        chosen = candidates[:room]
        picked: dict[int, list[int]] = {}
        for _, g, i in chosen:
            picked.setdefault(g, []).append(i)
        survivors = []
        for g, (c, r, b) in enumerate(open_cubes):
            mask = np.zeros(len(b), dtype=bool)
            mask[picked.get(g, [])] = True
            rest = ~mask & (b > goal)
            frozen = max(frozen, float(b[~mask & ~rest].max(initial=0.0)))
            if rest.any():
                survivors.append((c[rest], r, b[rest]))
            if mask.any():
                step = np.zeros((len(halves), dims))
                step[:, split] = halves * r[split]
                kids = (c[mask][:, None, :] + step[None]).reshape(-1, dims)
                r_kid = r.copy()
                r_kid[split] /= 2
                k_lo, k_vert = evaluate(kids, r_kid)
                evaluations += len(kids) * per_cube
                if float(k_lo.max()) > lower:
                    lower = float(k_lo.max())
                    best = kids[int(np.argmax(k_lo))]
                survivors.append((kids, r_kid, bound_of(k_vert, r_kid)))
        open_cubes = survivors
    return lower, upper, evaluations, best


def grid_upper(w: np.ndarray, n: int) -> float:
    """The uniform-grid bound `enforce = true` keeps (stride 1): max over the n^D FFT grid
    of σ_max, times 1 / (1 - π Σ d_i / n), in float64 with the rounding margin."""
    w = np.asarray(w, dtype=np.float64)
    kernel = w.shape[2:]
    total = sum(degrees(tuple(kernel)))
    if math.pi * total / n >= 1:
        return math.inf
    # σ(-θ) = σ(θ): half of the last varying axis covers the grid
    varying = [i for i, k in enumerate(kernel) if k > 1]
    axes = [
        2 * math.pi * np.arange(n // 2 + 1 if i == varying[-1] else n) / n if k > 1 else np.zeros(1)
        for i, k in enumerate(kernel)
    ]
    centres = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=-1)
    best = 0.0
    for chunk in range(0, len(centres), 4096):
        best = max(best, float(sigma_at(w, centres[chunk : chunk + 4096]).max()))
    return (best + entry_error(w)) * (1 + _relative(*w.shape[:2])) / (1 - math.pi * total / n)


def lower_at(
    weight: np.ndarray,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    size: tuple[int, ...],
    iterations: int = 30,
    flops: float = LOWER_FLOPS,
    start: np.ndarray | None = None,
) -> float:
    """A lower bound of ‖K_N‖₂ of the zero-padded convolution at grid `size` (and so at
    every larger one): the Rayleigh quotient after power iterations, less rounding."""
    w = np.asarray(weight, dtype=np.float64)
    dims = w.ndim - 2
    kernel = w.shape[2:]
    stride = tuple(stride) if stride else (1,) * dims
    padding = tuple(padding)
    size = tuple(int(s) for s in size)
    out = [
        (n + 2 * p - k) // s + 1 for n, p, k, s in zip(size, padding, kernel, stride, strict=True)
    ]
    if min(out) < 1 or not np.all(np.isfinite(w)):
        return 0.0
    # the taps' windows in the padded input: tap t reads t_i, t_i + s_i, ... along axis i
    windows = [
        (
            t,
            (
                slice(None),
                *(slice(t[i], t[i] + stride[i] * (out[i] - 1) + 1, stride[i]) for i in range(dims)),
            ),
        )
        for t in np.ndindex(*kernel)
    ]
    inner = (slice(None), *(slice(p, p + n) for p, n in zip(padding, size, strict=True)))

    def forward(v: np.ndarray) -> np.ndarray:
        padded = np.pad(v, [(0, 0)] + [(p, p) for p in padding])
        y = np.zeros((w.shape[0], *out))
        for t, window in windows:
            y += np.tensordot(w[(slice(None), slice(None), *t)], padded[window], axes=(1, 0))
        return y

    def adjoint(y: np.ndarray) -> np.ndarray:  # exactly forward's transpose
        padded = np.zeros((w.shape[1], *(n + 2 * p for n, p in zip(size, padding, strict=True))))
        for t, window in windows:
            padded[window] += np.tensordot(w[(slice(None), slice(None), *t)], y, axes=(0, 0))
        return padded[inner]

    v = np.random.default_rng(0).standard_normal((w.shape[1], *size))
    if start is not None:  # a plane wave at the symbol's peak, and a little noise
        v = np.asarray(start, dtype=np.float64).reshape(v.shape) + 1e-3 * v
    per = 4.0 * w.size * math.prod(size) / math.prod(stride)
    iterations = max(2, min(iterations, int(flops / max(per, 1.0))))
    v /= np.linalg.norm(v)
    for _ in range(iterations):
        v = adjoint(forward(v))
        norm = np.linalg.norm(v)
        if not norm > 0:
            return 0.0
        v = v / norm
    image = float(np.linalg.norm(forward(v)))
    # ‖fl(Kv) - Kv‖ ≤ γ_{taps · c_in} ‖|K|‖₂ ‖v‖, ‖|K|‖₂ ≤ Σ_m ‖|K_m|‖_F; ‖v‖ ≈ 1
    taps = int(math.prod(kernel)) * w.shape[1]
    gamma = (taps + 4) * U / (1 - (taps + 4) * U)
    abs_k = float(np.linalg.norm(np.abs(w).reshape(*w.shape[:2], -1), axis=(0, 1)).sum())
    vnorm = float(np.linalg.norm(v))
    return max((image - gamma * abs_k * vnorm - 4 * U * image) / (vnorm * (1 + 4 * U)), 0.0)


def _plane_wave(w: np.ndarray, theta: np.ndarray | None, size: tuple[int, ...]):
    """Re(e^{-iθ·x} a) on the grid, a the top right singular vector of K̂(θ): the input
    a convolution amplifies most, up to the grid's edges (a start for power iteration)."""
    if theta is None or w.ndim - 2 != len(size):
        return None
    matrix = symbol_at(w, theta[None, :])[0]
    a = np.linalg.svd(matrix)[2][0].conj()
    phase = sum(
        np.multiply.outer(
            np.ones(size[:i]), np.multiply.outer(np.arange(n), np.ones(size[i + 1 :]))
        )
        * theta[i]
        for i, n in enumerate(size)
    )
    wave = np.real(np.exp(-1j * phase)[None] * a.reshape(-1, *([1] * len(size))))
    return wave[None]


def bounds(
    weight: np.ndarray,
    stride: tuple[int, ...] = (),
    padding: tuple[int, ...] | None = None,
    size: tuple[int, ...] | None = None,
    target: float | None = None,
    grid: int | None = None,
    seconds: float = BUDGET,
) -> Bounds:
    """‖K‖₂ of a learned convolution: an upper bound at every input size, and a lower
    bound at `size` (default: the sup's lower bound, the largest sampled σ_max; then it
    bounds the norm at large enough sizes only). `target` lets the branch and bound stop
    early; `grid` also tries the uniform-grid bound on that grid (the one enforcement
    keeps), so an enforced kernel certifies however the branch and bound ends."""
    w = np.asarray(weight, dtype=np.float64)
    dims = w.ndim - 2
    stride = tuple(stride) if stride else (1,) * dims
    poly = polyphase(w, stride)
    sup_lo, upper, samples, peak = sup_bounds(poly, target, seconds=seconds)
    if grid is not None and target is not None and upper > target and all(s == 1 for s in stride):
        upper = min(upper, grid_upper(poly, grid))
    if size is None:
        lower = sup_lo
    else:
        pads = tuple(padding) if padding is not None else tuple(k // 2 for k in w.shape[2:])
        grid = tuple(min(n, LOWER_CAP) for n in size)
        wave = _plane_wave(w, peak, grid) if all(s == 1 for s in stride) else None
        lower = lower_at(w, stride, pads, grid, start=wave)
    lower = min(lower, upper)
    return Bounds(lower, upper, sup_lo, samples, None if size is None else tuple(size))


def norm_upper(weight: np.ndarray, stride: tuple[int, ...] = ()) -> float:
    """A rigorous upper bound of ‖K‖₂ at every input size."""
    return bounds(weight, stride).upper


def norm_lower(
    weight: np.ndarray,
    stride: tuple[int, ...] = (),
    size: tuple[int, ...] = (),
    padding: tuple[int, ...] | None = None,
) -> float:
    """A rigorous lower bound of ‖K_N‖₂ at grid `size` (and every larger one)."""
    w = np.asarray(weight, dtype=np.float64)
    pads = tuple(padding) if padding is not None else tuple(k // 2 for k in w.shape[2:])
    return lower_at(w, tuple(stride) or (1,) * (w.ndim - 2), pads, tuple(size))
