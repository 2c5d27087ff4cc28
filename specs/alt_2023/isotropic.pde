# Alt et al. (2022, 2023): rotation-invariant (isotropic) Perona-Malik diffusion with a
# vector flux, the channel-coupling activation g(|grad u|^2) grad u:
#     dt(u) = div(g(|grad u|^2) grad u),   g(s) = 1 / (1 + s / lambda^2)
# div = -grad', so the right-hand side is -grad'(g grad u): the secant K' diag(g) K with
# 0 <= g <= 1, Euclidean-stable for tau <= 2 / (L ||grad||^2) = h^2 / 4 in 2D.
# |v|^2 sums the squares over all channels of v (here u_x^2 + u_y^2).

const tau = 0.2
const h = 1
const steps = 10

pde isotropic {
    state u[1]
    grid  h
    param lambda = 0.1 : learn, positive
    fn    g(s) = 1 / (1 + s / lambda^2)
    dt(u) = div(g(|grad u|^2) * grad u)
}

network isotropic_denoiser {
    input  image(1, 32, 32)
    isotropic by euler(tau = tau, steps = steps, shared = true)
    output identity
}
