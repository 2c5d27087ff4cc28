# Ruthotto & Haber (2018), Hamiltonian CNN, CIFAR-100 layout (Table 1: 362,180 parameters).
#
# Each unit is 3 Verlet steps (h = 1) on the two channel halves y and z, with per-step
# 3x3 weights (c/2 -> c/2) and TV norms: y <- y - h K1' relu(N1(K1 z)), then
# z <- z + h K2' relu(N2(K2 y)) with the new y. Reversible; an odd c is an error.

pde hamiltonian(c) {
    state  y[c/2]
    state  z[c/2]
    weight K1 : conv(3x3, c/2 -> c/2)
    weight K2 : conv(3x3, c/2 -> c/2)
    norm   N1 : tvnorm(c/2, eps = 1e-3)
    norm   N2 : tvnorm(c/2, eps = 1e-3)
    dt(y) = -K1' relu(N1(K1 z))
    dt(z) = K2' relu(N2(K2 y))
}

const h = 1
const steps = 3

network hamiltonian_cifar100 {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 32), batchnorm, relu
    hamiltonian(32)  by verlet(h = h, steps = steps)
    conv(1x1, 32 -> 64), batchnorm, relu, avgpool(2)
    hamiltonian(64)  by verlet(h = h, steps = steps)
    conv(1x1, 64 -> 128), batchnorm, relu, avgpool(2)
    hamiltonian(128) by verlet(h = h, steps = steps)
    conv(1x1, 128 -> 256), batchnorm, relu, globalavgpool
    output linear(256 -> 100)
}
