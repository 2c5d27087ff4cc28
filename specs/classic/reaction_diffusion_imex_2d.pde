# Reaction-diffusion u_t = kappa lap u + r u on a periodic 2D grid, stepped IMEX:
# the diffusion implicitly (solved exactly by FFT), the reaction explicitly,
#   u+ = (I - tau kappa lap)^-1 (u + tau r u).
# Each Fourier mode is multiplied by (1 + tau r) / (1 - tau kappa l(theta)), l <= 0:
# stable for every tau and kappa when r >= 0 (growth at most 1 + tau r, the PDE's own
# rate), and for tau <= 2 / |r| when r < 0 (here r = -0.5: tau <= 4).

const tau = 1
const kappa = 1
const r = -0.5
const steps = 4

pde reaction_diffusion {
    state u[2]
    grid  h = 1 : periodic
    param kappa = kappa
    param r = r
    dt(u) = kappa * lap u + r * u
}

network reaction_diffusion_imex_2d {
    input  image(2, 16, 16)
    reaction_diffusion by imex(tau = tau, steps = steps, solver = fft)
    output identity
}
