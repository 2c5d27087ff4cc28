# Corpus: heat u_t = u_xx in 1D, 3-point Laplacian, forward Euler, periodic grid.
# Ground truth (von Neumann): stable iff tau <= h^2 / 2.
const tau = 0.25
const h = 1
const steps = 10

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_1d {
    input  signal(1, 64)
    heat by euler(tau = tau, steps = steps)
    output identity
}
