# Corpus: the first-order wave system u_t = v, v_t = lap u in 2D, Verlet (symplectic
# Euler: u first, then v with the new u), periodic grid.
# Ground truth: stable iff tau < h / sqrt(2) (a double root at -1 at equality).
const h = 1
const cfl = 0.9                  # tau / (h / sqrt(2)), exact: sqrt(2) stays symbolic
const tau = cfl * h / sqrt(2)
const steps = 10

pde wave_system {
    state u[1]
    state v[1]
    grid  h : periodic
    dt(u) = v
    dt(v) = lap u
}

network wave_system_verlet_2d {
    input  image(2, 16, 16)
    wave_system by verlet(tau = tau, steps = steps)
    output identity
}
