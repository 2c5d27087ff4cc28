# A parabolic CNN whose activation is not monotone: σ(x) = x - 2 tanh(x) has
# σ'(0) = -1 < 0, so Theorem 1 of Ruthotto & Haber does not apply (exit 1, violated).
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = -K' bad(N(K u))
}

fn bad(x) = x - 2*tanh(x)

network small {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 16), batchnorm, relu
    parabolic(16) by euler(h = 1, steps = 3)
    globalavgpool
    output linear(16 -> 10)
}
