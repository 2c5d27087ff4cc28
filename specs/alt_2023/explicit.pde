# Alt et al. (2023): the explicit scheme of nonlinear diffusion as a symmetric residual
# network. Each step is a diffusion block u <- u - tau K' phi(K u): the outer transposed
# convolution shares K, which halves the parameters of a ResNet block. The Perona-Malik
# flux is not monotone, but 0 <= phi(s)/s <= 1, so the block is Euclidean-stable while
# tau ||K||^2 <= 2; enforce = true keeps that true during training.

const tau = 0.25
const steps = 5
const width = 8

pde diffusion(c, m) {
    state  u[c]
    weight K : conv(3x3, c -> m)
    param  lambda = 0.1 : learn, positive
    flux   phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -K' phi(K u)
}

network explicit_denoiser {
    input  image(1, 64, 64)
    diffusion(1, width) by euler(tau = tau, steps = steps, enforce = true)
    output identity
}
