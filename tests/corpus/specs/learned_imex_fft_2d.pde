# Corpus: IMEXnet's implicit part, learned, periodic: u_t = -s D' D u - c u in 2D, D a
# learned depthwise 3x3 convolution, solved exactly per channel in Fourier space
# (1 / (1 + tau s |D(theta)|^2)); the reaction explicit.
# Ground truth: stable for tau <= 2 / c with every D (the solve only shrinks).
const tau = 0.1
const c = 1
const s = 100
const steps = 10

pde learned {
    state  u[2]
    grid   h = 1 : periodic
    weight D : conv(3x3, 2 -> 2, depthwise = true)
    dt(u) = -s * D' D u - c * u
}

network learned_imex_fft_2d {
    input  image(2, 12, 10)
    learned by imex(tau = tau, steps = steps)
    output identity
}
