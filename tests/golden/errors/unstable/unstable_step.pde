# The heat equation in 1D, stepped by forward Euler.
# Mistake: tau = 0.75 is over the von Neumann bound tau <= h^2/2 = 0.5 (exit 1, violated).
const tau = 0.75
const h = 1

pde heat {
    state u[1]
    grid  h
    dt(u) = lap u
}

network heat_1d {
    input  signal(1, 64)
    heat by euler(h = tau, steps = 10)
    output identity
}
