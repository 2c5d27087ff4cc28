# Corpus: heat u_t = u_xx + u_yy in 2D, 5-point Laplacian, forward Euler, periodic grid.
# Ground truth (von Neumann): stable iff tau <= h^2 / 4.
const tau = 0.2
const h = 1
const steps = 10

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_2d {
    input  image(1, 16, 16)
    heat by euler(tau = tau, steps = steps)
    output identity
}
