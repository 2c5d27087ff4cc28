# Corpus: Allen-Cahn u_t = u_xx + u - u^3 in 1D, forward Euler, periodic grid.
# Ground truth: the reaction term is anti-dissipative near 0 (u' = u) and the step at
# tau = 10 is far beyond every explicit bound: not stable.
const tau = 10
const h = 1
const steps = 10

pde allen_cahn {
    state u[1]
    grid  h : periodic
    dt(u) = lap u + u - u^3
}

network allen_cahn_1d {
    input  signal(1, 64)
    allen_cahn by euler(tau = tau, steps = steps)
    output identity
}
