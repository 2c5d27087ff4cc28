# Ruthotto & Haber's layout at toy scale for scikit-learn's 8x8 digits: Hamiltonian (Verlet on two channel halves; reversible).
# Every variant has the same layout; `steps` sets the depth of the PDE block
# (pde2net train ... --set steps=8).

const steps = 3
const h = 0.5
const width = 16

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

network digits_hamiltonian {
    input  image(1, 8, 8)
    conv(3x3, 1 -> width), batchnorm, relu
    hamiltonian(width) by verlet(h = h, steps = steps)
    conv(1x1, width -> 16), batchnorm, relu, avgpool(2)
    flatten
    output linear(256 -> 10)
}
