"""The verdict corpus: specs with textbook ground truth (REFERENCE.md §3), each row
checked twice.

(a) The verdict: `pde2net.check_file(spec, set=overrides)["verdict"]` must lie in the
    row's accepted set. Stable rows accept only `proven`; unstable rows accept only
    `violated` (or, where a nonlinear or unanalysable block leaves no theorem,
    `violated` or `unverified`), never `proven` or `enforced`.
(b) The behaviour: the compiled module, in float64, is run on the worst Fourier mode of
    the linear scheme for many steps; stable rows stay non-expansive (or bounded by a
    modest constant for the energy-conserving wave schemes), unstable rows grow by more
    than 10³ (or overflow).

Both checks use the same overrides, so the network that is judged is the one that is
run. docs/stability.md, "The verdict corpus", lists the rows as a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

import pde2net
from tests.conftest import SPECS

CORPUS = Path(__file__).resolve().parent / "specs"
CLASSIC = SPECS / "classic"

STABLE = frozenset({"proven"})
UNSTABLE = frozenset({"violated"})
NO_THEOREM = frozenset({"violated", "unverified"})  # unstable, no exact analysis expected
GROWTH = 1e3


@dataclass(frozen=True)
class Row:
    """One corpus row.

    `set` holds every override (the step count included), so the verdict and the run see
    the same network. `behaviour` is `nonexpansive` (‖y‖ ≤ (1 + tol)‖x‖), `bounded`
    (‖y‖ ≤ limit ‖x‖) or `grows` (‖y‖ > 10³ ‖x‖ or not finite). `mode` is the input:
    `checkerboard` ((-1)^(i+j), the worst mode of diffusion and waves, in the first
    channel), `quarter` (cos(πj/2), where central differences amplify most) or `random`.
    """

    id: str
    spec: Path
    set: dict = field(hash=False)
    verdicts: frozenset
    behaviour: str
    case: str = ""
    scheme: str = ""
    bound: str = ""
    mode: str = "checkerboard"
    amplitude: float = 1.0
    limit: float = 10.0
    tol: float = 1e-9


def fed_cycle_bound(n: int) -> float:
    """The exact stability limit z* of one FED cycle of n steps on a linear problem:
    |Π(1 − z τᵢ/τ_max)| ≤ 1 for z = λ τ_max ∈ [0, z*]. At z = 2 (the explicit limit) the
    product is 1/(2n + 1), so z* > 2: τ_max ≤ h²/2 is sufficient, not necessary."""
    ratios = [1 / (2 * math.cos(math.pi * (2 * i + 1) / (4 * n + 2)) ** 2) for i in range(n)]

    def excess(z: float) -> float:
        return abs(math.prod(1 - z * r for r in ratios)) - 1

    lo, hi = 2.0, 2.0
    while excess(hi) < 0:
        hi += 0.5
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excess(mid) < 0 else (lo, mid)
    return lo


FED_N = 10
FED_Z = fed_cycle_bound(FED_N)  # 2.06456...


def _rows() -> list[Row]:
    rows: list[Row] = []

    def add(**kw):
        rows.append(Row(**kw))

    def around(
        name,
        spec,
        value,
        make_set,
        at_bound=None,
        stable_behaviour="nonexpansive",
        stable_steps=300,
        unstable_steps=500,
        **kw,
    ):
        """Rows at 0.99x (stable) and 1.01x (unstable) of `value`; `make_set(tau, steps)`
        gives the overrides. `at_bound` adds a row exactly at the bound: "stable" (a
        non-strict bound) or "unstable" (strict: a double root at -1 grows linearly, as
        1 + 2n on the checkerboard for leapfrog started at rest)."""
        stable = dict(verdicts=STABLE, behaviour=stable_behaviour, **kw)
        unstable = dict(verdicts=UNSTABLE, behaviour="grows", **kw)
        add(id=f"{name}-0.99x", spec=spec, set=make_set(0.99 * value, stable_steps), **stable)
        if at_bound == "stable":
            add(id=f"{name}-1.0x", spec=spec, set=make_set(value, stable_steps), **stable)
        elif at_bound == "unstable":
            add(id=f"{name}-1.0x", spec=spec, set=make_set(value, 600), **unstable)
        add(id=f"{name}-1.01x", spec=spec, set=make_set(1.01 * value, unstable_steps), **unstable)

    # --- heat, forward Euler --------------------------------------------------------
    # heat in d = 1, 2, 3 (2d + 1 point Laplacian): τ ≤ h²/(2d)
    for d, spacings in ((1, (1.0, 0.5)), (2, (1.0, 2.0)), (3, (1.0, 0.5))):
        for h in spacings:
            around(
                f"heat{d}d-h{h}",
                CORPUS / f"heat_{d}d.pde",
                h**2 / (2 * d),
                lambda tau, n, h=h: {"tau": tau, "h": h, "steps": n},
                at_bound="stable" if h == 1.0 else None,
                case=f"heat {d}D `dt(u) = lap u`",
                scheme="euler",
                bound=f"τ ≤ h²/{2 * d}",
            )
    for b in (0.5, -2.0):
        around(
            f"heatdirichlet1d-b{b}",
            CORPUS / "heat_dirichlet_1d.pde",
            0.5,
            lambda tau, n, b=b: {"tau": tau, "h": 1.0, "b": b, "steps": n},
            stable_behaviour="bounded",
            unstable_steps=800,
            case="heat 1D `dt(u) = lap u`, `dirichlet(b)`",
            scheme="euler",
            bound="τ ≤ h²/2",
        )
    for kappa, h in ((2.0, 1.0), (0.5, 0.5)):
        around(
            f"heatkappa-k{kappa}-h{h}",
            CORPUS / "heat_kappa_1d.pde",
            h**2 / (2 * kappa),
            lambda tau, n, h=h, k=kappa: {"tau": tau, "h": h, "kappa": k, "steps": n},
            case="heat 1D `dt(u) = kappa * lap u`",
            scheme="euler",
            bound="τ ≤ h²/(2κ)",
        )

    # a learned per-channel kappa: the analysis uses the initial value (the same on every
    # channel), so the stable side is conditional on training, the unstable side violated
    for kappa, h in ((2.0, 1.0), (0.5, 0.5)):
        bound = h**2 / (2 * kappa)
        common = dict(
            spec=CORPUS / "heat_kappa_channels_1d.pde",
            case="heat 1D `dt(u) = kappa * lap u`, `param kappa[c]` learned",
            scheme="euler",
            bound="τ ≤ h²/(2 max κ_c)",
        )
        for factor, verdicts, behaviour, n in (
            (0.99, frozenset({"conditional"}), "nonexpansive", 300),
            (1.01, UNSTABLE, "grows", 500),
        ):
            add(
                id=f"heatkappa-channels-k{kappa}-h{h}-{factor}x",
                set={"tau": factor * bound, "h": h, "kappa0": kappa, "steps": n},
                verdicts=verdicts,
                behaviour=behaviour,
                **common,
            )

    # --- wave, leapfrog (strict: at the bound a double root at -1) ---------------------
    for h in (1.0, 0.5):
        around(
            f"wave1d-h{h}",
            CORPUS / "wave_1d.pde",
            h,
            lambda tau, n, h=h: {"tau": tau, "h": h, "steps": n},
            at_bound="unstable" if h == 1.0 else None,
            unstable_steps=200,
            stable_behaviour="bounded",
            case="wave 1D `dtt(u) = lap u`",
            scheme="leapfrog",
            bound="τ < h",
        )
    # 2D bounds are irrational: the specs set tau = cfl * h / sqrt(2), which stays exact,
    # so cfl = 1 is exactly at the bound (a float tau would fall an ulp inside it).
    for h in (1.0, 2.0):
        around(
            f"wave2d-h{h}",
            CORPUS / "wave_2d.pde",
            1.0,
            lambda cfl, n, h=h: {"cfl": cfl, "h": h, "steps": n},
            at_bound="unstable" if h == 1.0 else None,
            unstable_steps=200,
            stable_behaviour="bounded",
            case="wave 2D `dtt(u) = lap u`",
            scheme="leapfrog",
            bound="τ < h/√2",
        )

    # --- advection u_t + a u_x = 0 ----------------------------------------------------
    for a, h in ((1.0, 1.0), (2.0, 0.5)):
        around(
            f"upwind-a{a}-h{h}",
            CORPUS / "advection_upwind.pde",
            h / a,
            lambda tau, n, h=h, a=a: {"tau": tau, "h": h, "a": a, "steps": n},
            at_bound="stable" if a == 1.0 else None,
            case="advection, upwind `[-1, 1, 0]/h`",
            scheme="euler",
            bound="a τ/h ≤ 1",
        )
    # downwind: |g(π)| = 1 + 2 a τ/h > 1 for every τ > 0
    for tau, steps in ((0.001, 4000), (0.01, 500), (0.5, 50)):
        add(
            id=f"downwind-tau{tau}",
            spec=CORPUS / "advection_downwind.pde",
            set={"tau": tau, "h": 1.0, "a": 1.0, "steps": steps},
            verdicts=UNSTABLE,
            behaviour="grows",
            case="advection, downwind `[0, -1, 1]/h`",
            scheme="euler",
            bound="none (every τ > 0 unstable)",
        )
    # central: |g(π/2)|² = 1 + (a τ/h)² > 1 for every τ > 0
    for tau, steps in ((0.05, 6000), (0.5, 100)):
        add(
            id=f"central-tau{tau}",
            spec=CORPUS / "advection_central.pde",
            set={"tau": tau, "h": 1.0, "a": 1.0, "steps": steps},
            verdicts=UNSTABLE,
            behaviour="grows",
            mode="quarter",
            case="advection, central `[-1, 0, 1]/(2h)`",
            scheme="euler",
            bound="none (every τ > 0 unstable)",
        )

    # --- first-order wave system u_t = v, v_t = lap u -----------------------------------
    # Euler: eigenvalues 1 ± iτ√(-ŝ), |λ|² = 1 + τ² 4d/h² on the checkerboard
    for d, cases in ((1, ((0.05, 1600), (0.5, 40))), (2, ((0.05, 800), (0.5, 30)))):
        for tau, steps in cases:
            add(
                id=f"wavesystem-euler-{d}d-tau{tau}",
                spec=CORPUS / f"wave_system_euler_{d}d.pde",
                set={"tau": tau, "h": 1.0, "steps": steps},
                verdicts=UNSTABLE,
                behaviour="grows",
                case=f"wave system {d}D `dt(u) = v; dt(v) = lap u`",
                scheme="euler",
                bound="none (every τ > 0 unstable)",
            )
    # Verlet (symplectic Euler): trace 2 - τ² 4d/h², stable iff τ < h/√d
    verlet = dict(
        at_bound="unstable",
        unstable_steps=200,
        stable_behaviour="bounded",
        scheme="verlet",
        bound="τ < h/√d",
    )
    around(
        "wavesystem-verlet-1d",
        CORPUS / "wave_system_verlet_1d.pde",
        1.0,
        lambda tau, n: {"tau": tau, "h": 1.0, "steps": n},
        case="wave system 1D `dt(u) = v; dt(v) = lap u`",
        **verlet,
    )
    around(
        "wavesystem-verlet-2d",
        CORPUS / "wave_system_verlet_2d.pde",
        1.0,
        lambda cfl, n: {"cfl": cfl, "h": 1.0, "steps": n},
        case="wave system 2D `dt(u) = v; dt(v) = lap u`",
        **verlet,
    )

    # --- Runge–Kutta: heat (real axis, τ ≤ β h²/4) and the wave system (imaginary axis) ---
    for method, beta in (("rk4", 2.785293563405282), ("ssprk3", 2.5127453266183286)):
        around(
            f"heat1d-{method}",
            CORPUS / f"heat_{method}_1d.pde",
            beta / 4,
            lambda tau, n: {"tau": tau, "h": 1.0, "steps": n},
            case="heat 1D `dt(u) = lap u`",
            scheme=method,
            bound=f"τ ≤ β h²/4, β = {beta:.4f}",
        )
    around(  # the general rk(a, b) with Heun's third-order tableau: R is ssprk3's
        "heat1d-rk-tableau",
        CORPUS / "heat_rk_tableau_1d.pde",
        2.5127453266183286 / 4,
        lambda tau, n: {"tau": tau, "h": 1.0, "steps": n},
        case="heat 1D `dt(u) = lap u`",
        scheme="rk(a, b), Heun's 3rd-order tableau",
        bound="τ ≤ β h²/4, β = 2.5127",
    )
    around(
        "wavesystem-rk4-1d",
        CORPUS / "wave_system_rk4_1d.pde",
        2**0.5,
        lambda tau, n: {"tau": tau, "h": 1.0, "steps": n},
        stable_behaviour="bounded",
        case="wave system 1D `dt(u) = v; dt(v) = lap u`",
        scheme="rk4",
        bound="τ ≤ √2 h (2√2 on the imaginary axis)",
    )

    # --- θ-scheme, θ = 1/4: τ ≤ (2/(1 − 2θ)) h²/4 = h² ---------------------------------
    around(
        "heat1d-theta0.25",
        CORPUS / "heat_theta_1d.pde",
        1.0,
        lambda tau, n: {"tau": tau, "h": 1.0, "steps": n},
        unstable_steps=800,
        case="heat 1D `dt(u) = lap u`",
        scheme="theta(θ = 1/4)",
        bound="τ ≤ h² (2/(1 − 2θ) · h²/4)",
    )

    # --- reaction-diffusion u_t = u_xx - c u --------------------------------------------
    for c, h in ((1.0, 1.0), (4.0, 0.5)):
        around(
            f"reaction-c{c}-h{h}",
            CORPUS / "reaction_1d.pde",
            2 / (4 / h**2 + c),
            lambda tau, n, h=h, c=c: {"tau": tau, "h": h, "c": c, "steps": n},
            case="reaction `dt(u) = lap u - c * u`",
            scheme="euler",
            bound="τ ≤ 2/(4/h² + c)",
        )

    # --- heat, implicit Euler: every τ ------------------------------------------------
    for tau in (0.1, 10.0, 1000.0):
        add(
            id=f"heat-implicit-tau{tau}",
            spec=CORPUS / "heat_implicit_1d.pde",
            set={"tau": tau, "h": 1.0, "steps": 20},
            verdicts=STABLE,
            behaviour="nonexpansive",
            mode="random",
            tol=1e-6,
            case="heat 1D `dt(u) = -dx' dx u`",
            scheme="implicit (CG, 64 iterations)",
            bound="none (every τ stable)",
        )

    # --- FED / FSI cycles on the heat equation ---------------------------------------
    # τ_max ≤ h²/2 is the textbook (sufficient) condition; one cycle of n = 10 steps is
    # stable up to τ_max = z*·h²/4 with z* = 2.0646, so 1.01 × h²/2 is still stable and a
    # scheme that checks only the explicit condition may call it violated (a false alarm,
    # never a missed instability); 1.01 × z* h²/4 grows.
    for scheme in ("fed", "fsi"):
        spec = CORPUS / f"heat_{scheme}_1d.pde"
        kw = dict(
            case="heat 1D `dt(u) = lap u`",
            scheme=f"{scheme} (n = {FED_N})",
            bound="τ_max ≤ h²/2 (cycle: ≤ z*h²/4)",
        )
        base = {"h": 1.0, "n": FED_N}
        add(
            id=f"heat-{scheme}-0.99x",
            spec=spec,
            set={**base, "tau": 0.99 * 0.5, "cycles": 30},
            verdicts=STABLE,
            behaviour="nonexpansive",
            **kw,
        )
        add(
            id=f"heat-{scheme}-1.01x",
            spec=spec,
            set={**base, "tau": 1.01 * 0.5, "cycles": 30},
            verdicts=frozenset({"proven", "violated"}),
            behaviour="nonexpansive",
            **kw,
        )
        add(
            id=f"heat-{scheme}-cycle-1.01x",
            spec=spec,
            set={**base, "tau": 1.01 * FED_Z / 4, "cycles": 30},
            verdicts=UNSTABLE,
            behaviour="grows",
            **kw,
        )

    # --- nonlinear ----------------------------------------------------------------------
    # Perona-Malik (classic spec, Neumann): linear regime (small data) is the worst case
    for h in (1.0, 0.5):
        around(
            f"peronamalik-h{h}",
            CLASSIC / "perona_malik_1d.pde",
            h**2 / 2,
            lambda tau, n, h=h: {"tau": tau, "h": h, "steps": n},
            stable_steps=300,
            unstable_steps=800,
            amplitude=1e-8,
            case="Perona–Malik 1D `dt(u) = -dx' phi(dx u)`",
            scheme="euler",
            bound="τ ≤ h²/2",
        )
    add(
        id="peronamalik-h1.0-0.99x-large",
        spec=CLASSIC / "perona_malik_1d.pde",
        set={"tau": 0.99 * 0.5, "h": 1.0, "steps": 300},
        verdicts=STABLE,
        behaviour="nonexpansive",
        mode="random",
        case="Perona–Malik 1D `dt(u) = -dx' phi(dx u)`",
        scheme="euler",
        bound="τ ≤ h²/2",
    )
    for tau in (10.0, 1.0):
        add(
            id=f"allencahn-tau{tau}",
            spec=CORPUS / "allen_cahn_1d.pde",
            set={"tau": tau, "h": 1.0, "steps": 50},
            verdicts=NO_THEOREM,
            behaviour="grows",
            mode="random",
            amplitude=0.5,
            case="Allen–Cahn `dt(u) = lap u + u - u^3`",
            scheme="euler",
            bound="none at these τ",
        )

    # --- IMEX: u_t = kappa lap u - c u, diffusion implicit, reaction explicit: τ ≤ 2/c --
    for spec, c, kappa, solver in (
        ("reaction_imex_1d.pde", 1.0, 1.0, "fft"),
        ("reaction_imex_1d.pde", 4.0, 100.0, "fft"),
        ("reaction_imex_cg_1d.pde", 1.0, 10.0, "cg, 3 iterations"),
    ):
        around(
            f"imex-{solver.split(',')[0]}-c{c}-k{kappa}",
            CORPUS / spec,
            2 / c,
            lambda tau, n, c=c, kappa=kappa: {"tau": tau, "c": c, "kappa": kappa, "steps": n},
            mode="random",
            unstable_steps=1500,
            case="reaction `kappa * lap u - c * u`",
            scheme=f"imex ({solver})",
            bound="τ ≤ 2/c, every κ",
        )

    # --- IMEX with a learned implicit part -s D' D u (every D), reaction -c u explicit --
    for spec, solver in (
        ("learned_imex_cg_1d.pde", "cg, 3 iterations"),
        ("learned_imex_fft_2d.pde", "fft, depthwise D"),
    ):
        for c in (1.0, 4.0):
            add(
                id=f"imex-learned-{solver.split(',')[0]}-c{c}-0.99x",
                spec=CORPUS / spec,
                set={"tau": 0.99 * 2 / c, "c": c, "s": 100, "steps": 300},
                verdicts=STABLE,
                behaviour="nonexpansive",
                mode="random",
                tol=1e-6,
                case="`-s D' D u - c u`, D learned, s = 100",
                scheme=f"imex ({solver})",
                bound="τ ≤ 2/c, every D",
            )

    # --- multigrid on a non-difference operator ---------------------------------------
    add(
        id="multigrid-sum-tau10",
        spec=CORPUS / "multigrid_sum_1d.pde",
        set={"tau": 10.0, "levels": 3, "steps": 5},
        verdicts=NO_THEOREM,
        behaviour="grows",
        case="`dt(u) = -S' S u`, S = [1, 1, 1, 1, 1]",
        scheme="multigrid(levels = 3)",
        bound="not proven (V-cycle diverges)",
    )
    add(
        id="multigrid-w-heat",
        spec=SPECS / "classic" / "heat_multigrid_w_2d.pde",
        set={"tau": 10.0},
        verdicts=frozenset({"conditional"}),
        behaviour="bounded",
        case="`dt(u) = -grad' grad u`, 3 levels",
        scheme="multigrid(cycle = W)",
        bound="exact step proven; cycles not derived",
    )
    return rows


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small convolutions run fastest on one thread; with other processes on the
    machine, torch's intra-op threads slow the long step loops down a hundredfold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


ROWS = _rows()
IDS = [row.id for row in ROWS]
assert len(set(IDS)) == len(IDS), "corpus row ids must be unique"


def test_corpus_size():
    assert len(ROWS) >= 40
    assert len({row.spec for row in ROWS}) >= 15


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_verdict(row: Row):
    report = pde2net.check_file(str(row.spec), set=row.set)
    assert report["verdict"] in row.verdicts, (
        f"{row.id}: verdict {report['verdict']!r}, expected one of {sorted(row.verdicts)}; "
        + "; ".join(f"{b['name']}: {b['status']} ({b['condition']})" for b in report["blocks"])
    )
    # an unstable network is never reported stable
    if row.behaviour == "grows":
        assert not report["stable"]


def _mode(row: Row, shape: tuple[int, ...]) -> torch.Tensor:
    channels, spatial = shape[0], shape[1:]
    if row.mode == "random":
        gen = torch.Generator().manual_seed(0)
        return row.amplitude * torch.randn(1, *shape, dtype=torch.float64, generator=gen)
    if row.mode == "checkerboard":
        grids = torch.meshgrid(*[torch.arange(n) for n in spatial], indexing="ij")
        field_ = 1.0 - 2.0 * (sum(grids) % 2).double()
    elif row.mode == "quarter":
        j = torch.arange(spatial[-1], dtype=torch.float64)
        field_ = torch.cos(math.pi * j / 2).expand(*spatial)
    else:
        raise ValueError(row.mode)
    x = torch.zeros(1, channels, *spatial, dtype=torch.float64)
    x[0, 0] = row.amplitude * field_
    return x


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_behaviour(row: Row):
    compiled = pde2net.compile_file(str(row.spec), set=row.set)
    module = compiled.module.double().eval()
    x = _mode(row, tuple(compiled.network.input.shape))
    with torch.no_grad():
        y = module(x)
    ratio = (y.norm() / x.norm()).item()
    if row.behaviour == "grows":
        assert not math.isfinite(ratio) or ratio > GROWTH, (row.id, ratio)
        return
    assert math.isfinite(ratio), (row.id, ratio)
    if row.behaviour == "nonexpansive":
        assert ratio <= 1 + row.tol, (row.id, ratio)
    elif row.behaviour == "bounded":
        assert ratio <= row.limit, (row.id, ratio)
    else:
        raise ValueError(row.behaviour)
