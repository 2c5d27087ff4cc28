# Ruthotto & Haber (2018), parabolic CNN, STL-10 layout (Table 1: 618,554 parameters).
#
# Each unit is 3 forward-Euler steps (h = 1) of dt(u) = -K' relu(N(K u)) with per-step
# 3x3 weights; N is the total-variation norm with per-channel scale and bias.

pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = -K' relu(N(K u))
}

const h = 1
const steps = 3

network parabolic_stl10 {
    input  image(3, 96, 96)
    conv(3x3, 3 -> 16), batchnorm, relu
    parabolic(16)  by euler(h = h, steps = steps)
    conv(1x1, 16 -> 32), batchnorm, relu, avgpool(2)
    parabolic(32)  by euler(h = h, steps = steps)
    conv(1x1, 32 -> 64), batchnorm, relu, avgpool(2)
    parabolic(64)  by euler(h = h, steps = steps)
    conv(1x1, 64 -> 128), batchnorm, relu, avgpool(2)
    parabolic(128) by euler(h = h, steps = steps)
    conv(1x1, 128 -> 128), batchnorm, relu, globalavgpool
    output linear(128 -> 10)
}
