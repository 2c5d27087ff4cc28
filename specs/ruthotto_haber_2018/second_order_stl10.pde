# Ruthotto & Haber (2018), second-order CNN, STL-10 layout (Table 1: 618,554 parameters).
#
# Each unit is 3 leapfrog steps (h = 1) of dtt(u) = -K' relu(N(K u)), started at rest
# (u_-1 = u_0), with per-step 3x3 weights and TV norms. Reversible.

pde second_order(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dtt(u) = -K' relu(N(K u))
}

const h = 1
const steps = 3

network second_order_stl10 {
    input  image(3, 96, 96)
    conv(3x3, 3 -> 16), batchnorm, relu
    second_order(16)  by leapfrog(h = h, steps = steps)
    conv(1x1, 16 -> 32), batchnorm, relu, avgpool(2)
    second_order(32)  by leapfrog(h = h, steps = steps)
    conv(1x1, 32 -> 64), batchnorm, relu, avgpool(2)
    second_order(64)  by leapfrog(h = h, steps = steps)
    conv(1x1, 64 -> 128), batchnorm, relu, avgpool(2)
    second_order(128) by leapfrog(h = h, steps = steps)
    conv(1x1, 128 -> 128), batchnorm, relu, globalavgpool
    output linear(128 -> 10)
}
