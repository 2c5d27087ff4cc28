# Corpus: heat u_t = u_xx in 1D written as u_t = -dx' dx u (dx' the exact adjoint), implicit
# Euler (I + tau dx' dx) u+ = u solved by CG,
# periodic grid. Ground truth: stable for every tau > 0.
const tau = 10
const h = 1
const steps = 1
const iterations = 64

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = -dx' dx u
}

network heat_implicit_1d {
    input  signal(1, 64)
    heat by implicit(tau = tau, iterations = iterations, steps = steps)
    output identity
}
