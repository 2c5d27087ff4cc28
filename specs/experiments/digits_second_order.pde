# Ruthotto & Haber's layout at toy scale for scikit-learn's 8x8 digits: second-order (leapfrog from rest; reversible).
# Every variant has the same layout; `steps` sets the depth of the PDE block
# (pde2net train ... --set steps=8).

const steps = 4
const h = 0.5
const width = 16

pde second_order(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dtt(u) = -K' relu(N(K u))
}

network digits_second_order {
    input  image(1, 8, 8)
    conv(3x3, 1 -> width), batchnorm, relu
    second_order(width) by leapfrog(h = h, steps = steps)
    conv(1x1, width -> 16), batchnorm, relu, avgpool(2)
    flatten
    output linear(256 -> 10)
}
