# A wide parabolic CNN.
# Mistake: a million channels where a thousand were meant; the model would not fit.
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}

network wide {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 64), relu
    conv(3x3, 64 -> 1000000), relu
    parabolic(1000000) by euler(h = 1, steps = 3)
    output globalavgpool, linear(1000000 -> 10)
}
