# A learned nonlinear diffusion for 1D denoising, one diffusion operator (shared weights,
# learned filters K and Perona-Malik contrast lambda) applied `steps` times by explicit
# Euler with tau = tau_max. The counterpart of learned_diffusion_1d_fed.pde: same weights,
# same number of steps (depth), only the step sizes differ. Used by experiments/fed_depth.py.

const tau_max = 0.25
const steps = 4
const width = 8

pde diffusion(c, m) {
    state  u[c]
    weight K : conv(5, c -> m)
    param  lambda = 0.1 : learn, positive
    flux   phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -K' phi(K u)
}

network learned_diffusion_1d_euler {
    input  signal(1, 256)
    diffusion(1, width) by euler(tau = tau_max, steps = steps, shared = true, enforce = true)
    output identity
}
