# A learned nonlinear diffusion for 1D denoising stepped by one FED cycle of `steps`
# steps: the same operator and weights as learned_diffusion_1d_euler.pde, but the
# cycle reaches the diffusion time tau_max (n^2 + n)/3 instead of tau_max n.
# Used by experiments/fed_depth.py.

const tau_max = 0.25
const steps = 4
const cycles = 1
const width = 8

pde diffusion(c, m) {
    state  u[c]
    weight K : conv(5, c -> m)
    param  lambda = 0.1 : learn, positive
    flux   phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -K' phi(K u)
}

network learned_diffusion_1d_fed {
    input  signal(1, 256)
    diffusion(1, width) by fed(tau_max = tau_max, steps = steps, cycles = cycles, enforce = true)
    output identity
}
