# A small parabolic CNN (Ruthotto & Haber 2018) for 32x32 RGB images.
# Mistake: a scalar math function applied to a field.
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = -K' exp(N(K u))
}

const h = 1
const steps = 3

network small {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 16), batchnorm, relu
    parabolic(16) by euler(h = h, steps = steps)
    conv(1x1, 16 -> 32), batchnorm, relu, avgpool(2)
    parabolic(32) by euler(h = h, steps = steps)
    globalavgpool
    output linear(32 -> 10)
}
