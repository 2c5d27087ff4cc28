# Corpus: heat u_t = u_xx in 1D with Dirichlet data b outside the domain, 3-point
# Laplacian, forward Euler. u - b obeys the zero-boundary scheme, whose matrix has its
# spectrum inside the symbol's range: stable for tau <= h^2 / 2; at 1.01x the top mode
# of the 64-point zero-boundary Laplacian grows by about 1.017 per step.
const tau = 0.25
const h = 1
const b = 0.5
const steps = 10

pde heat {
    state u[1]
    grid  h : dirichlet(b)
    dt(u) = lap u
}

network heat_dirichlet_1d {
    input  signal(1, 64)
    heat by euler(tau = tau, steps = steps)
    output identity
}
