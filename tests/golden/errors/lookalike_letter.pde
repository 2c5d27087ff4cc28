# A parabolic CNN, with the weight's name pasted from a PDF.
# Mistake: the K is a Cyrillic letter that looks like a Latin one.
pde parabolic(c) {
    state  u[c]
    weight К : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}

network small {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 16), relu
    parabolic(16) by euler(h = 1, steps = 3)
    output globalavgpool, linear(16 -> 10)
}
