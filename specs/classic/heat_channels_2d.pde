# The heat equation u_t = kappa_c (u_xx + u_yy) with one learned diffusion coefficient per
# channel, forward Euler, Neumann boundaries. Stable (von Neumann) for
# tau * max_c kappa_c <= h^2 / 4; enforce = true clamps every channel's kappa into
# (0, h^2 / (4 tau)] = (0, 1.25] here, so training cannot leave the stable range.

const tau = 0.2
const h = 1
const steps = 20

pde heat(c) {
    state u[c]
    grid  h
    param kappa[c] = 0.5 : learn, positive
    dt(u) = kappa * lap u
}

network heat_channels_2d {
    input  image(3, 32, 32)
    heat(3) by euler(tau = tau, steps = steps, enforce = true)
    output identity
}
