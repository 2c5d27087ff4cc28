# Perona-Malik diffusion u_t = (phi(u_x))_x in 1D, u <- u - tau dx' phi(dx u), stepped by
# explicit Euler. 0 <= phi(s)/s <= 1, so a step is non-expansive for tau <= h^2 / 2.
# experiments/fed_depth.py sets tau and steps.

const tau = 0.5
const h = 1
const steps = 10
const lambda = 0.1

flux phi(s) = s / (1 + s^2 / lambda^2)

pde perona_malik {
    state u[1]
    grid  h
    dt(u) = -dx' phi(dx u)
}

network perona_malik_1d_euler {
    input  signal(1, 256)
    perona_malik by euler(tau = tau, steps = steps)
    output identity
}
