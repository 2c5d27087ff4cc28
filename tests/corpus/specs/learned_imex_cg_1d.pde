# Corpus: IMEXnet's implicit part, learned: u_t = -s D' D u - c u in 1D, D a learned
# depthwise convolution (zero padding; D' its exact adjoint), IMEX Euler with 3 CG
# iterations from zero; the reaction explicit.
# Ground truth: -s D' D is symmetric negative semi-definite for every D, so the solve is
# non-expansive (Steihaug); the explicit reaction 1 - tau c is within [-1, 1] iff
# tau <= 2 / c. s = 100 scales D by 10.
const tau = 0.1
const c = 1
const s = 100
const steps = 10

pde learned {
    state  u[2]
    weight D : conv(3, 2 -> 2, depthwise = true)
    dt(u) = -s * D' D u - c * u
}

network learned_imex_cg_1d {
    input  signal(2, 32)
    learned by imex(tau = tau, steps = steps, solver = cg, iterations = 3)
    output identity
}
