# Corpus: advection u_t + a u_x = 0 (a > 0) in 1D, upwind difference, forward Euler,
# periodic grid. The stencil lists the weights of u[j-1], u[j], u[j+1].
# Ground truth (von Neumann): stable iff a tau / h <= 1.
const tau = 0.5
const h = 1
const a = 1
const steps = 10

pde advection {
    state   u[1]
    grid    h : periodic
    stencil D = [-1, 1, 0] / h
    dt(u) = -a * D u
}

network advection_upwind {
    input  signal(1, 64)
    advection by euler(tau = tau, steps = steps)
    output identity
}
