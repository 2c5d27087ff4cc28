# A parabolic CNN.
# Mistake: a Python-style dunder name, reserved for the generated code.
pde parabolic(c) {
    state  u[c]
    weight __weight__ : conv(3x3, c -> c)
    dt(u) = -__weight__' relu(__weight__ u)
}

network small {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 16), relu
    parabolic(16) by euler(h = 1, steps = 3)
    output globalavgpool, linear(16 -> 10)
}
