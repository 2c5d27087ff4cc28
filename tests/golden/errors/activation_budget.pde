# A small CNN for 224x224 images.
# Mistake: the input size has a digit too many in each dimension.
network big_images {
    input  image(3, 22400, 22400)
    conv(3x3, 3 -> 64), batchnorm, relu, avgpool(4)
    conv(3x3, 64 -> 128), batchnorm, relu
    output globalavgpool, linear(128 -> 1000)
}
