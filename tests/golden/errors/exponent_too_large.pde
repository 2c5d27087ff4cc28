# A reaction-diffusion block with a polynomial reaction term.
# Mistake: the exponent is far too large for a power of a field.
pde reaction(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u) - u^101
}

network small {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 16), relu
    reaction(16) by euler(h = 0.1, steps = 3)
    output globalavgpool, linear(16 -> 10)
}
