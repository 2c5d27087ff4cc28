# ResNet baseline with the layout of Ruthotto & Haber (2018), CIFAR-100.
#
# Each unit is 3 residual steps Y <- Y + K2 relu(N(K1 Y)) with independent per-step
# 3x3 weights K1, K2 (no weight sharing between them): twice the weights of a
# parabolic unit, and no stability theorem applies.

pde resnet(c) {
    state  u[c]
    weight K1 : conv(3x3, c -> c)
    weight K2 : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = K2 relu(N(K1 u))
}

const h = 1
const steps = 3

network resnet_cifar100 {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 32), batchnorm, relu
    resnet(32)  by euler(h = h, steps = steps)
    conv(1x1, 32 -> 64), batchnorm, relu, avgpool(2)
    resnet(64)  by euler(h = h, steps = steps)
    conv(1x1, 64 -> 128), batchnorm, relu, avgpool(2)
    resnet(128) by euler(h = h, steps = steps)
    conv(1x1, 128 -> 256), batchnorm, relu, globalavgpool
    output linear(256 -> 100)
}
