# Corpus: heat u_t = u_xx in 1D, Fast Explicit Diffusion cycles, periodic grid.
# Ground truth: a FED cycle is stable iff its explicit step tau_max <= h^2 / 2.
const tau = 0.25
const h = 1
const n = 10
const cycles = 1

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_fed_1d {
    input  signal(1, 64)
    heat by fed(tau_max = tau, steps = n, cycles = cycles)
    output identity
}
