# IMEXnet (Haber, Lensink, Treister, Ruthotto 2019) in 2D on a periodic grid: the
# learned layer -K' relu(K u) explicitly, a learned depthwise -D' D u implicitly,
# u+ = (I + tau D' D)^-1 (u - tau K' relu(K u)).
# The implicit part is symmetric negative semi-definite for every value of D, so its
# solve is non-expansive with no condition on D; it is exact per channel in Fourier
# space, 1 / (1 + tau |D(theta)|^2), built in the graph from the learned kernel.
# The explicit part is forward Euler's: tau ||K||^2 <= 2, enforced on K.

const c = 4
const tau = 0.5

pde imexnet(c) {
    state  u[c]
    grid   h = 1 : periodic
    weight K : conv(3x3, c -> c)
    weight D : conv(3x3, c -> c, depthwise = true)
    dt(u) = -K' relu(K u) - D' D u
}

network imexnet_2d {
    input  image(c, 16, 16)
    imexnet(c) by imex(tau = tau, steps = 4, enforce = true)
    output identity
}
