# Alt et al. (2023): Fast Explicit Diffusion. One learned diffusion operator (shared
# weights) is applied with the FED step sizes tau_i = tau_max / (2 cos^2(pi (2i+1)/(4n+2))),
# in kappa-cycle order; a cycle reaches time tau_max (n^2 + n)/3 with n steps.

const tau_max = 0.25
const steps = 10
const cycles = 2
const width = 8

pde diffusion(c, m) {
    state  u[c]
    weight K : conv(5, c -> m)
    param  lambda = 0.1 : learn, positive
    flux   phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -K' phi(K u)
}

network fed_denoiser {
    input  signal(1, 256)
    diffusion(1, width) by fed(tau_max = tau_max, steps = steps, cycles = cycles, enforce = true)
    output identity
}
