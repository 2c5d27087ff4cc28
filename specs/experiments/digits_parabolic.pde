# Ruthotto & Haber's layout at toy scale for scikit-learn's 8x8 digits: parabolic (forward Euler on -K' relu(N(K u))).
# Every variant has the same layout; `steps` sets the depth of the PDE block
# (pde2net train ... --set steps=8).

const steps = 3
const h = 0.5
const width = 16

pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = -K' relu(N(K u))
}

network digits_parabolic {
    input  image(1, 8, 8)
    conv(3x3, 1 -> width), batchnorm, relu
    parabolic(width) by euler(h = h, steps = steps, enforce = true)
    conv(1x1, width -> 16), batchnorm, relu, avgpool(2)
    flatten
    output linear(256 -> 10)
}
