# a norm named like the builtin relu: relu(K u) would apply the builtin, not the norm
pde p(c) {
    state u[c]
    norm relu : batchnorm(c)
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}
network n {
    input image(2, 8, 8)
    p(2) by euler(h = 0.1)
    output identity
}
