# Heat equation in 1D, run to time 1 with a tiny step.
# Mistake: a million explicit steps per forward pass.
const tau = 1e-6

pde heat {
    state u[1]
    grid  h = 1
    dt(u) = lap u
}

network heat_1d {
    input  signal(1, 64)
    heat by euler(h = tau, steps = 1 / tau)
    output identity
}
