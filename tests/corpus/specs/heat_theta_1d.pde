# Corpus: heat u_t = u_xx in 1D, 3-point Laplacian, the θ-scheme with θ = 1/4 and one
# CG iteration (exact on the checkerboard, an eigenvector), periodic grid.
# Ground truth: |R(-4 tau / h^2)| <= 1 with R(z) = (1 + 3z/4)/(1 - z/4): tau <= h^2.
const tau = 0.25
const h = 1
const steps = 10

pde heat {
    state u[1]
    grid  h : periodic
    dt(u) = lap u
}

network heat_theta_1d {
    input  signal(1, 64)
    heat by theta(theta = 0.25, tau = tau, steps = steps, iterations = 1)
    output identity
}
