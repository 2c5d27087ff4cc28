# Ruthotto & Haber (2018), second-order CNN, CIFAR-10 layout (Table 1: 502,570 parameters).
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

network second_order_cifar10 {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 32), batchnorm, relu
    second_order(32)  by leapfrog(h = h, steps = steps)
    conv(1x1, 32 -> 64), batchnorm, relu, avgpool(2)
    second_order(64)  by leapfrog(h = h, steps = steps)
    conv(1x1, 64 -> 112), batchnorm, relu, avgpool(2)
    second_order(112) by leapfrog(h = h, steps = steps)
    conv(1x1, 112 -> 112), batchnorm, relu, globalavgpool
    output linear(112 -> 10)
}
