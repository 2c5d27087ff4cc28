# The heat equation u_t = u_xx + u_yy + u_zz in 3D: 7-point Laplacian, forward Euler,
# Neumann boundaries. Stable (von Neumann, maximum principle) for tau <= h^2 / 6.
#
#   pde2net check specs/classic/heat_3d.pde --set tau=0.1683 --set h=1

const tau = 0.15
const h = 1
const steps = 20

pde heat {
    state u[1]
    grid  h
    dt(u) = lap u
}

network heat_3d {
    input  volume(1, 16, 16, 16)
    heat by euler(tau = tau, steps = steps)
    output identity
}
