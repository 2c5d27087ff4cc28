# Corpus: heat u_t = u_xx + u_yy + u_zz in 3D, 7-point Laplacian, forward Euler, periodic
# grid. Ground truth (von Neumann): stable iff tau <= h^2 / 6.
const tau = 0.15
const h = 1
const steps = 10

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_3d {
    input  volume(1, 8, 8, 8)
    heat by euler(tau = tau, steps = steps)
    output identity
}
