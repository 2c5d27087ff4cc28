# Alt et al. (2023) on 1D denoising, the baseline: standard ResNet blocks
# u <- u - tau K2 phi(K1 u) with independent K1 (1 -> m) and K2 (m -> 1), the same flux
# and layout as denoise_1d_symmetric.pde, so twice the convolution weights at equal
# width. No stability theorem covers K2 diag(phi') K1, so nothing is enforced.

const tau = 0.25
const steps = 5
const width = 8

pde resblock(c, m) {
    state  u[c]
    weight K1 : conv(5, c -> m)
    weight K2 : conv(5, m -> c)
    param  lambda = 0.1 : learn, positive
    flux   phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -K2 phi(K1 u)
}

network denoise_1d_resnet {
    input  signal(1, 256)
    resblock(1, width) by euler(tau = tau, steps = steps)
    output identity
}
