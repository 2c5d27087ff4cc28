# Corpus: heat u_t = u_xx in 1D, Fast Semi-Iterative cycles (FED as extrapolation),
# periodic grid. Ground truth: stable iff tau <= h^2 / 2.
const tau = 0.25
const h = 1
const n = 10
const cycles = 1

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_fsi_1d {
    input  signal(1, 64)
    heat by fsi(tau = tau, steps = n, cycles = cycles)
    output identity
}
