# Corpus: wave u_tt = u_xx in 1D, leapfrog started at rest, periodic grid.
# Ground truth: stable iff tau < h (at tau = h the checkerboard has a double root at -1
# and grows linearly).
const tau = 0.9
const h = 1
const steps = 10

pde wave {
    state u[1]
    grid  h : periodic
    dtt(u) = lap u
}

network wave_1d {
    input  signal(1, 64)
    wave by leapfrog(tau = tau, steps = steps)
    output identity
}
