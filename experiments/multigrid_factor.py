"""(d) Multigrid as U-net, measured: the V-cycle contraction factor of the compiled
`multigrid` scheme against textbook multigrid written independently in NumPy/SciPy.

Problems (64 × 64 cells, Neumann boundaries):
- the 2D implicit heat step (I + τ ∇'∇) v = b (5-point Laplacian) at τ = 1, 10, 100,
  1000 (h = 1);
- the learned diffusion of specs/alt_2023/multigrid.pde at initialisation (seeded K, Perona-Malik
  flux, λ = 0.1), (I + τ K' G K) v = b, τ = 5, G frozen at a noisy image b.

The compiled side: the generated module's `vcycle` (damped Jacobi, ω = 4/5, V(2,2),
restriction R by the strided convolution with [1, 3, 3, 1]/8 per axis, prolongation
P = 4 R', coarse operators rediscretised at spacing 2^l h with the diffusivity averaged,
conjugate gradients on the coarsest grid). The textbook side (Briggs, Henson &
McCormick; Trottenberg et al.), written from scratch: damped Jacobi ω = 4/5, V(2,2),
cell-centred full weighting ([1, 3, 3, 1]/8 per axis, mirrored at the boundary),
bilinear prolongation (4 × its transpose), Galerkin coarse operators R A P, a direct
solve on the coarsest grid. Both start from v = 0 with a random right-hand side; the
factor is the geometric mean of ‖r_k‖/‖r_(k−1)‖ over cycles 3–10 (the asymptotic rate).

Writes experiments/results/multigrid_factor.json and prints the markdown table for
docs/results.md.

    .venv/bin/python experiments/multigrid_factor.py [--quick]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

import pde2net
from experiments import common

HEAT = """
pde heat {{
    state u[1]
    grid  h = 1
    dt(u) = -grad' grad u
}}
network heat_mg {{
    input  image(1, {n}, {n})
    heat by multigrid(tau = {tau}, levels = {levels}, pre = 2, post = 2, omega = 4/5)
    output identity
}}
"""
LEARNED = common.ROOT / "specs" / "alt_2023" / "multigrid.pde"
OMEGA = 0.8
CYCLES = 10


def _rate(residuals: list[float]) -> float:
    """Geometric mean of the per-cycle reduction over cycles 3..end."""
    tail = residuals[2:]
    return (tail[-1] / tail[0]) ** (1 / (len(tail) - 1))


def compiled_factor(block, b: torch.Tensor) -> tuple[float, list[float]]:
    with torch.no_grad():
        g = block.diffusivity(b, 0)
        v = torch.zeros_like(b)
        res = [float((b - v + block.level_operator(v, g, 0)).norm())]
        for _ in range(CYCLES):
            v = block.vcycle(v, b, g)
            res.append(float((b - v + block.level_operator(v, g, 0)).norm()))
    return _rate(res), res


def operator_matrix(block, b: torch.Tensor) -> sp.csr_matrix:
    """The fine-grid matrix A of the compiled block (columns A e_j), for the textbook
    solver: the same linear system, solved independently."""
    n = b.shape[-1]
    with torch.no_grad():
        g = block.diffusivity(b, 0)
        cols = []
        eye = torch.eye(n * n, dtype=torch.float64).view(n * n, 1, n, n)
        for chunk in eye.split(512):
            cols.append(chunk - block.level_operator(chunk, g.expand(len(chunk), *g.shape[1:]), 0))
        a = torch.cat(cols).view(n * n, n * n).T.numpy()
    return sp.csr_matrix(np.where(np.abs(a) > 1e-300, a, 0.0))


def heat_matrix(n: int, tau: float) -> sp.csr_matrix:
    """I + τ ∇'∇ with forward differences and Neumann boundaries, from scratch."""
    d = sp.diags([-np.ones(n), np.ones(n - 1)], [0, 1], format="lil")
    d[n - 1, n - 1] = 0  # no difference past the last cell
    d = d.tocsr()
    eye = sp.identity(n, format="csr")
    lap = sp.kron(eye, d.T @ d) + sp.kron(d.T @ d, eye)
    return (sp.identity(n * n) + tau * lap).tocsr()


def _full_weighting_1d(n: int) -> sp.csr_matrix:
    """Cell-centred restriction n -> n/2: coarse cell i takes [1, 3, 3, 1]/8 of fine cells
    2i−1 .. 2i+2, the out-of-range ones mirrored back (Neumann)."""
    r = sp.lil_matrix((n // 2, n))
    for i in range(n // 2):
        for k, w in zip(range(2 * i - 1, 2 * i + 3), (1, 3, 3, 1), strict=True):
            k = min(max(k, 0), n - 1)
            r[i, k] += w / 8
    return r.tocsr()


def textbook_factor(a: sp.csr_matrix, b: np.ndarray, levels: int) -> tuple[float, list[float]]:
    n = math.isqrt(a.shape[0])
    ops, rs, ps = [a], [], []
    for _ in range(levels - 1):
        r1 = _full_weighting_1d(n)
        r = sp.kron(r1, r1).tocsr()
        p = (4 * r.T).tocsr()  # bilinear interpolation
        rs.append(r)
        ps.append(p)
        ops.append((r @ ops[-1] @ p).tocsr())
        n //= 2
    coarse = spla.factorized(ops[-1].tocsc())
    diags = [op.diagonal() for op in ops]

    def vcycle(level: int, v: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        if level == len(ops) - 1:
            return coarse(rhs)
        op, dg = ops[level], diags[level]
        for _ in range(2):
            v = v + OMEGA * (rhs - op @ v) / dg
        e = vcycle(level + 1, np.zeros(rs[level].shape[0]), rs[level] @ (rhs - op @ v))
        v = v + ps[level] @ e
        for _ in range(2):
            v = v + OMEGA * (rhs - op @ v) / dg
        return v

    v = np.zeros_like(b)
    res = [float(np.linalg.norm(b - a @ v))]
    for _ in range(CYCLES):
        v = vcycle(0, v, b)
        res.append(float(np.linalg.norm(b - a @ v)))
    return _rate(res), res


def _block(text: str | None, path: Path | None = None):
    compiled = (
        pde2net.compile_text(text, "heat_mg.pde") if text else pde2net.compile_file(str(path))
    )
    return compiled.module.double().eval().block1


def main(argv: list[str] | None = None) -> dict:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    torch.manual_seed(0)
    n = 32 if args.quick else 64
    taus = (10.0,) if args.quick else (1.0, 10.0, 100.0, 1000.0)
    rng = np.random.default_rng(0)
    rows = []
    for tau in taus:
        levels = 3 if args.quick else 4
        block = _block(HEAT.format(n=n, tau=tau, levels=levels))
        b = torch.from_numpy(rng.standard_normal((1, 1, n, n)))
        ours, ours_res = compiled_factor(block, b)
        a = heat_matrix(n, tau)
        assert abs(a - operator_matrix(block, b)).max() < 1e-9  # the same system
        theirs, theirs_res = textbook_factor(a, b.numpy().ravel(), levels)
        rows.append(
            {
                "problem": f"implicit heat step, τ = {tau:g}",
                "levels": levels,
                "compiled": ours,
                "textbook": theirs,
                "compiled_residuals": ours_res,
                "textbook_residuals": theirs_res,
            }
        )
    if not args.quick:
        torch.manual_seed(0)
        block = _block(None, LEARNED)
        clean = torch.zeros(1, 1, n, n, dtype=torch.float64)
        clean[..., n // 4 : 3 * n // 4, n // 4 : 3 * n // 4] = 0.8
        b = clean + 0.1 * torch.from_numpy(rng.standard_normal((1, 1, n, n)))
        ours, ours_res = compiled_factor(block, b)
        a = operator_matrix(block, b)
        theirs, theirs_res = textbook_factor(a, b.numpy().ravel(), 3)
        rows.append(
            {
                "problem": "learned diffusion at initialisation (alt_2023/multigrid.pde, τ = 5)",
                "levels": 3,
                "compiled": ours,
                "textbook": theirs,
                "compiled_residuals": ours_res,
                "textbook_residuals": theirs_res,
            }
        )
    result = {"quick": args.quick, "size": n, "omega": OMEGA, "cycles": CYCLES, "rows": rows}
    out = (args.results or (common.RESULTS / ("quick" if args.quick else ""))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "multigrid_factor.json").write_text(json.dumps(result, indent=2))
    print(table(result))
    return result


def table(result: dict) -> str:
    lines = [
        "| problem | levels | compiled V(2,2) | textbook V(2,2) |",
        "|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['problem']} | {r['levels']} | {r['compiled']:.3f} | {r['textbook']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
