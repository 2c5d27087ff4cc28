# Perona-Malik diffusion u_t = (phi(u_x))_x in 1D with the forward difference dx and its
# adjoint: u <- u - tau dx' phi(dx u), Neumann boundaries (Alt et al. 2023).
# The flux is not monotone, but 0 <= phi(s)/s <= 1, so the scheme is non-expansive in
# the Euclidean norm for tau <= 2 / (L ||dx||^2) = h^2 / 2.

const tau = 0.25
const h = 1
const steps = 100
const lambda = 0.5

flux phi(s) = s / (1 + s^2 / lambda^2)

pde perona_malik {
    state u[1]
    grid  h
    dt(u) = -dx' phi(dx u)
}

network perona_malik_1d {
    input  signal(1, 64)
    perona_malik by euler(tau = tau, steps = steps)
    output identity
}
