# Alt et al. (2023): the Fast Semi-Iterative scheme, FED's extrapolation form:
# u <- alpha_k (u - tau K' phi(K u)) + (1 - alpha_k) u_prev, a skip connection two
# layers back, alpha_k = (4k + 2)/(2k + 3).

const tau = 0.25
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

network fsi_denoiser {
    input  signal(1, 256)
    diffusion(1, width) by fsi(tau = tau, steps = steps, cycles = cycles, enforce = true)
    output identity
}
