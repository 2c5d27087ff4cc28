# The wave equation u_tt = u_xx + u_yy in 2D: 5-point Laplacian, leapfrog started at
# rest, Neumann boundaries. Stable (CFL) for tau <= h / sqrt(2).
# Taylor start u_1 = u_0 + tau^2/2 lap u_0 (u_t(0) = 0): second order in tau.

const tau = 0.7
const h = 1
const steps = 100

pde wave {
    state u[1]
    grid  h
    dtt(u) = lap u
}

network wave_2d {
    input  image(1, 32, 32)
    wave by leapfrog(tau = tau, steps = steps, start = taylor)
    output identity
}
