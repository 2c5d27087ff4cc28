# The wave equation u_tt = u_xx in 1D: 3-point Laplacian, leapfrog started at rest
# (u_t(0) = 0), Neumann boundaries. Stable (CFL) for tau <= h.
# Taylor start u_1 = u_0 + tau^2/2 lap u_0 (u_t(0) = 0): second order in tau.

const tau = 0.9
const h = 1
const steps = 100

pde wave {
    state u[1]
    grid  h
    dtt(u) = lap u
}

network wave_1d {
    input  signal(1, 64)
    wave by leapfrog(tau = tau, steps = steps, start = taylor)
    output identity
}
