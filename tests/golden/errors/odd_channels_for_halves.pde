# A small Hamiltonian CNN: the state is split into two halves y and z.
# Mistake: Hamiltonian block with an odd channel count.
pde hamiltonian(c) {
    state  y[c/2]
    state  z[c/2]
    weight K1 : conv(3x3, c/2 -> c/2)
    weight K2 : conv(3x3, c/2 -> c/2)
    dt(y) = -K1' relu(K1 z)
    dt(z) = K2' relu(K2 y)
}

network small_hamiltonian {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 15), batchnorm, relu
    hamiltonian(15) by verlet(h = 1, steps = 2)
    globalavgpool
    output linear(15 -> 10)
}
