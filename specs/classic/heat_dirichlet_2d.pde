# The heat equation u_t = u_xx + u_yy in 2D with Dirichlet data: the value outside the
# domain is held at b (a hot wall, b = 1). 5-point Laplacian, forward Euler. u - b obeys
# the zero-boundary scheme, so the bound is the same: tau <= h^2 / 4.
#
#   pde2net check specs/classic/heat_dirichlet_2d.pde --set tau=0.2525

const tau = 0.2
const h = 1
const b = 1
const steps = 50

pde heat {
    state u[1]
    grid  h : dirichlet(b)
    dt(u) = lap u
}

network heat_dirichlet_2d {
    input  image(1, 32, 32)
    heat by euler(tau = tau, steps = steps)
    output identity
}
