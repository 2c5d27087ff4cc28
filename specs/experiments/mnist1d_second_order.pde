# MNIST-1D, the second-order network at the layout of mnist1d_parabolic.pde: leapfrog on
# dtt(u) = -K' relu(N(K u)) from rest (reversible).
# pde2net train specs/experiments/mnist1d_second_order.pde --data mnist1d

const steps = 3
const h = 0.5
const width = 16

pde second_order(c) {
    state  u[c]
    weight K : conv(5, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dtt(u) = -K' relu(N(K u))
}

network mnist1d_second_order {
    input  signal(1, 40)
    conv(5, 1 -> width), batchnorm, relu
    second_order(width) by leapfrog(h = h, steps = steps)
    conv(1, width -> width), batchnorm, relu, avgpool(2)
    second_order(width) by leapfrog(h = h, steps = steps)
    conv(1, width -> width), batchnorm, relu, avgpool(4)
    flatten
    output linear(5 * width -> 10)
}
