# Heat equation in 1D; the step follows from the final time and the step count.
# Mistake: the step count is subtracted from itself, so the step divides by zero.
const final = 1
const steps = 20
const tau = final / (steps - 20)

pde heat {
    state u[1]
    grid  h = 1
    dt(u) = lap u
}

network heat_1d {
    input  signal(1, 64)
    heat by euler(h = tau, steps = steps)
    output identity
}
