# Alt et al. (2023): a semi-implicit scheme is a recurrent network. Each time step solves
# (I + tau K' G K) u_next = u with the lagged diffusivity G = phi(K u)/(K u) by conjugate
# gradients; the iterations share K, and u enters every one of them. Stable for any tau.

const tau = 2
const steps = 3
const iterations = 10
const width = 8

pde diffusion(c, m) {
    state  u[c]
    weight K : conv(5, c -> m)
    param  lambda = 0.1 : learn, positive
    flux   phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -K' phi(K u)
}

network implicit_denoiser {
    input  signal(1, 256)
    diffusion(1, width) by implicit(tau = tau, solver = cg, iterations = iterations, steps = steps)
    output identity
}
