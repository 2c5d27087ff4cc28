# Corpus: reaction-diffusion u_t = u_xx - c u (c > 0) in 1D, forward Euler, periodic.
# Ground truth (von Neumann, g = 1 - tau (4 sin^2(theta/2)/h^2 + c)):
# stable iff tau <= 2 / (4 / h^2 + c).
const tau = 0.1
const h = 1
const c = 1
const steps = 10

pde reaction {
    state u[1]
    grid  h : periodic
    dt(u) = lap u - c * u
}

network reaction_1d {
    input  signal(1, 64)
    reaction by euler(tau = tau, steps = steps)
    output identity
}
