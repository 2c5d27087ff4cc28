# Heat equation in 1D on a fine grid.
# Mistake: the spacing is so small that the Laplacian's weights 1/h^2 leave float32.
pde heat {
    state u[1]
    grid  h = 1e-20
    dt(u) = lap u
}

network heat_1d {
    input  signal(1, 64)
    heat by euler(h = 1e-41, steps = 10)
    output identity
}
