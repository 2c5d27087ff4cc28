# One semi-implicit heat step, (I - tau lap) v = u, solved by multigrid W-cycles:
# damped-Jacobi smoothing, restriction by a strided convolution, a W-cycle's two coarse
# corrections per level, prolongation by the transposed convolution.
#
#   pde2net compile specs/classic/heat_multigrid_w_2d.pde --set tau=100

const tau = 10
const h = 1

pde heat {
    state u[1]
    grid  h
    dt(u) = -grad' grad u
}

network heat_multigrid_w_2d {
    input  image(1, 32, 32)
    heat by multigrid(tau = tau, levels = 3, pre = 2, post = 2, cycles = 2, cycle = W, omega = 4/5, coarse = 4)
    output identity
}
