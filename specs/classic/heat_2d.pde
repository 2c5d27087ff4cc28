# The heat equation u_t = u_xx + u_yy in 2D: 5-point Laplacian, forward Euler, Neumann
# boundaries. Stable (von Neumann, maximum principle) for tau <= h^2 / 4.

const tau = 0.2
const h = 1
const steps = 100

pde heat {
    state u[1]
    grid  h
    dt(u) = lap u
}

network heat_2d {
    input  image(1, 32, 32)
    heat by euler(tau = tau, steps = steps)
    output identity
}
