# Perona-Malik diffusion in 1D stepped by Fast Explicit Diffusion (cycles of n varying
# explicit steps). The diffusivity g = phi(s)/s is frozen at each cycle's start (the
# default; freeze = false re-evaluates it at every step), so each cycle is a linear
# symmetric PSD step and the FED theorem applies. experiments/fed_depth.py sets
# tau_max, steps, cycles.

const tau_max = 0.5
const h = 1
const steps = 10
const cycles = 1
const lambda = 0.1

flux phi(s) = s / (1 + s^2 / lambda^2)

pde perona_malik {
    state u[1]
    grid  h
    dt(u) = -dx' phi(dx u)
}

network perona_malik_1d_fed {
    input  signal(1, 256)
    perona_malik by fed(tau_max = tau_max, steps = steps, cycles = cycles)
    output identity
}
