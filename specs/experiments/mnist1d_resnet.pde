# MNIST-1D, the ResNet baseline at the layout of mnist1d_parabolic.pde:
# forward Euler on K2 relu(N(K1 u)) with independent K1, K2 (twice the block weights).
# pde2net train specs/experiments/mnist1d_resnet.pde --data mnist1d

const steps = 3
const h = 0.5
const width = 16

pde resnet(c) {
    state  u[c]
    weight K1 : conv(5, c -> c)
    weight K2 : conv(5, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = K2 relu(N(K1 u))
}

network mnist1d_resnet {
    input  signal(1, 40)
    conv(5, 1 -> width), batchnorm, relu
    resnet(width) by euler(h = h, steps = steps)
    conv(1, width -> width), batchnorm, relu, avgpool(2)
    resnet(width) by euler(h = h, steps = steps)
    conv(1, width -> width), batchnorm, relu, avgpool(4)
    flatten
    output linear(5 * width -> 10)
}
