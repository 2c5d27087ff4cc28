# The heat equation u_t = u_xx in 1D stepped by an explicit Runge-Kutta method given by
# its Butcher tableau: Heun's third-order method. Stable (von Neumann) for
# tau <= beta h^2 / 4, beta = 2.5127 the exact real-axis extent of its stability region
# (R(z) = 1 + z + z^2/2 + z^3/6, the same as every 3-stage third-order method).

const tau = 0.6
const h = 1
const steps = 50

pde heat {
    state u[1]
    grid  h
    dt(u) = lap u
}

network heat_rk_tableau_1d {
    input  signal(1, 64)
    heat by rk(a = [[0, 0, 0], [1/3, 0, 0], [0, 2/3, 0]], b = [1/4, 0, 3/4], tau = tau, steps = steps)
    output identity
}
