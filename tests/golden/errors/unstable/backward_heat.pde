# A parabolic CNN block.
# Mistake: a plus sign makes it the backward heat equation, which amplifies differences.
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = K' relu(K u)
}

network small {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 16), relu
    parabolic(16) by euler(h = 1, steps = 3)
    output globalavgpool, linear(16 -> 10)
}
