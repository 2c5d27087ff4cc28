# A Hamiltonian CNN: Verlet steps the two halves y and z of the channels.
# Mistake: the width is odd, so the Verlet block cannot split it in halves.
const width = 9

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
    conv(3x3, 3 -> width), relu
    hamiltonian(width) by verlet(h = 0.5, steps = 4)
    output globalavgpool, linear(width -> 10)
}
