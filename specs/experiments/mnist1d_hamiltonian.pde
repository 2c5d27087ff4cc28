# MNIST-1D, the Hamiltonian network at the layout of mnist1d_parabolic.pde: Verlet on two
# channel halves y, z (reversible; half the channels in each convolution).
# pde2net train specs/experiments/mnist1d_hamiltonian.pde --data mnist1d

const steps = 3
const h = 0.5
const width = 16

pde hamiltonian(c) {
    state  y[c/2]
    state  z[c/2]
    weight K1 : conv(5, c/2 -> c/2)
    weight K2 : conv(5, c/2 -> c/2)
    norm   N1 : tvnorm(c/2, eps = 1e-3)
    norm   N2 : tvnorm(c/2, eps = 1e-3)
    dt(y) = -K1' relu(N1(K1 z))
    dt(z) = K2' relu(N2(K2 y))
}

network mnist1d_hamiltonian {
    input  signal(1, 40)
    conv(5, 1 -> width), batchnorm, relu
    hamiltonian(width) by verlet(h = h, steps = steps)
    conv(1, width -> width), batchnorm, relu, avgpool(2)
    hamiltonian(width) by verlet(h = h, steps = steps)
    conv(1, width -> width), batchnorm, relu, avgpool(4)
    flatten
    output linear(5 * width -> 10)
}
