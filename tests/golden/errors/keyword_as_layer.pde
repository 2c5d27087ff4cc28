# A network whose last block is a pde named 'output'.
# Mistake: 'output' starts the output line, so the pde cannot be used as a layer.
pde output(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}

network small {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 16), relu
    output(16) by euler(h = 1, steps = 3)
    output globalavgpool, linear(16 -> 10)
}
