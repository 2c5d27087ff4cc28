# Corpus: heat u_t = u_xx in 1D, 3-point Laplacian, periodic, stepped by the general
# rk(a, b) with Heun's third-order tableau. Ground truth (von Neumann): stable iff
# tau <= beta h^2 / 4, beta = 2.5127453266 the real-axis extent of 1 + z + z^2/2 + z^3/6.
const tau = 0.25
const h = 1
const steps = 10

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_rk_tableau_1d {
    input  signal(1, 64)
    heat by rk(a = [[0, 0, 0], [1/3, 0, 0], [0, 2/3, 0]], b = [1/4, 0, 3/4], tau = tau, steps = steps)
    output identity
}
