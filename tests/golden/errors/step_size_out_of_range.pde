# Heat equation in 1D.
# Mistake: a step size below what float32 arithmetic can represent usefully.
pde heat {
    state u[1]
    grid  h = 1
    dt(u) = lap u
}

network heat_1d {
    input  signal(1, 64)
    heat by euler(h = 1e-40, steps = 10)
    output identity
}
