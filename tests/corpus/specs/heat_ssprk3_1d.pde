# Corpus: heat u_t = u_xx in 1D, 3-point Laplacian, ssprk3, periodic grid.
# Ground truth (von Neumann): stable iff tau <= beta h^2 / 4, beta the method's real-axis extent.
const tau = 0.25
const h = 1
const steps = 10

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_ssprk3_1d {
    input  signal(1, 64)
    heat by ssprk3(tau = tau, steps = steps)
    output identity
}
