# Corpus: heat with a diffusion coefficient, u_t = kappa u_xx, forward Euler, periodic.
# Ground truth (von Neumann): stable iff tau <= h^2 / (2 kappa).
const tau = 0.1
const h = 1
const kappa = 2
const steps = 10

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = kappa * lap u
}

network heat_kappa_1d {
    input  signal(1, 64)
    heat by euler(tau = tau, steps = steps)
    output identity
}
