# Corpus: the first-order wave system u_t = v, v_t = lap u in 1D, Verlet (symplectic
# Euler: u first, then v with the new u), periodic grid.
# Ground truth: stable iff tau < h / sqrt(1) (a double root at -1 at equality).
const tau = 0.5
const h = 1
const steps = 10

pde wave_system {
    state u[1]
    state v[1]
    grid  h : periodic
    dt(u) = v
    dt(v) = lap u
}

network wave_system_verlet_1d {
    input  signal(2, 64)
    wave_system by verlet(tau = tau, steps = steps)
    output identity
}
