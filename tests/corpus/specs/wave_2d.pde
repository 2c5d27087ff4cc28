# Corpus: wave u_tt = u_xx + u_yy in 2D, leapfrog started at rest, periodic grid.
# Ground truth: stable iff tau < h / sqrt(2) (a double root at -1 at equality).
const h = 1
const cfl = 0.9                  # tau / (h / sqrt(2)), exact: sqrt(2) stays symbolic
const tau = cfl * h / sqrt(2)
const steps = 10

pde wave {
    state u[1]
    grid  h : periodic
    dtt(u) = lap u
}

network wave_2d {
    input  image(1, 16, 16)
    wave by leapfrog(tau = tau, steps = steps)
    output identity
}
