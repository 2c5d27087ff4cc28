# Corpus: u_t = -S' S u with the (non-difference) sum stencil S = [1, 1, 1, 1, 1],
# solved implicitly by one multigrid V-cycle per step at tau = 10. The coarse grids
# rediscretise an operator that does not scale with h, and damped Jacobi with
# omega = 2/3 diverges on I + tau S'S (omega * 251/51 > 2): nothing proves it stable.
const tau = 10
const h = 1
const levels = 3
const steps = 1

pde sum_diffusion {
    state   u[1]
    grid    h : periodic
    stencil S = [1, 1, 1, 1, 1]
    dt(u) = -S' S u
}

network multigrid_sum_1d {
    input  signal(1, 64)
    sum_diffusion by multigrid(tau = tau, levels = levels, steps = steps)
    output identity
}
