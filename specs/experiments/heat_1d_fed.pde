# The heat equation u_t = u_xx in 1D stepped by Fast Explicit Diffusion: cycles of n
# explicit steps of varying size; a cycle is stable when tau_max <= h^2 / 2 and reaches
# the diffusion time tau_max (n^2 + n) / 3, so a diffusion time T costs O(sqrt(T)) steps.
# experiments/fed_depth.py sets tau_max, steps and cycles.

const tau_max = 0.5
const h = 1
const steps = 10
const cycles = 1

pde heat {
    state u[1]
    grid  h
    dt(u) = lap u
}

network heat_1d_fed {
    input  signal(1, 256)
    heat by fed(tau_max = tau_max, steps = steps, cycles = cycles)
    output identity
}
