# Ruthotto & Haber's layout at toy scale for scikit-learn's 8x8 digits: ResNet baseline (Y + h K2 relu(N(K1 Y)), independent K1, K2).
# Every variant has the same layout; `steps` sets the depth of the PDE block
# (pde2net train ... --set steps=8).

const steps = 3
const h = 0.5
const width = 16

pde resnet(c) {
    state  u[c]
    weight K1 : conv(3x3, c -> c)
    weight K2 : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = K2 relu(N(K1 u))
}

network digits_resnet {
    input  image(1, 8, 8)
    conv(3x3, 1 -> width), batchnorm, relu
    resnet(width) by euler(h = h, steps = steps)
    conv(1x1, width -> 16), batchnorm, relu, avgpool(2)
    flatten
    output linear(256 -> 10)
}
