# Corpus: reaction-diffusion u_t = kappa u_xx - c u (c > 0) in 1D, periodic, IMEX Euler:
# the diffusion implicit (exact FFT solve), the reaction explicit.
# Ground truth (von Neumann, g = (1 - tau c) / (1 + 4 tau kappa sin^2(theta/2)/h^2)):
# stable iff tau <= 2 / c, for every kappa and h (the constant mode decides).
const tau = 0.1
const h = 1
const c = 1
const kappa = 1
const steps = 10

pde reaction {
    state u[1]
    grid  h : periodic
    dt(u) = kappa * lap u - c * u
}

network reaction_imex_1d {
    input  signal(1, 64)
    reaction by imex(tau = tau, steps = steps, solver = fft)
    output identity
}
