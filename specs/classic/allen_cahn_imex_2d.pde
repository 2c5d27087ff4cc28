# Allen-Cahn u_t = eps2 lap u + u - u^3 in 2D with Neumann boundaries, stepped IMEX:
# the stiff diffusion implicitly (20 conjugate-gradient iterations from zero), the
# reaction explicitly, u+ = (I - tau eps2 lap)^-1 (u + tau (u - u^3)).
# The implicit solve is non-expansive for every tau; the explicit reaction's slope
# 1 - 3u^2 is unbounded below, so no tau is stable for all amplitudes: unverified
# (the step is stable on bounded data, which the language cannot declare yet).

const tau = 0.1
const eps2 = 4
const steps = 5

pde allen_cahn {
    state u[1]
    grid  h = 1
    param eps2 = eps2
    dt(u) = eps2 * lap u + u - u^3
}

network allen_cahn_imex_2d {
    input  image(1, 24, 24)
    allen_cahn by imex(tau = tau, steps = steps, solver = cg, iterations = 20)
    output identity
}
