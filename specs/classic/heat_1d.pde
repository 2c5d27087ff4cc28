# The heat equation u_t = u_xx in 1D: 3-point Laplacian, forward Euler, Neumann
# boundaries. Stable (von Neumann, maximum principle) for tau <= h^2 / 2.
#
#   pde2net check specs/classic/heat_1d.pde --set tau=0.3 --set h=0.5

const tau = 0.25
const h = 1
const steps = 100

pde heat {
    state u[1]
    grid  h
    dt(u) = lap u
}

network heat_1d {
    input  signal(1, 64)
    heat by euler(h = tau, steps = steps)
    output identity
}
