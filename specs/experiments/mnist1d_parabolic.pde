# MNIST-1D (Greydanus 2020: 4,000 train / 1,000 test signals of length 40, ten classes),
# 1D version of Ruthotto & Haber's parabolic network: forward Euler on -K' relu(N(K u)).
# The four mnist1d_*.pde specs share one layout and differ only in the PDE blocks:
#   conv 5 (1 -> w), two PDE blocks of width w with a 1x1 conv and pooling after each,
#   flatten (w x 5), linear -> 10.
# pde2net train specs/experiments/mnist1d_parabolic.pde --data mnist1d

const steps = 3
const h = 0.5
const width = 16

pde parabolic(c) {
    state  u[c]
    weight K : conv(5, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = -K' relu(N(K u))
}

network mnist1d_parabolic {
    input  signal(1, 40)
    conv(5, 1 -> width), batchnorm, relu
    parabolic(width) by euler(h = h, steps = steps, enforce = true)
    conv(1, width -> width), batchnorm, relu, avgpool(2)
    parabolic(width) by euler(h = h, steps = steps, enforce = true)
    conv(1, width -> width), batchnorm, relu, avgpool(4)
    flatten
    output linear(5 * width -> 10)
}
