# Alt et al. (2023): a multigrid V-cycle for the semi-implicit step is a U-net: Jacobi
# smoothing (residual diffusion blocks), restriction by a strided convolution,
# prolongation by the transposed strided convolution with the same kernel (P ~ R'), and
# the coarse-grid correction added back as the skip connection.

const tau = 5
const levels = 3
const width = 8

pde diffusion(c, m) {
    state  u[c]
    weight K : conv(3x3, c -> m)
    param  lambda = 0.1 : learn, positive
    flux   phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -K' phi(K u)
}

network multigrid_denoiser {
    input  image(1, 64, 64)
    diffusion(1, width) by multigrid(tau = tau, levels = levels, pre = 2, post = 2, cycles = 2)
    output identity
}
