# Corpus: heat with a learned per-channel diffusion coefficient, u_t = kappa_c u_xx,
# forward Euler, periodic. Every channel starts at kappa0; the channels are decoupled,
# so the ground truth (von Neumann) is the scalar one at the largest channel value:
# stable iff tau <= h^2 / (2 max_c kappa_c). Learned, so the verdict is conditional.
const tau = 0.1
const h = 1
const kappa0 = 2
const steps = 10

pde heat(c) {
    state u[c]
    grid  h : periodic
    param kappa[c] = kappa0 : learn, positive
    dt(u) = kappa * lap u
}

network heat_kappa_channels_1d {
    input  signal(3, 64)
    heat(3) by euler(tau = tau, steps = steps)
    output identity
}
