# The heat equation u_t = u_xx in 1D (3-point Laplacian, Neumann boundaries) stepped by
# explicit Euler: m steps of size tau reach the diffusion time m tau, and stability
# needs tau <= h^2 / 2, so a diffusion time T costs at least 2T/h^2 steps.
# experiments/fed_depth.py sets tau and steps (--set tau=0.4 --set steps=25).

const tau = 0.5
const h = 1
const steps = 10

pde heat {
    state u[1]
    grid  h
    dt(u) = lap u
}

network heat_1d_euler {
    input  signal(1, 256)
    heat by euler(tau = tau, steps = steps)
    output identity
}
