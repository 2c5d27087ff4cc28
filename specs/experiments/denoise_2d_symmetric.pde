# Alt et al. (2023) on 2D denoising: a symmetric residual network of diffusion blocks
# u <- u - tau K' phi(K u). The transposed convolution reuses K, so a block holds half
# the convolution weights of a ResNet block of the same width (denoise_2d_resnet.pde).
# The Perona-Malik flux has 0 <= phi(s)/s <= 1, so each block is non-expansive while
# tau ||K||^2 <= 2; enforce = true keeps that true during training.
#
#   experiments/alt_denoising.py trains it at width m and 2m, and with 2x the steps.

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

network denoise_2d_symmetric {
    input  image(1, 32, 32)
    diffusion(1, width) by euler(tau = tau, steps = steps, enforce = true)
    output identity
}
